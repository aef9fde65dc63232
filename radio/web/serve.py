"""`radio desk` (and `radio studio`, the same desk opened at its studio): check the address, open the socket,
serve the app with uvicorn until Ctrl-C.

Each client address may hold at most PER_CLIENT connections at once; more are closed as they open, so a few
hundred stalled sockets from one place cannot lock the others out. Connections that send nothing are closed
after a short while.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from typing import Callable

from radio.errors import RadioError
from radio.station import Station

PER_CLIENT = 32
UPLOAD_BYTES = 64 * 1024 * 1024


def is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def check_address(bind: str, certfile: str | None, keyfile: str | None) -> None:
    if bool(certfile) != bool(keyfile):
        raise RadioError("TLS needs both a certificate and its key", fix="pass both --certfile and --keyfile")
    for what, f in (("--certfile", certfile), ("--keyfile", keyfile)):
        if f and not Path(f).is_file():
            raise RadioError(f"{what}: no such file", where=f, fix="name the PEM file")
    if not is_loopback(bind) and not certfile:
        raise RadioError(f"the desk will not listen on {bind} without TLS",
                         fix="browsers keep sessions and the microphone to https or this machine: pass --certfile "
                             "and --keyfile (a certificate for this machine's name), or use --bind 127.0.0.1")


def default_week(station: Station) -> str:
    from radio.rundown import model as rd
    weeks = [w for w in station.weeks() if rd.rundown_path(station, w).is_file()]
    if not weeks:
        raise RadioError("no week has a rundown yet", where=station.root / "episodes",
                         fix="run `radio plan WEEK` first, or name the week: radio studio 2026-W47")
    return weeks[-1]


def _limited_protocol():
    from uvicorn.protocols.http.h11_impl import H11Protocol
    open_by: dict[str, int] = {}

    class PerClient(H11Protocol):
        def connection_made(self, transport):
            peer = transport.get_extra_info("peername")
            self._peer = peer[0] if peer else ""
            if open_by.get(self._peer, 0) >= PER_CLIENT:
                self._peer = None
                transport.close()
                return
            open_by[self._peer] = open_by.get(self._peer, 0) + 1
            super().connection_made(transport)

        def connection_lost(self, exc):
            if getattr(self, "_peer", None) is None:
                return
            n = open_by.get(self._peer, 1) - 1
            if n:
                open_by[self._peer] = n
            else:
                open_by.pop(self._peer, None)
            self._peer = None
            super().connection_lost(exc)

    return PerClient


def build(station: Station, *, hosts: set[str], secure: bool, week: str | None = None,
          studio: Station | None = None):
    """The desk app behind its guard. The studio is for `week` of `studio` (an edition's station), by default
    the newest week with a rundown."""
    from radio.web import sessions
    from radio.web.app import create_app
    from radio.web.common import Desk
    from radio.web.guard import Guard
    if week is None:
        try:
            week = default_week(studio or station)
        except RadioError:
            week = None
    key = sessions.station_key(station)
    desk = Desk(station, week, sessions.Sessions(key), sessions.Limits(), key, secure, studio)
    app = create_app(desk)
    max_submit = int(station.config.mail.max_attachment_mb * 1_000_000) * 5 + 256 * 1024
    limits = [(re.compile(r"^/api/items/[^/]+/takes$"), UPLOAD_BYTES), (re.compile(r"^/submit$"), max_submit)]
    return Guard(app, hosts=hosts, secure=secure, limits=limits), desk


def run(station: Station, *, bind: str = "127.0.0.1", port: int = 8400, certfile: str | None = None,
        keyfile: str | None = None, names: tuple[str, ...] = (), say: Callable[[str], None] = print,
        week: str | None = None, studio: Station | None = None) -> None:
    """Serve the desk. With `studio` (`radio studio`), the desk opens at its studio for `week` of that station:
    the rundown is checked and uploads cut short by a stopped server are swept first."""
    import uvicorn
    check_address(bind, certfile, keyfile)
    if studio is not None:
        from radio.rundown import model as rd
        from radio.studio import store
        week = week or default_week(studio)
        rd.load(studio, week)  # a broken rundown is named now, not in the browser
        swept = store.sweep(studio, week)
        if swept:
            say(f"removed {swept} upload{'s' if swept > 1 else ''} cut short when the studio last stopped")
    if not is_loopback(bind) and not names:
        raise RadioError(f"the desk on {bind} needs the host names it is reached by",
                         fix="pass --host NAME for each name in the address bar (e.g. --host desk.example.org)")
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise RadioError(f"cannot listen on {bind}:{port}: {e.strerror}",
                         fix="pick another --port, or stop what is using it") from None
    port = sock.getsockname()[1]
    scheme = "https" if certfile else "http"
    shown = f"[{bind}]" if ":" in bind else bind
    if is_loopback(bind):
        hosts = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]", shown)}
    else:
        hosts = {n if ":" in n else f"{n}:{port}" for n in names}
        if port == (443 if certfile else 80):
            hosts |= set(names)
    app, desk = build(station, hosts=hosts, secure=bool(certfile), week=week, studio=studio)
    config = uvicorn.Config(app, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="warning", access_log=False,
                            server_header=False, lifespan="off", http=_limited_protocol(), timeout_keep_alive=10,
                            limit_concurrency=1000)
    first = sorted(hosts)[0] if not is_loopback(bind) else f"{shown}:{port}"
    if studio is not None:
        edition = f", edition {studio.edition_id}" if studio.edition else ""
        say(f"studio for {desk.week}{edition}: {scheme}://{first}/studio")
        say("log in with a desk account (radio users add NAME --role host); Ctrl-C stops the studio")
    else:
        say(f"desk: {scheme}://{first}/login")
        if desk.week:
            say(f"the studio is for {desk.week}")
        say("Ctrl-C stops the desk")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()

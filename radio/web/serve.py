"""`radio desk`: check the address, open the socket, serve the app with uvicorn until Ctrl-C.

Each client address may hold at most PER_CLIENT connections at once; more are closed as they open, so a few
hundred stalled sockets from one place cannot lock the others out. Connections that send nothing are closed
after a short while.
"""

from __future__ import annotations

import re
import socket
from typing import Callable

from radio.errors import RadioError
from radio.station import Station
from radio.studio.serve import check_address, is_loopback

PER_CLIENT = 32
UPLOAD_BYTES = 64 * 1024 * 1024


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


def build(station: Station, *, hosts: set[str], secure: bool):
    from radio.studio.serve import default_week
    from radio.web import sessions
    from radio.web.app import Desk, create_app
    from radio.web.guard import Guard
    from radio.web.public import collect
    try:
        week = default_week(station)
    except RadioError:
        week = None
    key = sessions.station_key(station)
    desk = Desk(station, week, sessions.Sessions(key), sessions.Limits(), key, secure)
    app = create_app(desk, extra_public=collect(station))
    max_submit = int(station.config.mail.max_attachment_mb * 1_000_000) * 5 + 256 * 1024
    limits = [(re.compile(r"^/api/items/[^/]+/takes$"), UPLOAD_BYTES), (re.compile(r"^/submit$"), max_submit)]
    return Guard(app, hosts=hosts, secure=secure, limits=limits), desk


def run(station: Station, *, bind: str = "127.0.0.1", port: int = 8400, certfile: str | None = None,
        keyfile: str | None = None, names: tuple[str, ...] = (), say: Callable[[str], None] = print) -> None:
    import uvicorn
    check_address(bind, certfile, keyfile)
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
    app, desk = build(station, hosts=hosts, secure=bool(certfile))
    config = uvicorn.Config(app, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="warning", access_log=False,
                            server_header=False, lifespan="off", http=_limited_protocol(), timeout_keep_alive=10,
                            limit_concurrency=1000)
    first = sorted(hosts)[0] if not is_loopback(bind) else f"{shown}:{port}"
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

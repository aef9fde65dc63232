"""Running the studio: refuse an unsafe address, make the access token, print the address, serve until Ctrl-C."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from pathlib import Path
from typing import Callable

from radio.rundown import model as rd
from radio.station import Station
from radio.errors import RadioError
from radio.studio import store


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
        raise RadioError(f"the studio will not listen on {bind} without TLS",
                         fix="browsers allow the microphone only over https or on this machine: pass --certfile and "
                             "--keyfile (a certificate for this machine's name), or use --bind 127.0.0.1")


def default_week(station: Station) -> str:
    weeks = [w for w in station.weeks() if rd.rundown_path(station, w).is_file()]
    if not weeks:
        raise RadioError("no week has a rundown yet", where=station.root / "episodes",
                         fix="run `radio plan WEEK` first, or name the week: radio studio 2026-W47")
    return weeks[-1]


def run(station: Station, week: str | None, *, bind: str = "127.0.0.1", port: int = 8300,
        certfile: str | None = None, keyfile: str | None = None, say: Callable[[str], None] = print) -> None:
    import uvicorn

    from radio.studio.app import create_app
    check_address(bind, certfile, keyfile)
    week = week or default_week(station)
    rd.load(station, week)  # a broken rundown is named now, not in the browser
    swept = store.sweep(station, week)
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
        sock.listen(128)  # connections wait in the queue from the moment the address is printed
    except OSError as e:
        sock.close()
        raise RadioError(f"cannot listen on {bind}:{port}: {e.strerror}",
                         fix="pick another --port, or stop what is using it") from None
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    scheme = "https" if certfile else "http"
    name = f"[{bind}]" if ":" in bind else bind
    hosts = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]", name)} if is_loopback(bind) else None
    app = create_app(station, week, token, hosts=hosts, secure=bool(certfile))
    config = uvicorn.Config(app, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="warning",
                            access_log=False, server_header=False, lifespan="off")
    if swept:
        say(f"removed {swept} upload{'s' if swept > 1 else ''} cut short when the studio last stopped")
    edition = f", edition {station.edition_id}" if station.edition else ""
    say(f"studio for {week}{edition}: {scheme}://{name}:{port}/?token={token}")
    say("open that address in a browser (the token is needed once); Ctrl-C stops the studio")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()

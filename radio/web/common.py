"""What every page of the newsroom shares: the roles, the desk's state, the errors a browser is shown, and
`Web`, what a route module is given to render pages and record what was done."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse

from radio.errors import RadioError
from radio.station import Station
from radio.web import accounts


HERE = Path(__file__).parent
PUBLIC = frozenset({"public"})
EDITOR, PRODUCER, HOST, TRANSLATOR, CORRESPONDENT = ("editor",), ("producer",), ("host",), ("translator",), \
    ("correspondent",)
HOME = {"editor": "/desk", "producer": "/produce", "host": "/studio", "translator": "/translate",
        "correspondent": "/submit"}
ALL = frozenset(accounts.ROLES)
ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
WEEK = re.compile(r"\d{4}-W\d{2}")
LOGIN_CONCURRENCY = 2  # argon2 takes 64 MiB a check: a burst of logins must not take the machine's memory


class Stale(RadioError):
    pass


@dataclass
class Desk:
    station: Station
    week: str | None  # the studio's week (the newest with a rundown when the desk started)
    sessions: sessions.Sessions
    limits: sessions.Limits
    key: bytes
    secure: bool
    studio_station: Station | None = None  # an edition's studio (`radio studio --edition ID`), else the station's


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def folder_digest(folder: Path) -> str:
    h = hashlib.sha256()
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.name.startswith("."):
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def plain(e: RadioError, station: Station) -> str:
    """The error for a browser: what and the fix, never a file-system path."""
    text = e.format_message()
    if e.where:
        text = text.replace(f"{e.where}: ", "", 1)
    return text.replace(str(station.root) + "/", "").replace(str(station.root), "the station")


@dataclass
class Web:
    """What the route modules are handed by create_app: the desk, and how to render, refuse and record."""

    desk: Desk
    station: Station
    page: Callable[..., HTMLResponse]
    problem: Callable[[Request, int, str], HTMLResponse]
    form_of: Callable[[Request], object]
    session: Callable[[Request], object]
    record: Callable[..., None]
    login_gate: asyncio.Semaphore

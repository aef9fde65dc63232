"""Unsubscribing by the token in a bulletin's List-Unsubscribe link (RFC 8058 one-click): the one place that
does it, for the desk's routes and anything else that serves the link.

The token is the HMAC of the address (radio.mail.send.unsubscribe_token): it names one subscriber and nothing
else. Unsubscribing removes that subscriber's row from private/subscribers.csv at once, so the next send skips
them, leaving every other line as it was; it is idempotent (a token used again changes nothing and says so),
and a token that names nobody changes nothing. Each used token is kept as its SHA-256 only
(private/unsubscribed.txt), never the address.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
from dataclasses import dataclass

from radio import fsutil
from radio.errors import RadioError
from radio.mail import subscribers
from radio.station import Station

TOKEN = re.compile(r"[0-9a-f]{32}")
USED = "unsubscribed.txt"


@dataclass(frozen=True)
class Outcome:
    done: str  # "removed" | "already" | "unknown"
    organisation: str = ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _used(station: Station) -> set[str]:
    p = station.private_dir / USED
    return set(p.read_text(encoding="utf-8").split()) if p.is_file() else set()


def unsubscribe(station: Station, token: str) -> Outcome:
    from radio.mail.send import unsubscribe_token
    if not TOKEN.fullmatch(token or ""):
        return Outcome("unknown")
    path = subscribers.path(station)
    with fsutil.locked(station.private_dir / ".subscribers.lock",
                       lambda: RadioError("the subscriber list is busy", fix="try again"), wait=10):
        if _digest(token) in _used(station):
            return Outcome("already")
        if not path.is_file():
            return Outcome("unknown")
        text = path.read_bytes().decode("utf-8-sig")
        lines = text.splitlines(keepends=True)
        reader = csv.reader(io.StringIO(text, newline=""))
        before = 0
        for row in reader:
            start, end = before, reader.line_num
            before = end
            if not row or row[0].lstrip().startswith("#") or "@" not in row[0]:
                continue
            if hmac.compare_digest(unsubscribe_token(station, row[0]), token):
                organisation = row[1].strip() if len(row) > 1 else ""
                fsutil.write_text(path, "".join(lines[:start] + lines[end:]))
                os.chmod(path, 0o600)
                fd = os.open(station.private_dir / USED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (_digest(token) + "\n").encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                return Outcome("removed", organisation)
    return Outcome("unknown")

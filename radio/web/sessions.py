"""Sessions, CSRF tokens and login rate limits.

A session is a random id held in the server's memory (name, role, CSRF token, when it ends) and sent to the
browser in a cookie signed with the station's desk key (private/desk/session.key): HttpOnly, SameSite=Strict,
Secure. It ends at logout, after IDLE_S without a request, after MAX_S in all, and when the server stops;
whatever a session unlocked is forgotten with it. A cookie whose signature, expiry or id does not hold is no
session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from radio import fsutil
from radio.station import Station

COOKIE = "radio-desk"
CSRF_COOKIE = "radio-csrf"  # readable by the page's scripts, which send it back as X-CSRF-Token
IDLE_S = 60 * 60
MAX_S = 12 * 60 * 60
ACCOUNT_FAILURES = 20  # failed logins that lock an account
ACCOUNT_LOCK_S = 15 * 60
ADDRESS_FAILURES = 60  # failed logins from one address, on any accounts, in ADDRESS_WINDOW_S
ADDRESS_WINDOW_S = 15 * 60


def key_path(station: Station) -> Path:
    return station.private_dir / "desk" / "session.key"


def station_key(station: Station) -> bytes:
    p = key_path(station)
    if not p.is_file():
        p.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(p.parent, 0o700)
        fsutil.write_text(p, secrets.token_hex(32) + "\n")
        os.chmod(p, 0o600)
    return bytes.fromhex(p.read_text(encoding="utf-8").strip())


def sign(key: bytes, sid: str, expires: int) -> str:
    mac = hmac.new(key, f"{sid}.{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{sid}.{expires}.{mac}"


def unsign(key: bytes, value: str, now: float) -> str | None:
    """The session id in a cookie whose signature holds and whose time has not run out, else None."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    sid, expires, mac = parts
    want = hmac.new(key, f"{sid}.{expires}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, mac) or int(expires) <= now:
        return None
    return sid


@dataclass
class Session:
    sid: str
    name: str
    role: str
    csrf: str
    started: float
    seen: float
    stamp: str = ""  # the account's password hash at login: a new password or a removed account ends the session
    unlocked: dict = field(default_factory=dict)  # what this session unlocked, forgotten when it ends
    pending: dict = field(default_factory=dict)  # a passkey being added: its challenge, until when


class Sessions:
    def __init__(self, key: bytes, clock=time.time):
        self.key, self.clock = key, clock
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, name: str, role: str, stamp: str = "") -> tuple[Session, str]:
        now = self.clock()
        s = Session(secrets.token_urlsafe(24), name, role, secrets.token_urlsafe(24), now, now, stamp)
        with self._lock:
            self._sweep(now)
            self._by_id[s.sid] = s
        return s, sign(self.key, s.sid, int(now + MAX_S))

    def get(self, cookie: str | None) -> Session | None:
        now = self.clock()
        with self._lock:
            self._sweep(now)
        if not cookie:
            return None
        sid = unsign(self.key, cookie, now)
        if sid is None:
            return None
        with self._lock:
            s = self._by_id.get(sid)
            if s is None:
                return None
            if now - s.seen > IDLE_S or now - s.started > MAX_S:
                self._end(sid)
                return None
            s.seen = now
            return s

    def end(self, sid: str) -> None:
        with self._lock:
            self._end(sid)

    def end_for(self, name: str) -> None:
        """End every session of an account (removed, or its password changed)."""
        with self._lock:
            for sid in [sid for sid, s in self._by_id.items() if s.name == name]:
                self._end(sid)

    def _sweep(self, now: float) -> None:
        """End every session that has run out, used or not: what they unlocked is not kept waiting."""
        for sid in [sid for sid, s in self._by_id.items() if now - s.seen > IDLE_S or now - s.started > MAX_S]:
            self._end(sid)

    def _end(self, sid: str) -> None:
        s = self._by_id.pop(sid, None)
        if s is not None:
            s.unlocked.clear()
            s.pending.clear()


class Limits:
    """Failed logins per account (20 lock it for a while; others are not affected) and per address."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._account: dict[str, list[float]] = {}
        self._locked: dict[str, float] = {}
        self._address: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def refused(self, name: str, address: str) -> str | None:
        now = self.clock()
        with self._lock:
            until = self._locked.get(name)
            if until is not None and until > now:
                return "account"
            recent = [t for t in self._address.get(address, []) if now - t < ADDRESS_WINDOW_S]
            self._address[address] = recent
            if len(recent) >= ADDRESS_FAILURES:
                return "address"
        return None

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            fails = [t for t in self._account.get(name, []) if now - t < ACCOUNT_LOCK_S] + [now]
            if len(fails) >= ACCOUNT_FAILURES:
                self._locked[name] = now + ACCOUNT_LOCK_S
                fails = []
            self._account[name] = fails
            self._address.setdefault(address, []).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._account.pop(name, None)

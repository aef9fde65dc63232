"""Accounts: a name, a role, an argon2 hash of the password and, for editors and producers, a TOTP secret;
any account may add passkeys (WebAuthn, radio/web/passkeys.py), each a second factor in place of the code.

Stored in private/desk/users.json (0600, written atomically); no password is ever on disk, only its hash.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Callable
from pathlib import Path

from radio import fsutil
from radio.errors import RadioError
from radio.station import Station

ROLES = ("editor", "producer", "host", "translator", "correspondent")
SECOND_FACTOR = ("editor", "producer")  # the roles that see private blocks or publish: password and TOTP
NAME = re.compile(r"[a-z][a-z0-9_.-]{1,31}")
MIN_PASSWORD = 10
ISSUER = "radio desk"


@dataclass
class Account:
    name: str
    role: str
    hash: str
    totp: str | None = None
    passkeys: list[dict] = field(default_factory=list)  # {id, key, count, added}: public keys, no secret


def desk_dir(station: Station) -> Path:
    return station.private_dir / "desk"


def users_path(station: Station) -> Path:
    return desk_dir(station) / "users.json"


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()


def load(station: Station) -> dict[str, Account]:
    p = users_path(station)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return {a["name"]: Account(**a) for a in data["users"]}
    except (ValueError, KeyError, TypeError) as e:
        raise RadioError(f"the account list is unreadable ({type(e).__name__})", where="private/desk/users.json",
                         fix="restore it from a backup, or remove it and add the accounts again") from None


def _save(station: Station, users: dict[str, Account]) -> None:
    p = users_path(station)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(p.parent, 0o700)
    text = json.dumps({"users": [asdict(users[n]) for n in sorted(users)]}, indent=1) + "\n"
    fsutil.write_text(p, text)
    os.chmod(p, 0o600)


def _lock(station: Station):
    return fsutil.locked(desk_dir(station) / ".users.lock",
                         lambda: RadioError("another command is changing the accounts", fix="run it again"), wait=10)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise RadioError(f"the password is {len(password)} characters", fix=f"use at least {MIN_PASSWORD}")
    return password


def add(station: Station, name: str, role: str, password: str) -> Account:
    if not NAME.fullmatch(name):
        raise RadioError(f"account name {name!r} is not allowed",
                         fix="use 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter")
    if role not in ROLES:
        raise RadioError(f"--role {role!r} is not a role", fix=f"use one of: {', '.join(ROLES)}")
    check_password(password)
    with _lock(station):
        users = load(station)
        if name in users:
            raise RadioError(f"there is already an account {name!r}", fix="pick another name, or `radio users passwd`")
        totp = None
        if role in SECOND_FACTOR:
            import pyotp
            totp = pyotp.random_base32()
        users[name] = Account(name, role, _hasher().hash(password), totp)
        _save(station, users)
        return users[name]


def remove(station: Station, name: str) -> None:
    with _lock(station):
        users = load(station)
        if name not in users:
            raise RadioError(f"no account {name!r}", fix="see `radio users list`")
        del users[name]
        _save(station, users)


def passwd(station: Station, name: str, password: str) -> None:
    check_password(password)
    with _lock(station):
        users = load(station)
        if name not in users:
            raise RadioError(f"no account {name!r}", fix="see `radio users list`")
        users[name].hash = _hasher().hash(password)
        _save(station, users)


def change_passkeys(station: Station, name: str, change: Callable[[list[dict]], None]) -> None:
    """Change an account's passkeys under the accounts' lock (a new one added, a sign count moved on)."""
    with _lock(station):
        users = load(station)
        if name not in users:
            raise RadioError(f"no account {name!r}", fix="see `radio users list`")
        change(users[name].passkeys)
        _save(station, users)


def factors(account: Account) -> str:
    """The second factors an account has, as `radio users list` shows them."""
    n = len(account.passkeys)
    parts = (["totp"] if account.totp else []) + ([f"{n} passkey{'s' if n > 1 else ''}"] if n else [])
    return ", ".join(parts) or "-"


def otp_uri(account: Account) -> str | None:
    if not account.totp:
        return None
    import pyotp
    return pyotp.TOTP(account.totp).provisioning_uri(name=account.name, issuer_name=ISSUER)


# A hash to check against when the name is unknown, so a wrong name costs what a wrong password costs.
_DUMMY: list[str] = []


def authenticate(station: Station, name: str, password: str, otp: str | None) -> Account | None:
    """The account if the password (and, for editors and producers, the current TOTP code) is right. With
    `otp=None`, the password only: the caller then asks for a passkey."""
    from argon2.exceptions import InvalidHashError, VerificationError
    account = load(station).get(name)
    ph = _hasher()
    if account is None:
        if not _DUMMY:
            _DUMMY.append(ph.hash("not a password of anyone's"))
        try:
            ph.verify(_DUMMY[0], password)
        except (VerificationError, InvalidHashError):
            pass
        return None
    try:
        ph.verify(account.hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if otp is None:  # the passkey login: the passkey stands in for the code (radio/web/passkeys.py)
        return account
    if account.totp:
        import pyotp
        if not pyotp.TOTP(account.totp).verify(otp.strip(), valid_window=1):
            return None
    return account

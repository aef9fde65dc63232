"""The unlocked identity: held in memory only, for one command (from --identity / RADIO_IDENTITY) or for one
browser session (an identity kept in the station under its editor's passphrase, unlocked at login and dropped
at logout).

A command names where its identity is (`use_file`); it is read only when something private is first needed,
so public commands never touch it. Code that decrypts asks `current(what)`; the desk runs each request of a
logged-in editor inside `unlocked(keyring)`.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from radio import fsutil
from radio.keys import editors
from radio.keys.age import IDENTITY_FIX, KeysError, parse_identities, wrap_with_passphrase

IDENTITIES_DIR = "keys/identities"


@dataclass
class Keyring:
    """One editor's identities, in memory. Dropping the object forgets them."""

    identities: list = field(repr=False)
    source: str = ""


_current: ContextVar[Keyring | None] = ContextVar("radio_keyring", default=None)
_pending: ContextVar[str | None] = ContextVar("radio_identity_file", default=None)
_only: ContextVar[bool] = ContextVar("radio_keyring_only", default=False)  # a desk request: no RADIO_IDENTITY


def use_file(path: str | None) -> None:
    """Where this command's identity is (read when first needed); forgets any identity unlocked before."""
    _pending.set(path)
    _current.set(None)


def _ask_passphrase() -> str:
    env = os.environ.get("RADIO_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise KeysError("this identity is protected by a passphrase", fix="set RADIO_PASSPHRASE or run in a terminal")
    import click
    return click.prompt("passphrase for the identity", hide_input=True, err=True)


def from_file(path: str | Path) -> Keyring:
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise KeysError("no such identity file", where=p, fix=IDENTITY_FIX) from None
    except OSError as e:
        raise KeysError(f"cannot read the identity file ({e.strerror})", where=p, fix=IDENTITY_FIX) from None
    return Keyring(parse_identities(data, p, _ask_passphrase), str(p))


def current(what: str | None = None) -> Keyring | None:
    """The unlocked keyring; None without one, or (when `what` names what needs it) a one-line error."""
    ring = _current.get()
    if ring is None and not _only.get():
        source = _pending.get() or os.environ.get("RADIO_IDENTITY")
        if source:
            ring = from_file(source)
            _current.set(ring)
    if ring is None and what:
        raise KeysError(f"{what} needs an editor's key", fix=IDENTITY_FIX)
    return ring


@contextmanager
def unlocked(ring: Keyring | None) -> Iterator[None]:
    """Run the block with `ring` as the only unlocked identity (the desk: one logged-in editor's request, or
    None for anyone else's): an identity named by the server's environment is never used for it."""
    token = _current.set(ring)
    pending = _pending.set(None)
    only = _only.set(True)
    try:
        yield
    finally:
        _current.reset(token)
        _pending.reset(pending)
        _only.reset(only)


# --- identities kept in the station under a passphrase, for the browser desk ---------------------------

def identity_path(station, name: str) -> Path:
    return editors.root_of(station) / IDENTITIES_DIR / f"{editors.check_name(name)}.age"


def keep_identity(station, name: str, identity_file: str | Path, passphrase: str) -> Path:
    """Keep `name`'s identity in the station, encrypted under their passphrase (age scrypt): only someone who
    knows the passphrase can use it; the station folder alone gives nothing."""
    src = Path(identity_file).expanduser()
    try:
        secret = src.read_bytes()
    except OSError:
        raise KeysError("cannot read the identity file", where=src, fix=IDENTITY_FIX) from None
    parse_identities(secret, src)  # it must be a usable identity before we keep it
    out = identity_path(station, name)
    fsutil.write_bytes(out, wrap_with_passphrase(secret, passphrase), private=True)
    return out


def unlock(station, name: str, passphrase: str) -> Keyring:
    """The keyring of an editor whose identity the station keeps, for the desk to hold in a session's memory.
    A wrong passphrase or an editor with no kept identity is a KeysError (say only that login failed)."""
    p = identity_path(station, name)
    if not p.is_file():
        raise KeysError(f"no identity is kept for {name!r}", where=p,
                        fix=f"run `radio keys passphrase {name} --identity FILE`")
    return Keyring(parse_identities(p.read_bytes(), p, lambda: passphrase), f"{name} (passphrase)")

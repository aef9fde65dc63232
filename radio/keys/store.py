"""Private files: the one way to read and write anything under private/ (the correspondents' register, the
subscriber list, credentials, keys, journals, outbox, intake and quarantine).

Names are logical (`correspondents.yaml`, `send/2026-W47.jsonl`). On a sealed station (one with
keys/editors.toml) a file is stored as NAME.age, encrypted to every editor; a journal as NAME.ages, one age
ciphertext per line so that appending needs no key. Before `radio keys init` they are plain, as they always
were. Either way: 0600 in 0700 folders, written atomically, never a decrypted copy on disk.
"""

from __future__ import annotations

import base64
from pathlib import Path

from radio import fsutil
from radio.keys import editors, keyring
from radio.keys.age import KeysError, decrypt, encrypt

PRIVATE = "private"
SEALED_SUFFIX = ".age"
LINES_SUFFIX = ".ages"


def folder(station) -> Path:
    return editors.root_of(station) / PRIVATE


def _plain(station, name: str) -> Path:
    p = (folder(station) / name)
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise KeysError(f"{name!r} is not a private file name", fix="name a file under private/")
    return p


def sealed_path(station, name: str) -> Path:
    return _plain(station, name).with_name(_plain(station, name).name + SEALED_SUFFIX)


def where(station, name: str) -> Path:
    """The file as it is on disk (for messages): sealed if it is, else plain."""
    s = sealed_path(station, name)
    return s if s.is_file() else _plain(station, name)


def exists(station, name: str) -> bool:
    return sealed_path(station, name).is_file() or _plain(station, name).is_file()


def read_bytes(station, name: str, what: str | None = None) -> bytes | None:
    """The file's content, decrypted in memory; None if there is no such file. `what` says, in a missing-key
    error, what the user was doing ("reading the subscriber list")."""
    s = sealed_path(station, name)
    if s.is_file():
        ring = keyring.current(what or f"reading private/{name}")
        return decrypt(s.read_bytes(), ring.identities, s)
    p = _plain(station, name)
    if p.is_file():
        return p.read_bytes()
    return None


def read_text(station, name: str, what: str | None = None) -> str | None:
    data = read_bytes(station, name, what)
    return None if data is None else data.decode("utf-8")


def write_bytes(station, name: str, data: bytes) -> Path:
    """Write a private file: encrypted to the editors on a sealed station (the plain one, if any, removed)."""
    p = _plain(station, name)
    if editors.sealed(station):
        out = sealed_path(station, name)
        fsutil.write_bytes(out, encrypt(data, editors.recipients(station)), private=True)
        p.unlink(missing_ok=True)
        return out
    fsutil.write_bytes(p, data, private=True)
    return p


def write_text(station, name: str, text: str) -> Path:
    return write_bytes(station, name, text.encode("utf-8"))


def remove(station, name: str) -> None:
    sealed_path(station, name).unlink(missing_ok=True)
    _plain(station, name).unlink(missing_ok=True)


def names(station, pattern: str) -> list[str]:
    """Logical names of the private files matching a glob (`quarantine/*/*.json`), sealed or not."""
    base = folder(station)
    out = set()
    for p in base.glob(pattern):
        out.add(p.relative_to(base).as_posix())
    for p in base.glob(pattern + SEALED_SUFFIX):
        out.add(p.relative_to(base).as_posix().removesuffix(SEALED_SUFFIX))
    return sorted(out)


# --- journals: appended a line at a time ------------------------------------------------------------------

def lines_path(station, name: str) -> Path:
    return _plain(station, name).with_name(_plain(station, name).name + LINES_SUFFIX)


def append_line(station, name: str, line: str) -> None:
    """Append one line (no newline in it) to a journal, fsynced; on a sealed station the line is encrypted
    on its own, so a journal grows without anyone's key."""
    if "\n" in line:
        raise ValueError("a journal line holds no newline")
    if editors.sealed(station):
        ct = encrypt(line.encode("utf-8"), editors.recipients(station))
        fsutil.append_private(lines_path(station, name), base64.b64encode(ct) + b"\n")
    else:
        fsutil.append_private(_plain(station, name), line.encode("utf-8") + b"\n")


def read_lines(station, name: str, what: str | None = None) -> list[str]:
    """Every line of a journal (plain lines first, if a journal was begun before the station was sealed)."""
    out: list[str] = []
    p = _plain(station, name)
    if p.is_file():
        out += p.read_text(encoding="utf-8").splitlines()
    s = lines_path(station, name)
    if s.is_file():
        raw = s.read_bytes().splitlines()
        if raw:
            ring = keyring.current(what or f"reading private/{name}")
            for n, b in enumerate(raw, start=1):
                if not b.strip():
                    continue
                try:
                    ct = base64.b64decode(b, validate=True)
                except ValueError:
                    if n == len(raw):  # a line cut by a crash mid-append: it never happened
                        break
                    raise KeysError("a journal line is damaged", where=f"{s}:{n}",
                                    fix="restore the file from a backup") from None
                try:
                    out.append(decrypt(ct, ring.identities, f"{s}:{n}").decode("utf-8"))
                except KeysError:
                    if n == len(raw) and not s.read_bytes().endswith(b"\n"):
                        break
                    raise
    return out


def journals(station, pattern: str) -> list[str]:
    base = folder(station)
    found = {p.relative_to(base).as_posix() for p in base.glob(pattern)}
    found |= {p.relative_to(base).as_posix().removesuffix(LINES_SUFFIX) for p in base.glob(pattern + LINES_SUFFIX)}
    return sorted(found)

"""A report's private block, sealed: on a sealed station the `private:` field of a report's front matter is the
block as YAML, encrypted to the editors, in age's ASCII armor. The rest of the report stays plain text.

Opening needs an unlocked identity; without one the block reads as sealed and every public use of the report
still works (list, plan, script, build, publish)."""

from __future__ import annotations

import io
from pathlib import Path

from radio import yamlio
from radio.keys import editors, keyring
from radio.keys.age import armor, decrypt, dearmor, encrypt, is_armored

__all__ = ["is_sealed", "open_block", "seal_block", "station_of"]


def is_sealed(value: object) -> bool:
    return is_armored(value)


def station_of(path: Path) -> Path | None:
    """The station folder a report belongs to (the nearest folder up with a radio.toml)."""
    for p in Path(path).resolve().parents:
        if (p / "radio.toml").is_file():
            return p
    return None


def open_block(where: str | Path, value: str, what: str | None = None):
    """The decrypted block (a mapping), or None when no identity is unlocked and `what` is None."""
    ring = keyring.current(what)
    if ring is None:
        return None
    text = decrypt(dearmor(value, where), ring.identities, where).decode("utf-8")
    data = yamlio.round_trip(preserve_quotes=True).load(text)
    return data if data is not None else {}


def seal_block(station, data) -> str:
    """The block as armored ciphertext for the station's editors."""
    buf = io.StringIO()
    yamlio.round_trip(preserve_quotes=True).dump(data, buf)
    return armor(encrypt(buf.getvalue().encode("utf-8"), editors.recipients(station)))

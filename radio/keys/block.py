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

__all__ = ["is_sealed", "open_block", "open_value", "seal_block", "seal_value", "station_of"]


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


# --- one private value in the public front matter: a check's note, a hold or rejection reason ------------

SEALED_MARK = "[sealed]"  # what the desk shows for a private value no identity opened


def seal_value(station, text: str) -> str:
    """One private value (a check's note, a reason) as armored ciphertext for the station's editors."""
    return armor(encrypt(str(text).encode("utf-8"), editors.recipients(station)))


def open_value(where: str | Path, value: str) -> str | None:
    """The value in plain text, or None when no identity is unlocked."""
    ring = keyring.current(None)
    if ring is None:
        return None
    return decrypt(dearmor(value, where), ring.identities, where).decode("utf-8")

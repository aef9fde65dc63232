"""Hosting credentials: the environment (AWS_* as every S3 tool reads them), else private/hosting.toml.

Never taken from the command line, never printed. Every read of a private file for hosting goes through
`read_private`, so one function decides how private/ is read (plain today, decrypted once private/ is)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from radio.errors import RadioError
from radio.station import Station

FILE = "hosting.toml"


def private_path(station: Station, rel: str, *, what: str) -> Path:
    """A path the config names, which must be inside private/ (keys and known_hosts live there)."""
    p = (station.root / rel).resolve()
    priv = station.private_dir.resolve()
    if p != priv and priv not in p.parents:
        raise RadioError(f"{what}: {rel!r} is not inside private/", where=station.root / "radio.toml",
                         fix="keep keys and credentials in the station's private/ folder")
    return p


def read_private(station: Station, rel: str, *, what: str) -> bytes:
    """The bytes of a file under private/ (the one place hosting reads private data)."""
    p = private_path(station, rel, what=what)
    try:
        return p.read_bytes()
    except OSError as e:
        raise RadioError(f"{what}: cannot read {rel} ({e.strerror})", where=station.root / "radio.toml",
                         fix=f"put the file at {rel}, or correct {what}") from None


def section(station: Station, name: str) -> dict:
    """private/hosting.toml [NAME]: e.g. aws_access_key_id and aws_secret_access_key for an S3 target."""
    rel = f"private/{FILE}"
    if not (station.root / rel).is_file():
        return {}
    try:
        data = tomllib.loads(read_private(station, rel, what="credentials").decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # the parser's message may quote the file: say only where
        raise RadioError("cannot read the hosting credentials", where=rel,
                         fix=f"write [{name}] with aws_access_key_id = \"...\" and aws_secret_access_key = \"...\"") \
            from None
    sect = data.get(name)
    return sect if isinstance(sect, dict) else {}


def s3_keys(station: Station, name: str) -> tuple[str, str] | None:
    """(access key id, secret) for target NAME: None means the standard AWS chain (AWS_* variables, profile)."""
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return None
    sect = section(station, name)
    key, secret = sect.get("aws_access_key_id"), sect.get("aws_secret_access_key")
    if isinstance(key, str) and isinstance(secret, str):
        return key, secret
    return None

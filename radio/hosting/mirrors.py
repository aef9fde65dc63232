"""Mirrors: every copy of an episode's media, so a listener's app can fall back when one host is blocked.

Each episode lists its copies as one podcast:alternateEnclosure (the primary first, marked default) with an
SRI sha384 integrity value: an app can check that a copy fetched from a mirror is the file the feed means."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from radio.station import Station


def sri(path: Path) -> str:
    h = hashlib.sha384()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha384-" + base64.b64encode(h.digest()).decode("ascii")


def mirror_bases(station: Station) -> list[str]:
    """The show's address at each mirror (a target with its own public_url), the primary's left out."""
    primary = station.config.podcast.base_url
    out = []
    for t in station.full_config.publish.mirrors:
        if t.public_url != primary and t.public_url not in out:
            out.append(t.public_url)
    return [f"{b}{station.config.show.slug}/" for b in out]


def integrity(station: Station, media: Path) -> dict:
    """The record's integrity field: only when the station has mirrors (a single host needs none)."""
    return {"integrity": sri(media)} if mirror_bases(station) else {}


def fill_integrity(station: Station, root: Path, records: dict[str, dict]) -> None:
    """Records published before mirrors were set up get their integrity from the media already in place."""
    if not mirror_bases(station):
        return
    for rec in records.values():
        p = root / rec["media"]
        if "integrity" not in rec and p.is_file():
            rec["integrity"] = sri(p)


def alternate(station: Station, rec: dict) -> dict | None:
    """What the feed's alternateEnclosure says for one episode, or None without mirrors."""
    bases = mirror_bases(station)
    if not bases or "integrity" not in rec:
        return None
    return {"type": "audio/mpeg", "length": str(rec["length"]), "integrity": rec["integrity"],
            "sources": [f"{station.show_url}{rec['media']}", *(f"{b}{rec['media']}" for b in bases)]}

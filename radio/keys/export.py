"""Exporting a correspondent's attachment for use (a photo for the bulletin or the episode page): decrypted only
into memory (a private folder on the RAM-backed /dev/shm), stripped of its metadata with mat2 (EXIF GPS, camera
serials, document authors), and only the stripped file written out. Says which metadata fields were removed,
never their values (a value may be the very thing that names the source)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from radio import fsutil
from radio.keys import store
from radio.keys.age import KeysError

MEMORY = Path(os.environ.get("RADIO_MEMORY_DIR", "/dev/shm"))


@dataclass
class Exported:
    path: Path
    removed: list[str]


def _fields(show: str) -> list[str]:
    """The metadata field names from `mat2 --show` (its lines are "    Name: value")."""
    names = []
    for line in show.splitlines():
        m = re.match(r"^\s+([^:\[][^:]*):\s", line)
        if m and m.group(1).strip() not in names:
            names.append(m.group(1).strip())
    return sorted(names)


def attachment_names(station, folder: str) -> list[str]:
    return [Path(n).name for n in store.names(station, f"{folder}/*")]


def export(station, folder: str, name: str, to: Path) -> Exported:
    """Write `private/<folder>/<name>` (decrypted in memory) without its metadata as `to`/<name>."""
    if shutil.which("mat2") is None:
        raise KeysError("mat2 is not installed", fix="install it: apt-get install mat2")
    logical = f"{folder}/{name}"
    if "/" in name or name.startswith(".") or not store.exists(station, logical):
        have = ", ".join(attachment_names(station, folder)) or "none"
        raise KeysError(f"no attachment {name!r}", where=store.folder(station) / folder, fix=f"attachments: {have}")
    target = Path(to) / name
    if target.exists():
        raise KeysError("the file exists already", where=target, fix="export to another folder, or move it away")
    if not MEMORY.is_dir():
        raise KeysError(f"{MEMORY} (memory) is not available to decrypt into", fix="set RADIO_MEMORY_DIR to a tmpfs")
    data = store.read_bytes(station, logical, "exporting an attachment")
    work = Path(tempfile.mkdtemp(prefix="radio-export-", dir=MEMORY))
    try:
        os.chmod(work, 0o700)
        src = work / name
        fsutil.write_bytes(src, data, private=True)
        show = subprocess.run(["mat2", "--show", str(src)], capture_output=True, text=True, errors="replace")
        clean = subprocess.run(["mat2", str(src)], capture_output=True, text=True, errors="replace")
        cleaned = src.with_name(f"{src.stem}.cleaned{src.suffix}")
        if clean.returncode != 0 or not cleaned.is_file():
            raise KeysError("mat2 cannot strip this kind of file, so it is not exported", where=logical,
                            fix="open it on the desk machine and re-save it by hand, or leave it unused")
        fsutil.write_bytes(target, cleaned.read_bytes())
        return Exported(target, _fields(show.stdout) if show.returncode == 0 else [])
    finally:
        shutil.rmtree(work, ignore_errors=True)

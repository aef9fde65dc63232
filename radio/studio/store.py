"""Takes on disk: numbered, never overwritten, never half-written; "keep" makes one the item's recording.

An upload becomes `segments/<item>.take-N.ogg` (Opus in Ogg, remuxed by ffmpeg so its length is exact) only once
it is whole: it is written under a hidden temporary name and hard-linked to its number, which fails rather than
overwrite when two sessions pick the same number at once. Keeping take N copies it atomically to
`segments/<item>.ogg`; a recording that was there before and is not a take already is itself kept as the next
take, so nothing a host recorded is ever lost.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from radio import fsutil, media
from radio.config import format_ms
from radio.station import Station
from radio.errors import AudioError

EXT = "ogg"
UPLOAD_MARK = ".upload-"  # in the hidden temporary names of uploads still arriving
_TAKE = re.compile(r"^(?P<item>.+)\.take-(?P<n>[1-9][0-9]{0,5})\.(?P<ext>[a-z0-9]+)$")
_keep_lock = threading.Lock()


@dataclass(frozen=True)
class Take:
    n: int
    path: Path


def segments(station: Station, week: str) -> Path:
    return station.segments_dir(week)


def takes(station: Station, week: str, item: str) -> list[Take]:
    """The item's numbered takes, oldest first."""
    folder = segments(station, week)
    return sorted((t for t in takes_in(folder, item) if t.path.suffix[1:] in media.AUDIO_EXTS and t.path.is_file()),
                  key=lambda t: t.n) if folder.is_dir() else []


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def recordings(station: Station, week: str, item: str) -> list[Path]:
    folder = segments(station, week)
    return [folder / f"{item}.{ext}" for ext in media.AUDIO_EXTS if (folder / f"{item}.{ext}").is_file()]


def kept(station: Station, week: str, item: str) -> int | None:
    """Which take is the item's recording now, if it is one."""
    recs = recordings(station, week, item)
    if len(recs) != 1:
        return None
    for t in reversed(takes(station, week, item)):
        if t.path.suffix == recs[0].suffix and t.path.stat().st_size == recs[0].stat().st_size \
                and filecmp.cmp(t.path, recs[0], shallow=False):
            return t.n
    return None


def upload_path(station: Station, week: str, item: str) -> Path:
    """A hidden temporary file for an upload in progress: never a take, swept if the studio died mid-upload."""
    folder = segments(station, week)
    folder.mkdir(parents=True, exist_ok=True)
    return fsutil.temp_path(folder / f"{item}{UPLOAD_MARK}part")


def sweep(station: Station, week: str) -> int:
    """Remove what uploads cut short by a crash left behind (hidden, never taken for a recording)."""
    folder = segments(station, week)
    n = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(".") and UPLOAD_MARK in p.name:
                p.unlink(missing_ok=True)
                n += 1
    return n


def _link_next(src: Path, folder: Path, item: str, ext: str) -> Take:
    """Give `src` the next free take number, atomically and without ever replacing a file."""
    n = max((t.n for t in takes_in(folder, item)), default=0) + 1
    while True:
        dest = folder / f"{item}.take-{n}.{ext}"
        try:
            os.link(src, dest)
            return Take(n, dest)
        except FileExistsError:
            n += 1


def takes_in(folder: Path, item: str) -> list[Take]:
    out = []
    for p in folder.glob(f"{glob_escape(item)}.take-*.*"):
        m = _TAKE.match(p.name)
        if m and m["item"] == item:
            out.append(Take(int(m["n"]), p))
    return out


def add_take(station: Station, week: str, item: str, upload: Path, *, max_ms: int) -> tuple[Take, int]:
    """Turn a complete upload into the item's next take. Returns the take and its length in ms."""
    folder = segments(station, week)
    ogg = fsutil.temp_path(folder / f"{item}{UPLOAD_MARK}{EXT}")
    try:
        _refuse_long(upload, item, max_ms)
        _to_ogg(upload, ogg, max_ms + 1000)
        ms = media.duration_ms(ogg)
        if ms > max_ms:
            raise AudioError(f"item {item}: the take is {format_ms(ms)}, longer than the {format_ms(max_ms)} a take "
                             "may be", fix="record the item on its own, within the show's slot")
        with open(ogg, "rb") as f:
            os.fsync(f.fileno())
        take = _link_next(ogg, folder, item, EXT)
        return take, ms
    finally:
        ogg.unlink(missing_ok=True)


def _refuse_long(upload: Path, item: str, max_ms: int) -> None:
    """A length the container declares is read before anything is decoded: a small file of very low bitrate
    can hold hours, and decoding them only to refuse them costs minutes of processor and a disk's worth."""
    try:
        ms = media.duration_ms(upload)
    except AudioError:  # a recorder's WebM declares no length: decoding below stops at the limit instead
        return
    if ms > max_ms:
        raise AudioError(f"item {item}: the take is {format_ms(ms)}, longer than the {format_ms(max_ms)} a take "
                         "may be", fix="record the item on its own, within the show's slot")


def _to_ogg(src: Path, dest: Path, limit_ms: int) -> None:
    """Opus from the browser into Ogg, whose length ffprobe reads exactly (a recorder's WebM has none); never more
    than `limit_ms` of it, so an upload longer than any take may be costs no more than the longest one."""
    ffmpeg = media.need("ffmpeg")
    base = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(src), "-t", f"{limit_ms / 1000:.3f}", "-map", "0:a:0",
            "-vn", "-map_metadata", "-1"]
    r = subprocess.run([*base, "-c:a", "copy", "-f", "ogg", str(dest)], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:  # not Opus (some browsers record AAC): encode it
        r = subprocess.run([*base, "-c:a", "libopus", "-b:a", "96k", "-f", "ogg", str(dest)],
                           capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        reason = (r.stderr.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"the upload is not audio ffmpeg can read: {reason}", fix="record the take again")


def keep(station: Station, week: str, item: str, n: int) -> Path:
    """Make take N the item's recording: an atomic copy to `<item>.ogg`. Returns the recording's path."""
    folder = segments(station, week)
    chosen = next((t for t in takes(station, week, item) if t.n == n), None)
    if chosen is None:
        raise AudioError(f"item {item} has no take {n}", fix="reload the page to see the takes there are")
    with _keep_lock:
        history = takes(station, week, item)
        for rec in recordings(station, week, item):
            copy_of_take = any(t.path.suffix == rec.suffix and t.path.stat().st_size == rec.stat().st_size
                               and filecmp.cmp(t.path, rec, shallow=False) for t in history)
            if not copy_of_take:  # recorded or dropped in by hand: keep it as history, never lose it
                _link_next(rec, folder, item, rec.suffix[1:])
            if rec.suffix != chosen.path.suffix:
                rec.unlink()
        dest = folder / f"{item}{chosen.path.suffix}"
        with open(chosen.path, "rb") as src, fsutil.atomic_open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return dest

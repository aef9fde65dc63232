"""Takes: which file in segments/ is an item's recording, and whether a take can go on air.

An item's recording is `segments/<item-id>.<ext>`; when several exist the newest wins and the others are named
as set aside. `<item-id>.take-<N>.<ext>` files are numbered takes kept as history: never a recording by
themselves, never reported as misnamed. Any other audio file is reported with the item id it was probably meant
for. Only regular files inside the station are read: a link out of it, a FIFO or a device is refused.

A take is measured (decoded at a low rate, in 10 ms frames) before it is used: digitally silent, near silent
(under `[takes] min_speech` seconds above the silence level) or cut short (speech under `[takes] min_fraction`
of the item's estimated time) is refused, with the item and the fix. Assembly and status call the same check.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from radio import fsutil, media
from radio.config import format_ms
from radio.errors import AudioError
from radio.station import Station

TAKE_RE = re.compile(r"\.take-\d+$")
RATE = 8000  # enough to tell speech from silence; decoding is cheap at this rate
FRAME = RATE // 100  # 10 ms


@dataclass
class Takes:
    """The week's segments/ folder, read once."""

    recordings: dict[str, Path] = field(default_factory=dict)  # item id -> the take that is used
    refused: dict[str, str] = field(default_factory=dict)  # item id -> why its file cannot be read
    notes: list[str] = field(default_factory=list)  # set aside, misnamed: one line each


def segments_dir(station: Station, week: str) -> Path:
    return station.edition_dir(week) / "segments"


def _suggest(stem: str, ext: str, ids: list[str]) -> str:
    low = stem.lower().replace("_", "-").replace(" ", "-")
    if low in ids:
        return f"did you mean {low}.{ext}?"
    starts = [i for i in ids if i.startswith(low) or low.startswith(i)]
    close = starts or difflib.get_close_matches(low, ids, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}.{ext}?"
    return f"name it for an item of the rundown, e.g. {ids[0]}.{ext}" if ids else "plan the week first"


def scan(station: Station, week: str, item_ids: list[str]) -> Takes:
    """Which take each item uses, and a line for every file set aside, misnamed or refused."""
    folder = segments_dir(station, week)
    out = Takes()
    if not folder.is_dir():
        return out
    ids = list(item_ids)
    known = set(ids)
    candidates: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or "." not in p.name:
            continue
        stem, ext = p.name.rsplit(".", 1)
        if ext.lower() not in media.AUDIO_EXTS or TAKE_RE.search(stem):
            continue  # not audio, or a numbered take kept as history
        rel = p.relative_to(station.root)
        if stem not in known:
            out.notes.append(f"{rel}: no item {stem!r} in the rundown ({_suggest(stem, ext.lower(), ids)})")
            continue
        why = fsutil.not_regular(station.root, p)
        if why:
            out.refused[stem] = f"{rel}: {why}"
            continue
        candidates.setdefault(stem, []).append(p)
    for item, paths in candidates.items():
        paths.sort(key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
        out.recordings[item] = paths[0]
        for other in paths[1:]:
            out.notes.append(f"{item}: using {paths[0].name}, the newest; set aside {other.name}")
    return out


# --- measuring a take --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    duration_ms: int
    sound_ms: int  # 10 ms frames above the silence level, in all
    speech_ms: int  # from the first such frame to the last
    peak_db: float  # sample peak, dBFS (-inf when digitally silent)


@lru_cache(maxsize=1024)
def _measure(path: str, size: int, mtime_ns: int, silence_db: float) -> Measure:
    """Decode at a low rate and read it in 10 ms frames, a few seconds at a time: memory stays flat."""
    proc = subprocess.Popen([media.need("ffmpeg"), "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-vn",
                             "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    n, peak, sound, first, last = 0, 0.0, 0, -1, -1
    rest = np.zeros(0, dtype=np.float32)
    step = FRAME * 4 * 500  # 5 s of samples, in bytes
    while data := proc.stdout.read(step):  # type: ignore[union-attr]
        x = np.concatenate([rest, np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")])
        k = len(x) // FRAME
        frames, rest = x[: k * FRAME].reshape(k, FRAME), x[k * FRAME:]
        if k:
            peak = max(peak, float(np.abs(frames).max()))
            rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))
            loud = np.nonzero(20 * np.log10(rms + 1e-12) > silence_db)[0]
            if len(loud):
                first = n + int(loud[0]) if first < 0 else first
                last = n + int(loud[-1])
                sound += len(loud)
        n += k
    err = proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
    if proc.wait() != 0:
        reason = (err.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    if len(rest):
        peak = max(peak, float(np.abs(rest).max()))
    return Measure((n * FRAME + len(rest)) * 1000 // RATE, sound * 10, (last - first + 1) * 10 if first >= 0 else 0,
                   20 * float(np.log10(peak)) if peak > 0 else float("-inf"))


def _cache_path(station: Station, week: str) -> Path:
    return station.out_dir(week) / ".takes.json"


def measure(station: Station, week: str, path: Path) -> Measure:
    """A take's measurement; kept in out/.takes.json by size and time, so status stays quick."""
    st = path.stat()
    silence = station.config.audio.silence_db
    key = f"{path.relative_to(station.root)}|{st.st_size}|{st.st_mtime_ns}|{silence}"
    cache_path = _cache_path(station, week)
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    except (ValueError, OSError):
        cache = {}
    if key in cache:
        try:
            return Measure(**cache[key])
        except TypeError:
            pass
    if st.st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    m = _measure(str(path), st.st_size, st.st_mtime_ns, silence)
    keep = {k: v for k, v in cache.items() if k.split("|")[0] != key.split("|")[0]}
    keep[key] = {k: (v if v != float("-inf") else -1000.0) for k, v in asdict(m).items()}
    try:
        fsutil.write_text(cache_path, json.dumps(keep, sort_keys=True) + "\n")
    except OSError:
        pass  # a cache only
    return m


def problem(station: Station, week: str, item_id: str, path: Path, estimated_ms: int) -> str | None:
    """Why this take cannot air, as one line naming the item and the fix; None when it can."""
    t = station.config.takes
    rel = path.relative_to(station.root)
    slot = station.config.show.slot_ms
    try:
        ms = media.duration_ms(path)
        if ms > slot:
            return (f"{path}: item {item_id}: the recording is {format_ms(ms)}, longer than the whole "
                    f"{format_ms(slot)} slot (check it is the right file, or edit it)")
        m = measure(station, week, path)
    except AudioError as e:  # it names the file, which is named for the item
        return e.format_message()
    if m.peak_db <= -100:
        return f"item {item_id}: the take {rel} is digitally silent (record it again, or check the input)"
    if m.sound_ms < t.min_speech * 1000 and m.duration_ms >= 2 * t.min_speech * 1000:
        return (f"item {item_id}: the take {rel} is near silent: {m.sound_ms / 1000:g} s above "
                f"{station.config.audio.silence_db:g} dBFS (record it again, nearer the microphone)")
    if m.sound_ms < t.min_speech * 1000 or (estimated_ms and m.speech_ms < t.min_fraction * estimated_ms):
        return (f"item {item_id}: the take {rel} holds {format_ms(m.speech_ms) if m.speech_ms >= 1000 else f'{m.speech_ms} ms'}"
                f" of speech, under {t.min_fraction:.0%} of its {format_ms(estimated_ms)} estimate: cut short? "
                "(record it again, or shorten the item's text to what was read)")
    return None

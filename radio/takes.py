"""Takes: which file in segments/ is an item's recording, and whether a take can go on air.

An item's recording is `segments/<item-id>.<ext>`; when several exist the newest wins and the others are named
as set aside. `<item-id>.take-<N>.<ext>` files are numbered takes kept as history: never a recording by
themselves, never reported as misnamed. Any other audio file is reported with the item id it was probably meant
for. Only regular files inside the station are read: a link out of it, a FIFO or a device is refused.

A take is measured (in 10 ms frames at the show's rate) before it airs: digitally silent, near silent
(under `[takes] min_speech` seconds above the silence level) or cut short (speech under `[takes] min_fraction`
of the item's estimated time) is refused, with the item and the fix. Assembly and status call the same check.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import subprocess
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path


from radio import fsutil, media
from radio.config import format_ms
from radio.errors import AudioError
from radio.station import Station

TAKE_RE = re.compile(r"\.take-\d+$")


@dataclass
class Takes:
    """The week's segments/ folder, read once."""

    recordings: dict[str, Path] = field(default_factory=dict)  # item id -> the take that is used
    refused: dict[str, str] = field(default_factory=dict)  # item id -> why its file cannot be read
    notes: list[str] = field(default_factory=list)  # set aside, misnamed: one line each


def segments_dir(station: Station, week: str) -> Path:
    return station.segments_dir(week)


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


class Level:
    """A take's measurement from its samples at the show's rate, fed a step at a time (any steps give the same
    result): length, sound above the silence level in 10 ms frames, the span of speech, the sample peak. The
    build measures a take from the very samples it mixes; `radio status` and the studio decode it for this."""

    def __init__(self, rate: int, silence_db: float):
        import numpy as np  # here: every command reads takes, few measure one
        self.np = np
        self.rate, self.frame = rate, rate // 100
        self.floor = 10 ** (silence_db / 20)
        self.rest = np.zeros(0, dtype=np.float32)
        self.n = self.sound = 0
        self.first = self.last = -1
        self.peak = 0.0

    def feed(self, x) -> None:
        np = self.np
        if len(self.rest):  # the frame begun in the last step, completed (not the whole step joined to it)
            need = self.frame - len(self.rest)
            if len(x) < need:
                self.rest = np.concatenate([self.rest, x])
                return
            self._frames(np.concatenate([self.rest, x[:need]]).reshape(1, self.frame))
            x = x[need:]
        k = len(x) // self.frame
        self._frames(x[: k * self.frame].reshape(k, self.frame))
        self.rest = x[k * self.frame:].copy()

    def _frames(self, frames) -> None:
        np, k = self.np, len(frames)
        if k:
            self.peak = max(self.peak, float(frames.max()), -float(frames.min()))
            energy = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / self.frame
            loud = np.flatnonzero(energy > self.floor ** 2)
            if len(loud):
                self.first = self.n + int(loud[0]) if self.first < 0 else self.first
                self.last = self.n + int(loud[-1])
                self.sound += len(loud)
        self.n += k

    def result(self) -> Measure:
        if len(self.rest):
            self.peak = max(self.peak, float(self.np.abs(self.rest).max()))
        return Measure((self.n * self.frame + len(self.rest)) * 1000 // self.rate, self.sound * 10,
                       (self.last - self.first + 1) * 10 if self.first >= 0 else 0,
                       20 * math.log10(self.peak) if self.peak > 0 else float("-inf"))


def of_samples(x, rate: int, silence_db: float) -> Measure:
    level = Level(rate, silence_db)
    for i in range(0, len(x), 1 << 20):
        level.feed(x[i: i + (1 << 20)])
    return level.result()


@lru_cache(maxsize=1024)
def _measure(path: str, size: int, mtime_ns: int, silence_db: float, rate: int) -> Measure:
    """Decode at the show's rate and read it a few seconds at a time: memory stays flat."""
    proc = subprocess.Popen([media.need("ffmpeg"), "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-vn",
                             "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    level = Level(rate, silence_db)
    rest = b""
    while data := proc.stdout.read(rate * 4 * 5):  # type: ignore[union-attr]
        data = rest + data
        n = len(data) // 4 * 4
        level.feed(level.np.frombuffer(data[:n], dtype="<f4"))
        rest = data[n:]
    err = proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
    if proc.wait() != 0:
        reason = (err.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    return level.result()


def _cache_path(station: Station, week: str) -> Path:
    return station.out_dir(week) / ".takes.json"


def _key(station: Station, path: Path) -> str:
    st = path.stat()
    return (f"{path.relative_to(station.root)}|{st.st_size}|{st.st_mtime_ns}|{station.config.audio.silence_db}"
            f"|{station.config.audio.sample_rate}")


def _cache(station: Station, week: str) -> dict:
    cache_path = _cache_path(station, week)
    try:
        return json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    except (ValueError, OSError):
        return {}


def cached(station: Station, week: str, path: Path) -> Measure | None:
    """A take's measurement if it was taken since the file last changed."""
    got = _cache(station, week).get(_key(station, path))
    try:
        return Measure(**got) if got else None
    except TypeError:
        return None


def remember(station: Station, week: str, path: Path, m: Measure) -> None:
    """Keep a take's measurement in out/.takes.json by size and time, so status and the next build are quick."""
    key = _key(station, path)
    cache = _cache(station, week)
    keep = {k: v for k, v in cache.items() if k.split("|")[0] != key.split("|")[0]}
    keep[key] = {k: (v if v != float("-inf") else -1000.0) for k, v in asdict(m).items()}
    try:
        fsutil.write_text(_cache_path(station, week), json.dumps(keep, sort_keys=True) + "\n")
    except OSError:
        pass  # a cache only


def measure(station: Station, week: str, path: Path, *, keep: bool = True) -> Measure:
    """A take's measurement, decoded for it unless already known; `keep` remembers it (not for a command that
    only reads)."""
    m = cached(station, week, path)
    if m is not None:
        return m
    st = path.stat()
    if st.st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    m = _measure(str(path), st.st_size, st.st_mtime_ns, station.config.audio.silence_db,
                 station.config.audio.sample_rate)
    if keep:
        remember(station, week, path, m)
    return m


def problem(station: Station, week: str, item_id: str, path: Path, estimated_ms: int, *, decode: bool = True,
            keep: bool = True) -> str | None:
    """Why this take cannot air, as one line naming the item and the fix; None when it can. Without `decode`,
    a take not measured yet is only checked for its length (assembly measures it as it mixes it)."""
    slot = station.config.show.slot_ms
    try:
        ms = media.duration_ms(path)
        if ms > slot:
            return (f"{path}: item {item_id}: the recording is {format_ms(ms)}, longer than the whole "
                    f"{format_ms(slot)} slot (check it is the right file, or edit it)")
        m = measure(station, week, path, keep=keep) if decode else cached(station, week, path)
    except AudioError as e:  # it names the file, which is named for the item
        return e.format_message()
    return judge(station, item_id, path, m, estimated_ms) if m is not None else None


def judge(station: Station, item_id: str, path: Path, m: Measure, estimated_ms: int) -> str | None:
    """What a measured take lacks to air: digitally silent, near silent, cut short against its estimate."""
    t = station.config.takes
    rel = path.relative_to(station.root)
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

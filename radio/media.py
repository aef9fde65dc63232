"""What ffprobe says about a media file: duration, streams. Shared by timing and assembly. A PCM WAV or a
FLAC is read from its header instead, as ffprobe would report it.

A probe is kept by the file's path, size and modification time: in the process, and across runs in the week's
build record (radio/build.py hands `records` to `recall` at the next run), so a rebuild that changes nothing
starts no ffprobe. A file with another size or time is probed again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from radio.errors import AudioError

AUDIO_EXTS = ("wav", "flac", "mp3", "ogg", "opus", "m4a", "aac", "aif", "aiff")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise AudioError(f"{tool} is not installed", fix="run ./scripts/demo or apt-get install ffmpeg espeak-ng")
    return path


PIPE_BYTES = 1 << 20  # Linux's default most for a pipe


def widen(pipe) -> None:
    """Give a pipe between us and ffmpeg a megabyte (64 KB by default). The encoder eats 64 KB of samples in a
    millisecond or two, less than a thread here may wait for the interpreter between two writes; with a
    megabyte it has a few seconds of sound in hand. Where the system says no, the pipe stays as it was."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError, ValueError):
        pass


def _probe(path: Path) -> dict:
    r = subprocess.run([need("ffprobe"), "-v", "error", "-show_entries",
                        "format=duration:stream=codec_type,sample_rate,channels,duration", "-of", "json", str(path)],
                       capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        reason = (r.stderr.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    return json.loads(r.stdout or "{}")


PCM_FORMATS = (1, 3, 0xFFFE)  # WAVE format tags whose length the header gives exactly: PCM, float, extensible


def _from_header(path: Path) -> dict | None:
    """What ffprobe says of a PCM WAV or a FLAC, read from its header by mutagen (a starting ffprobe costs a
    hundred times more): None for any other file, or for a header that does not add up (a WAV cut short, a
    length left unwritten), which ffprobe is asked about instead."""
    ext = path.suffix.lower()
    if ext not in (".wav", ".flac"):
        return None
    try:
        if ext == ".wav":
            from mutagen.wave import WAVE
            info = WAVE(path).info
            data = info.length * info.sample_rate * info.channels * info.bits_per_sample / 8
            if getattr(info, "audio_format", None) not in PCM_FORMATS or data > path.stat().st_size:
                return None
        else:
            from mutagen.flac import FLAC
            info = FLAC(path).info
    except Exception:  # noqa: BLE001 - whatever mutagen makes of it, ffprobe says what is wrong
        return None
    if not (info.length > 0 and info.sample_rate > 0 and info.channels > 0):
        return None
    seconds = f"{info.length:.6f}"
    return {"streams": [{"codec_type": "audio", "sample_rate": str(info.sample_rate), "channels": info.channels,
                         "duration": seconds}], "format": {"duration": seconds}}


KNOWN_MAX = 4096
_known: dict[tuple[str, int, int], dict] = {}  # (path, mtime_ns, size) -> what ffprobe said, probed or recalled


def _keep(key: tuple[str, int, int], info: dict) -> None:
    if key not in _known and len(_known) >= KNOWN_MAX:
        del _known[next(iter(_known))]  # the oldest: a long-running studio stays bounded
    _known[key] = info


def probe(path: Path) -> dict:
    st = path.stat()
    if st.st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    key = (str(path), st.st_mtime_ns, st.st_size)
    info = _known.get(key)
    if info is None:
        info = _from_header(path) or _probe(path)
        _keep(key, info)
    return info


def probe_ahead(paths: list[Path]) -> None:
    """Probe the files not known yet one per core at a time (an ffprobe spends its time starting up, on one
    core), so the `probe` calls that follow, in their own order, find them. A file that cannot be probed is left
    for that call to report."""
    todo: dict[tuple[str, int, int], Path] = {}
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        key = (str(p), st.st_mtime_ns, st.st_size)
        if st.st_size and key not in _known:
            if (info := _from_header(p)) is not None:
                _keep(key, info)
            else:
                todo[key] = p

    def one(p: Path) -> dict | None:
        try:
            return _probe(p)
        except (AudioError, OSError, ValueError):
            return None

    workers = min(os.cpu_count() or 1, len(todo))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            for key, info in zip(todo, pool.map(one, todo.values())):
                if info is not None:
                    _keep(key, info)


def records(root: Path, paths: list[Path]) -> dict[str, dict]:
    """The probes of `paths` (inside `root`) that still match their file, by path relative to `root`: what a
    later run gives back to `recall`."""
    out: dict[str, dict] = {}
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        info = _known.get((str(p), st.st_mtime_ns, st.st_size))
        if info is not None and p.is_relative_to(root):
            out[str(p.relative_to(root))] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "probe": info}
    return dict(sorted(out.items()))


def recall(root: Path, saved: object) -> None:
    """Take back probes a run recorded with `records`. A record only answers for a file with the same size and
    time; anything malformed is ignored (the file is probed again)."""
    if not isinstance(saved, dict):
        return
    for rel, rec in saved.items():
        if not isinstance(rec, dict) or not isinstance(rec.get("probe"), dict):
            continue
        size, mtime_ns = rec.get("size"), rec.get("mtime_ns")
        if isinstance(rel, str) and type(size) is int and type(mtime_ns) is int:
            key = (str(root / rel), mtime_ns, size)
            if key not in _known:
                _keep(key, rec["probe"])


def duration_ms(path: Path) -> int:
    info = probe(path)
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise AudioError("it holds no audio stream", where=path, fix="export the recording as audio (WAV, FLAC, MP3)")
    raw = streams[0].get("duration") or info.get("format", {}).get("duration")
    try:
        ms = round(float(raw) * 1000)
    except (TypeError, ValueError):
        raise AudioError("ffprobe reports no duration", where=path, fix="re-export it as WAV or FLAC") from None
    if ms <= 0:
        raise AudioError("it is zero seconds long", where=path, fix="record or export it again")
    return ms

"""What ffprobe says about a media file: duration, streams. Shared by timing and assembly."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from radio.errors import AudioError

AUDIO_EXTS = ("wav", "flac", "mp3", "ogg", "opus", "m4a", "aac", "aif", "aiff")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise AudioError(f"{tool} is not installed", fix="run ./scripts/demo or apt-get install ffmpeg espeak-ng")
    return path


def _probe(path: Path) -> dict:
    r = subprocess.run([need("ffprobe"), "-v", "error", "-show_entries",
                        "format=duration:stream=codec_type,sample_rate,channels,duration", "-of", "json", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        reason = (r.stderr.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    return json.loads(r.stdout or "{}")


@lru_cache(maxsize=4096)
def _probe_cached(path: str, mtime_ns: int, size: int) -> dict:
    return _probe(Path(path))


def probe(path: Path) -> dict:
    st = path.stat()
    if st.st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    return _probe_cached(str(path), st.st_mtime_ns, st.st_size)


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

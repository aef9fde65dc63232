"""Draft read-throughs: espeak-ng reads the script in the host's voice at the host's rate.

espeak-ng's `-s` is not a reading rate: in English it reads about an eighth faster than asked, in Russian slower.
A draft that runs faster than the host would tells the producer the show fits when it will not, so a draft is
made to last as long as the estimate for the host's rate says the reading will: read once, then read again at
the speed that corrects the difference."""

from __future__ import annotations

import hashlib
import json
import subprocess
import wave
from pathlib import Path

from radio import fsutil
from radio.errors import AudioError
from radio.media import need


SPEEDS = (80, 450)  # what espeak-ng accepts as -s
CLOSE_ENOUGH = 0.02  # a draft within 2 % of its estimate is read once


def draft(text: str, voice: str, wpm: float, path: Path, target_ms: int | None = None) -> Path:
    """Write (or reuse) a draft for `text`, lasting about `target_ms` when given; the stamp beside it says what
    it was made from."""
    key = hashlib.sha256(json.dumps([text, voice, round(wpm), target_ms]).encode()).hexdigest()[:16]
    stamp = path.with_suffix(".key")
    if path.is_file() and stamp.is_file() and stamp.read_text() == key:
        return path
    tmp = fsutil.temp_path(path)
    try:
        speed = round(wpm)
        ms = _speak(text, voice, speed, tmp, path)
        if target_ms and abs(ms - target_ms) > CLOSE_ENOUGH * target_ms:
            corrected = min(max(round(speed * ms / target_ms), SPEEDS[0]), SPEEDS[1])
            if corrected != speed:
                _speak(text, voice, corrected, tmp, path)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    fsutil.write_text(stamp, key)
    return path


def _speak(text: str, voice: str, speed: int, tmp: Path, path: Path) -> int:
    """espeak-ng reads `text` into `tmp`; returns its length in ms."""
    # the text goes in on stdin: a long item would not fit in one command-line argument
    r = subprocess.run([need("espeak-ng"), "-v", voice, "-s", str(speed), "-w", str(tmp), "--stdin"],
                       input=text, capture_output=True, text=True, errors="replace")
    if r.returncode != 0 or tmp.stat().st_size <= 44:
        raise AudioError(f"espeak-ng could not read it in voice {voice!r}: {r.stderr.strip() or 'no audio'}",
                         where=path, fix="set the host's voice in radio.toml to one `espeak-ng --voices` lists")
    with wave.open(str(tmp), "rb") as w:
        return round(w.getnframes() * 1000 / w.getframerate())

"""Draft read-throughs: espeak-ng reads the script in the host's voice at the host's rate."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from radio import fsutil
from radio.errors import AudioError
from radio.media import need


def draft(text: str, voice: str, wpm: float, path: Path) -> Path:
    """Write (or reuse) a draft for `text`; the stamp beside it says what it was made from."""
    key = hashlib.sha256(json.dumps([text, voice, round(wpm)]).encode()).hexdigest()[:16]
    stamp = path.with_suffix(".key")
    if path.is_file() and stamp.is_file() and stamp.read_text() == key:
        return path
    tmp = fsutil.temp_path(path)
    try:
        # the text goes in on stdin: a long item would not fit in one command-line argument
        r = subprocess.run([need("espeak-ng"), "-v", voice, "-s", str(round(wpm)), "-w", str(tmp), "--stdin"],
                           input=text, capture_output=True, text=True)
        if r.returncode != 0 or tmp.stat().st_size <= 44:
            raise AudioError(f"espeak-ng could not read it in voice {voice!r}: {r.stderr.strip() or 'no audio'}",
                             where=path, fix="set the host's voice in radio.toml to one `espeak-ng --voices` lists")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    fsutil.write_text(stamp, key)
    return path

"""Decoding any file ffmpeg reads into float32 mono at the show's rate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from radio.errors import AudioError
from radio.media import need


def decode(path: Path, rate: int) -> np.ndarray:
    """The whole file as float32 mono samples (channels mixed down, resampled with soxr-quality swr)."""
    if path.stat().st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    r = subprocess.run([need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn",
                        "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"], capture_output=True)
    if r.returncode != 0:
        reason = (r.stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    x = np.frombuffer(r.stdout, dtype="<f4")
    if len(x) == 0:
        raise AudioError("it decodes to no audio (zero length)", where=path, fix="record or export it again")
    return x.copy() if not x.flags.writeable else x

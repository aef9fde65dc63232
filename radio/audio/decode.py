"""Decoding any file ffmpeg reads into float32 mono at the show's rate, straight into one array."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from radio.errors import AudioError
from radio.media import need


def decode(path: Path, rate: int, expect_ms: int | None = None) -> np.ndarray:
    """The whole file as float32 mono samples (channels mixed down, resampled by ffmpeg).

    ffmpeg's output is read into a preallocated array (sized from the expected duration, grown if needed),
    so a segment is held once in memory, not once per copy.
    """
    if path.stat().st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    proc = subprocess.Popen([need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn",
                             "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    size = max(1 << 16, ((expect_ms or 60_000) * rate // 1000 + rate) * 4)
    buf = bytearray(size)
    view = memoryview(buf)
    n = 0
    while True:
        if n == len(buf):
            buf.extend(bytes(len(buf) // 2))
            view = memoryview(buf)
        got = proc.stdout.readinto(view[n:])  # type: ignore[union-attr]
        if not got:
            break
        n += got
    err = proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
    if proc.wait() != 0:
        reason = (err.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path,
                         fix="re-export it as WAV or FLAC, or replace it")
    if n < 4:
        raise AudioError("it decodes to no audio (zero length)", where=path, fix="record or export it again")
    del view
    return np.frombuffer(buf, dtype="<f4", count=n // 4)

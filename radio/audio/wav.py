"""Streaming 24-bit PCM WAV, with room reserved before the audio for broadcast metadata (bext, LIST/INFO).

The reserve is a JUNK chunk, as EBU Tech 3285 suggests: tagging later replaces it in place, so the audio
data is never rewritten.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np

RESERVE = 8192  # bytes of JUNK: bext (602 + coding history) and LIST/INFO fit with room to spare


def header(rate: int, data_bytes: int, reserve: int = RESERVE) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 3, 3, 24)
    riff_size = 4 + (8 + len(fmt)) + (8 + reserve) + (8 + data_bytes + (data_bytes & 1))
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"JUNK" + struct.pack("<I", reserve) + bytes(reserve) + b"data" + struct.pack("<I", data_bytes))


def pcm24(x: np.ndarray) -> bytes:
    q = np.round(np.clip(x, -1.0, 1.0 - 1 / 8388608) * 8388608).astype("<i4")
    return q.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


class WavWriter:
    def __init__(self, f: BinaryIO, rate: int):
        self.f = f
        self.rate = rate
        self.frames = 0
        f.write(header(rate, 0))

    def write(self, x: np.ndarray) -> None:
        if len(x):
            self.f.write(pcm24(x))
            self.frames += len(x)

    def close(self) -> None:
        data = self.frames * 3
        if data & 1:
            self.f.write(b"\0")
        self.f.seek(0)
        self.f.write(header(self.rate, data))
        self.f.seek(0, 2)

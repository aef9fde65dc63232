"""One segment at a time: trim dead air (pydub), bring speech to the target loudness, shape the edges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from radio.audio import dsp

EDGE = 0.005  # seconds of fade at a trimmed edge, so a cut never clicks


@dataclass
class Prepared:
    audio: np.ndarray
    loudness: dict
    gain_db: float
    warnings: list[str] = field(default_factory=list)


def _as_pydub(x: np.ndarray, rate: int) -> AudioSegment:
    pcm = (np.clip(x, -1.0, 1.0) * 2147483647.0).astype("<i4")
    return AudioSegment(data=pcm.tobytes(), sample_width=4, frame_rate=rate, channels=1)


def _silent_ms(x: np.ndarray, rate: int, silence_db: float) -> int:
    """Leading silence in ms, by pydub's detection in 10 ms steps, looking at a window that grows only as needed."""
    window = 30 * rate
    while True:
        part = x[:window]
        ms = detect_leading_silence(_as_pydub(part, rate), silence_threshold=silence_db, chunk_size=10)
        if ms < len(part) * 1000 // rate or window >= len(x):
            return min(ms, len(x) * 1000 // rate)
        window *= 4


def trim(x: np.ndarray, rate: int, silence_db: float, keep_s: float) -> tuple[np.ndarray, float]:
    """Cut silence beyond `keep_s` at the head and tail."""
    head_ms = _silent_ms(x, rate, silence_db)
    if head_ms >= len(x) * 1000 // rate:
        return x, 0.0  # all silence: leave it, the caller warns
    tail_ms = _silent_ms(x[::-1], rate, silence_db)
    keep = round(keep_s * 1000)
    start = max(0, head_ms - keep) * rate // 1000
    end = len(x) - max(0, tail_ms - keep) * rate // 1000
    out = x[start:end]  # a view: the fades and the gain work in place on the decoded array
    fade = min(len(out) // 2, round(EDGE * rate))
    if fade and start > 0:
        out[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
    if fade and end < len(x):
        out[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return out, (len(x) - len(out)) / rate


def clipped_runs(x: np.ndarray, threshold: float = 0.999, run: int = 3) -> int:
    """How many places hold `run` or more consecutive samples at full scale: the mark of a clipped recording."""
    hot = np.abs(x) >= threshold
    if not hot.any():
        return 0
    edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return int(((ends - starts) >= run).sum())


def prepare_speech(x: np.ndarray, rate: int, target_lufs: float, *, silence_db: float, keep_s: float,
                   name: str) -> Prepared:
    warnings = []
    clips = clipped_runs(x)
    if clips:
        warnings.append(f"{name}: the recording clips in {clips} places (re-record it lower if it sounds distorted)")
    y, _ = trim(x, rate, silence_db, keep_s)
    before = dsp.measure(y, rate)
    if before["integrated"] is None:
        warnings.append(f"{name}: the recording is silent (check the microphone and the file)")
        return Prepared(y, before, 0.0, warnings)
    gain = target_lufs - before["integrated"]
    y *= np.float32(dsp.undb(gain))
    after = {**before, "integrated": round(before["integrated"] + gain, 2),
             "true_peak": round(before["true_peak"] + gain, 2) if before["true_peak"] is not None else None}
    return Prepared(y, after, round(gain, 2), warnings)


def prepare_element(x: np.ndarray, rate: int, target_lufs: float, name: str) -> Prepared:
    """Music and jingles are not trimmed; they are set to their level relative to speech."""
    m = dsp.measure(x, rate)
    if m["integrated"] is None:
        return Prepared(x, m, 0.0, [f"{name}: the element is silent"])
    gain = target_lufs - m["integrated"]
    y = x * np.float32(dsp.undb(gain))
    return Prepared(y, {**m, "integrated": round(target_lufs, 2)}, round(gain, 2))


def duck_envelope(voice: np.ndarray, rate: int, silence_db: float, duck_db: float, ramp_s: float) -> np.ndarray:
    """Gain for a bed under `voice`: `duck_db` where the voice speaks, 0 dB in its pauses, moving over `ramp_s`."""
    hop = rate // 100
    n = -(-len(voice) // hop)
    padded = np.zeros(n * hop, dtype=np.float32)
    padded[: len(voice)] = voice
    rms = np.sqrt((padded.reshape(n, hop) ** 2).mean(axis=1) + 1e-20)
    active = (20 * np.log10(rms) > silence_db).astype(np.float32)
    hold = max(1, round(0.3 * 100))  # bridge the short gaps between words
    from scipy.ndimage import maximum_filter1d, uniform_filter1d
    active = maximum_filter1d(active, 2 * hold + 1)
    smooth = uniform_filter1d(active, max(1, round(ramp_s * 100)))
    gain_db = smooth * duck_db
    env = np.repeat(10 ** (gain_db / 20), hop)[: len(voice)]
    return env.astype(np.float32)


def fade(x: np.ndarray, rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    y = x.copy()
    a = min(len(y), round(fade_in_s * rate))
    b = min(len(y), round(fade_out_s * rate))
    if a:
        y[:a] *= np.linspace(0, 1, a, dtype=np.float32)
    if b:
        y[-b:] *= np.linspace(1, 0, b, dtype=np.float32)
    return y


def loop_to(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    reps = -(-n // len(x))
    return np.tile(x, reps)[:n]

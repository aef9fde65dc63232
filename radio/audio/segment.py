"""Short sounds held whole: station sounds (DC block, edges, level, the podcast's peak hold), beds looped and
faded, and the trimming the studio shows. Speech takes, of any length, stream (radio/audio/take.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radio.audio import dsp
from radio.audio.filters import butter2_highpass, sosfilt_inplace, sosfilt_zi
from radio.config import Compressor, Limiter, Mix

FRAME = 0.01  # seconds per frame when looking for silence (as pydub's 10 ms chunks)
STEP = 1 << 20  # samples per step where a whole-take temporary would otherwise be needed


@dataclass
class Prepared:
    audio: np.ndarray
    loudness: dict
    gain_db: float
    warnings: list[str] = field(default_factory=list)


def highpass(x: np.ndarray, rate: int, hz: float) -> np.ndarray:
    """A DC-blocking high-pass (2nd-order Butterworth), in place, a step at a time. The filter starts settled
    on the first sample, so an offset present from the start leaves no step."""
    if hz <= 0 or len(x) == 0:
        return x
    if not x.flags.writeable:
        x = x.copy()
    if not x.flags.c_contiguous or x.dtype != np.float32:
        x = np.ascontiguousarray(x, dtype=np.float32)
    sos = butter2_highpass(hz, rate).astype(np.float32)
    zi = (sosfilt_zi(sos) * x[0]).astype(np.float32)
    for i in range(0, len(x), STEP):
        zi = sosfilt_inplace(sos, x[i: i + STEP], zi)
    return x


def block_peaks(x: np.ndarray) -> np.ndarray:
    """Peak of each 64-sample block (the last one may be shorter), without a copy of the take."""
    n = len(x) // dsp.BLOCK
    head = np.empty(n, np.float32)
    for i in range(0, n * dsp.BLOCK, STEP):  # an absolute copy of a step at a time
        j = min(n * dsp.BLOCK, i + STEP)
        head[i // dsp.BLOCK: j // dsp.BLOCK] = dsp.abs_block_max(x[i:j])
    if len(x) % dsp.BLOCK:
        head = np.concatenate([head, [np.abs(x[n * dsp.BLOCK:]).max()]])
    return head



def _active(x: np.ndarray, rate: int, silence_db: float) -> np.ndarray:
    """Per 10 ms frame: is there sound above `silence_db` (frame RMS in dBFS)?"""
    return _active_hop(x, max(1, round(FRAME * rate)), silence_db)


def _active_hop(x: np.ndarray, hop: int, silence_db: float) -> np.ndarray:
    n = len(x) // hop
    r = x[: n * hop].reshape(n, hop)
    energy = np.einsum("ij,ij->i", r, r) / hop  # no squared copy of the take
    if len(x) % hop:
        rest = x[n * hop:]
        energy = np.concatenate([energy, [float(np.dot(rest, rest)) / hop]])
    return energy > dsp.undb(silence_db) ** 2


def _runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    return np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]


def trim(x: np.ndarray, rate: int, silence_db: float, keep_s: float, click_max: float, digital_db: float = -90.0
         ) -> tuple[np.ndarray, int, list[float]]:
    """Cut dead air beyond `keep_s` at the head and tail. Sound shorter than `click_max` with silence around it
    is not the voice: trimming goes past it. Digital silence at the very edges goes too, so no splice holds a run
    of zeros beyond the gap between items. Returns the kept part, where it starts, and the times skipped."""
    act = _active(x, rate, silence_db)
    starts, ends = _runs(act)
    if len(starts) == 0:
        return x, 0, []
    short = (ends - starts) * FRAME < click_max
    real = np.nonzero(~short)[0]
    if len(real) == 0:
        return x, 0, []
    first, last = real[0], real[-1]
    skipped = [round(s * FRAME, 2) for s in starts[:first]] + [round(s * FRAME, 2) for s in starts[last + 1:]]
    hop = round(FRAME * rate)
    keep = round(keep_s * rate)
    a = max(0, starts[first] * hop - keep)
    b = min(len(x), ends[last] * hop + keep)
    floor = dsp.undb(digital_db)
    near = keep + 2 * hop  # digital zeros can only lie in the kept pause at either edge
    head = np.flatnonzero(np.abs(x[a: min(b, a + near)]) > floor)
    t0 = max(a, b - near)
    tail = np.flatnonzero(np.abs(x[t0:b]) > floor)
    if len(head) and len(tail):  # in whole frames: a sample or two of zeros at an edge is not dead air
        zeros_after = b - t0 - 1 - int(tail[-1])
        a += int(head[0]) // hop * hop
        b -= zeros_after // hop * hop
    return x[a:b], a, skipped


def clipped_runs(x: np.ndarray, threshold: float = 0.999, run: int = 3) -> int:
    """How many places hold `run` or more consecutive samples at full scale: the mark of a clipped recording."""
    hot = np.empty(len(x), dtype=bool)  # a byte per sample, filled a step at a time: no float copy of the take
    for i in range(0, len(x), STEP):
        np.greater_equal(np.abs(x[i: i + STEP]), threshold, out=hot[i: i + STEP])
    if not hot.any():
        return 0
    starts, ends = _runs(hot)
    return int(((ends - starts) >= run).sum())


def edges(x: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """A short fade at both ends, in place: no splice starts or stops on a step."""
    n = min(len(x) // 2, round(seconds * rate))
    if n:
        ramp = np.sin(np.linspace(0, np.pi / 2, n, dtype=np.float32)) ** 2
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x




def podcast_version(y: np.ndarray, rate: int, c: Compressor | None, limiter: Limiter, target_lufs: float,
                    peak_db: float, energies: np.ndarray) -> tuple[np.ndarray, dict]:
    """The take for the podcast: compressed (speech; `c` None for a station sound, which keeps its dynamics),
    then its few remaining peaks held under `peak_db` (where they would meet the podcast's ceiling once the
    master is lifted to its target), at the same loudness as on air. The master's limiter then has almost
    nothing left to do, so speech and music keep their balance.

    The loudness after each step is predicted, not metered again: the take's own 100 ms K-weighted energies
    (`energies`) times the mean square of the gain applied in each 100 ms."""
    pod, comp_db, g = y.copy(), 0.0, np.ones(-(-len(y) // dsp.BLOCK), np.float32)
    g2 = g.astype(np.float64) ** 2
    sub = rate // 10
    idx = np.minimum(np.arange(len(g2)) * dsp.BLOCK // sub, max(len(energies) - 1, 0))
    # within each 100 ms the gain is weighted by where the energy is: loud syllables are the ones turned down
    nb = len(y) // dsp.BLOCK
    r = y[: nb * dsp.BLOCK].reshape(nb, dsp.BLOCK)
    w = np.concatenate([np.einsum("ij,ij->i", r, r).astype(np.float64), np.ones(len(g2) - nb)]) + 1e-12
    wsum = np.maximum(np.bincount(idx, weights=w, minlength=len(energies)), 1e-12)

    def loudness() -> float:
        e = energies * (np.bincount(idx, weights=w * g2, minlength=len(energies)) / wsum)[: len(energies)]
        return dsp.integrated(e)

    lim_gr: list[np.ndarray] = []
    for _ in range(2):
        got = loudness()
        if not np.isfinite(got):
            break
        scale = dsp.undb(target_lufs - got)
        pod *= np.float32(scale)
        g2 *= scale * scale
        if dsp.db(float(block_peaks(pod).max())) <= peak_db:
            break
        lim = dsp.limiter(limiter, rate, peak_db)
        at, gains = 0, []  # the output lags the input, so it is written over what has already been read
        for i in range(0, len(pod), 1 << 17):
            out = lim.process(pod[i: i + (1 << 17)])
            pod[at: at + len(out)] = out
            at += len(out)
            gains.append(lim.gains)
        out = lim.flush()
        pod[at: at + len(out)] = out[: len(pod) - at]
        gains.append(lim.gains)
        got_g = np.concatenate(gains)[: len(g2)]
        g2[: len(got_g)] *= got_g.astype(np.float64) ** 2
        lim_gr.append(got_g)
    got = loudness()
    if np.isfinite(got):  # back to the speech level; what peaks this leaves over are the master limiter's
        pod *= np.float32(dsp.undb(target_lufs - got))
    gr = -20 * np.log10(np.maximum(np.concatenate(lim_gr), 1e-6)) if lim_gr else np.zeros(1)
    return pod, {"compressor_median_db": round(comp_db, 1),
                 "peak_limiter_p95_db": round(float(np.percentile(gr, 95)), 1)}


def prepare_element(x: np.ndarray, rate: int, target_lufs: float, name: str, mix: Mix) -> Prepared:
    """Music and jingles keep their shape: DC-blocked, their silent edges cut (below `element_floor_db`), set to
    their level relative to speech, faded at the splice."""
    x = highpass(x, rate, mix.highpass_hz)
    loud = np.flatnonzero(np.abs(x) > dsp.undb(mix.element_floor_db))
    if len(loud):  # in whole 10 ms frames: a sample or two under the floor at an edge is not silence
        hop = round(FRAME * rate)
        x = x[int(loud[0]) // hop * hop: len(x) - (len(x) - 1 - int(loud[-1])) // hop * hop]
    m = dsp.measure(x, rate)
    if m["integrated"] is None:
        return Prepared(x, m, 0.0, [f"{name}: the element is silent"])
    gain = target_lufs - m["integrated"]
    y = edges(x * np.float32(dsp.undb(gain)), rate, mix.edge_fade)
    return Prepared(y, {"integrated_before": m["integrated"], "gain_db": round(gain, 2)}, round(gain, 2))


def podcast_element(y: np.ndarray, rate: int, target_lufs: float, mix: Mix, peak_db: float) -> np.ndarray:
    """A station sound made ready (`prepare_element`) with its peaks held under `peak_db` at the same loudness
    (not compressed), as the podcast's speech has them: the master's limiter would otherwise take a dense jingle
    down against the voices around it."""
    meter = dsp.Meter(rate, true_peak=False)
    meter.feed(y)
    return podcast_version(y, rate, None, mix.limiter, target_lufs, peak_db,
                           np.concatenate(meter.energies) if meter.energies else np.zeros(0))[0]


def fade(x: np.ndarray, rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    y = x.copy()
    a = min(len(y), round(fade_in_s * rate))
    b = min(len(y), round(fade_out_s * rate))
    if a:
        y[:a] *= np.linspace(0, 1, a, dtype=np.float32)
    if b:
        y[-b:] *= np.linspace(1, 0, b, dtype=np.float32)
    return y


def loop_to(x: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """`n` samples of `x` looped, starting `offset` samples into the loop."""
    if n <= 0 or len(x) == 0:
        return np.zeros(max(n, 0), dtype=np.float32)
    offset %= len(x)
    out = np.empty(n, dtype=x.dtype)  # copied a loop at a time: no tile of whole loops to cut it from
    at = 0
    while at < n:
        k = min(len(x) - offset, n - at)
        out[at: at + k] = x[offset: offset + k]
        at, offset = at + k, 0
    return out


"""Loudness (ITU-R BS.1770-4 / EBU R128), true peak and a true-peak limiter, all streaming.

Everything works on float32 mono chunks with state carried between calls, so a show of any length is
measured and limited in constant memory. Tests check the numbers against ffmpeg's ebur128 filter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from radio.audio.filters import firwin_kaiser, sosfilt_inplace

BLOCK = 64  # samples per peak block: the limiter's time grid (1.3 ms at 48 kHz)
TAPS = 12  # per phase of the 4x interpolator (48 taps in all, as BS.1770 Annex 2)


def db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def undb(d: float) -> float:
    return 10 ** (d / 20)


def k_weighting(rate: int) -> np.ndarray:
    """The two K-weighting biquads for any sample rate (coefficients as libebur128 derives them)."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1, -2, 1, 1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


_PHASES = (firwin_kaiser(4 * TAPS, 0.25 * 0.92, 7.0) * 4).reshape(TAPS, 4)[::-1].astype(np.float32)


def interpolated_peaks(x: np.ndarray, blocks: np.ndarray, pad: int = TAPS) -> np.ndarray:
    """Peak of the 4x-oversampled signal in each of the given blocks of `x` (which has `pad` context samples
    before block 0 and after the last block)."""
    if len(blocks) == 0:
        return np.zeros(0, dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(x, TAPS)
    starts = pad + blocks[:, None] * BLOCK + np.arange(BLOCK)[None, :] - TAPS // 2
    rows = windows[starts.ravel()]
    out = np.abs(rows @ _PHASES).reshape(len(blocks), BLOCK * 4)
    return out.max(axis=1)


def row_energy(r: np.ndarray) -> np.ndarray:
    """The sum of squares of each row of float32 `r`, as float64. numpy's own dot product of each row sums in
    float32 with several partial sums (an error near 1e-6 of the sum, a millionth of a dB) at about a tenth of
    the cost of summing in double precision."""
    if _vecdot is None:
        return np.einsum("ij,ij->i", r, r, dtype=np.float64)
    return _vecdot(r, r).astype(np.float64)


_vecdot = getattr(np, "vecdot", None)  # numpy 2


def abs_block_max(x: np.ndarray) -> np.ndarray:
    """Peak of each whole BLOCK of `x` (its length a multiple of BLOCK; a step, not a whole take)."""
    # reduceat over one absolute copy (a step's worth) is twice as fast as a max along rows of 64
    return np.maximum.reduceat(np.abs(x), np.arange(0, len(x), BLOCK)) if len(x) else np.zeros(0, x.dtype)


class Meter:
    """Streaming BS.1770-4 meter: integrated loudness, loudness range, max momentary and short-term, true peak."""

    def __init__(self, rate: int, true_peak: bool = True, window_db: float = 1.5):
        self.rate = rate
        self.oversample = true_peak  # without it, true_peak reports the sample peak
        # inter-sample peaks of real programme rarely exceed the sample peak by more than a dB or so: only blocks
        # within `window_db` of the loudest yet are oversampled (the tests hold the result to ffmpeg's meter)
        self.window = undb(-window_db)
        self.sos = k_weighting(rate).astype(np.float32)
        self.zi = np.zeros((2, 2), dtype=np.float32)
        self.sub = rate // 10  # 100 ms sub-blocks: momentary = 4 of them, short-term = 30
        self.acc = np.zeros(0, dtype=np.float64)
        self.energies: list[np.ndarray] = []
        self.peak_tail = np.zeros(TAPS, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)
        self.sample_peak = 0.0
        self.true_peak = 0.0
        self.samples = 0

    STEP = 1 << 18  # samples per step: memory stays small whatever is fed

    def feed(self, x: np.ndarray) -> None:
        for i in range(0, len(x), self.STEP):
            self._feed(x[i: i + self.STEP])

    def _feed(self, x: np.ndarray) -> None:
        if len(x) == 0:
            return
        self.samples += len(x)
        y = np.array(x, dtype=np.float32, order="C")  # the one copy: filtered in place
        self.zi = sosfilt_inplace(self.sos, y, self.zi)
        sub, k = self.sub, 0
        if len(self.acc):  # complete the 100 ms begun in the last step
            k = min(len(y), sub - len(self.acc))
            self.acc = np.concatenate([self.acc, y[:k].astype(np.float64) ** 2])
            if len(self.acc) < sub:
                self._peaks(x)
                return
            self.energies.append(np.array([self.acc.mean()]))
        n = (len(y) - k) // sub
        if n:  # the sum of squares of each 100 ms, in double precision, without a squared copy
            r = y[k: k + n * sub].reshape(n, sub)
            self.energies.append(row_energy(r) / sub)
        self.acc = y[k + n * sub:].astype(np.float64) ** 2
        del y
        self._peaks(x)

    def _peaks(self, x: np.ndarray, final: bool = False) -> None:
        x = x.astype(np.float32, copy=False)
        if not self.oversample:  # the sample peak alone: no blocks, no context to carry
            if len(x):
                self.sample_peak = max(self.sample_peak, float(x.max()), -float(x.min()))
            self.true_peak = max(self.true_peak, self.sample_peak)
            return
        p = len(self.pending)
        usable = max(0, (p + len(x) - TAPS) // BLOCK) * BLOCK
        k = usable - p  # how much of `x` this step covers
        if not final and k >= TAPS:
            # the usual step: looked at where it lies, without joining it to what was pending (a copy of it all)
            # unless it comes near the loudest yet
            top = max(float(x[:k].max()), -float(x[:k].min()), *((float(np.abs(self.pending).max()),) if p else ()))
            if top < max(self.true_peak, self.sample_peak, top) * self.window:
                self.sample_peak = max(self.sample_peak, top)
                self.true_peak = max(self.true_peak, self.sample_peak)
                self.peak_tail = x[k - TAPS: k].copy()
                self.pending = x[k:].copy()
                return
        buf = np.concatenate([self.pending, x])
        n = len(buf) // BLOCK if not final else -(-len(buf) // BLOCK)
        if final and len(buf) % BLOCK:
            buf = np.concatenate([buf, np.zeros(n * BLOCK - len(buf), dtype=np.float32)])
        usable = n * BLOCK if final else max(0, (len(buf) - TAPS) // BLOCK) * BLOCK
        if usable <= 0:
            self.pending = buf
            return
        part = buf[:usable]
        top = max(float(part.max()), -float(part.min()))
        self.sample_peak = max(self.sample_peak, top)
        if self.oversample:
            floor = max(self.true_peak, self.sample_peak) * self.window
            # blocks are looked at only when this stretch comes near the loudest yet (on a long show, rarely)
            cand = np.nonzero(abs_block_max(part) >= floor)[0] if top >= floor else ()
            if len(cand):
                ctx = np.concatenate([self.peak_tail, buf[: usable + TAPS] if not final else
                                      np.concatenate([buf[:usable], np.zeros(TAPS, np.float32)])])
                self.true_peak = max(self.true_peak, float(interpolated_peaks(ctx, cand).max()))
        self.true_peak = max(self.true_peak, self.sample_peak)
        self.peak_tail = buf[usable - TAPS: usable].copy()
        self.pending = buf[usable:].copy()

    def result(self) -> dict:
        self._peaks(np.zeros(0, np.float32), final=True)
        e = np.concatenate(self.energies) if self.energies else np.zeros(0)
        mom = np.convolve(e, np.ones(4) / 4, "valid") if len(e) >= 4 else np.zeros(0)
        short = np.convolve(e, np.ones(30) / 30, "valid") if len(e) >= 30 else np.zeros(0)
        return {
            "integrated": _round(integrated(e)),
            "lra": _round(loudness_range(short)),
            "max_momentary": _round(_lufs(mom.max()) if len(mom) else -math.inf),
            "max_short_term": _round(_lufs(short.max()) if len(short) else -math.inf),
            "true_peak": _round(db(self.true_peak)),
            "sample_peak": _round(db(self.sample_peak)),
            "seconds": round(self.samples / self.rate, 3),
        }


def _lufs(e: float | np.ndarray):
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(e)


def _round(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 2)


def integrated(energies: np.ndarray) -> float:
    """Integrated loudness (LUFS; -inf when silent) of 100 ms mean-square energies of the K-weighted signal:
    400 ms blocks every 100 ms, gated."""
    return gated(np.convolve(energies, np.ones(4) / 4, "valid")) if len(energies) >= 4 else -math.inf


def gated(block_energies: np.ndarray) -> float:
    """Integrated loudness of 400 ms block energies: absolute gate -70 LUFS, relative gate -10 LU."""
    if len(block_energies) == 0:
        return -math.inf
    loud = _lufs(block_energies)
    e = block_energies[loud > -70]
    if len(e) == 0:
        return -math.inf
    rel = _lufs(e.mean()) - 10
    e = e[_lufs(e) > rel]
    return float(_lufs(e.mean())) if len(e) else -math.inf


def loudness_range(short_energies: np.ndarray) -> float:
    """EBU Tech 3342 loudness range of 3 s short-term energies."""
    if len(short_energies) == 0:
        return 0.0
    loud = _lufs(short_energies)
    e = short_energies[loud > -70]
    if len(e) == 0:
        return 0.0
    rel = _lufs(e.mean()) - 20
    kept = np.sort(_lufs(e[_lufs(e) > rel]))
    if len(kept) == 0:
        return 0.0
    lo, hi = np.percentile(kept, [10, 95])
    return float(hi - lo)


def measure(x: np.ndarray, rate: int) -> dict:
    m = Meter(rate)
    m.feed(x)
    return m.result()


class Limiter:
    """A lookahead true-peak limiter, streaming.

    Per block the needed gain is ceiling / true peak; a minimum filter over a hold window and a moving average
    over a shorter attack window make it smooth while never above what any sample needs, so the output's true
    peak stays under the ceiling without clipping. The output is delayed by `delay` samples; `flush` ends it.
    """

    def __init__(self, ceiling_db: float, gain_db: float = 0.0, window_db: float = 1.5, *, hold: int = 16,
                 attack: int = 6):
        self.ceiling = undb(ceiling_db)
        self.window = undb(-window_db)  # blocks this close to the ceiling are oversampled for their true peak
        self.gain = np.float32(undb(gain_db))
        self.hold, self.attack = hold, attack  # blocks each side the gain stays down; blocks it is averaged over
        self.look = (hold + attack + 2) * BLOCK
        self.buf = np.zeros(self.look, dtype=np.float32)  # the first `look` samples are history
        self.gains = np.ones(0, np.float32)  # the gain on each block of the last output, for statistics

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.empty(len(self.buf) + len(x), np.float32)  # the history and the new stretch, gained, in one copy
        buf[: len(self.buf)] = self.buf
        np.multiply(x, self.gain, out=buf[len(self.buf):], casting="unsafe")
        n_blocks = len(buf) // BLOCK
        out_blocks = n_blocks - 2 * self.look // BLOCK
        if out_blocks <= 0:
            self.buf = buf
            self.gains = np.ones(0, np.float32)
            return np.zeros(0, dtype=np.float32)
        body = buf[: n_blocks * BLOCK]
        lo = self.look // BLOCK
        seg = body[lo * BLOCK: (lo + out_blocks) * BLOCK]
        if max(float(body.max()), -float(body.min())) <= self.ceiling * self.window:
            # nothing near the ceiling, before, in or after this stretch: it passes as it is (the usual case)
            self.buf = buf[out_blocks * BLOCK:]
            self.gains = np.ones(out_blocks, np.float32)
            return seg  # a view of this step's own array, never written again: no copy
        peaks = abs_block_max(body)
        cand = np.nonzero(peaks > self.ceiling * self.window)[0]
        if len(cand):
            peaks[cand] = np.maximum(peaks[cand], _tp(body, cand))
        need = np.minimum(1.0, self.ceiling / np.maximum(peaks, 1e-12)).astype(np.float32)
        self.buf = buf[out_blocks * BLOCK:]
        self.gains = np.ones(out_blocks, np.float32)
        if need.min() >= 1.0:
            return seg
        smooth = gain_curve(need, self.hold, self.attack)
        self.gains = smooth[lo: lo + out_blocks]
        # linear between block centres, from the block before this stretch to the one after it: each sample's
        # gain lies between its block's neighbours, which are all under that block's need (HOLD > ATTACK + 1)
        gain_blocks = smooth[lo - 1: lo + out_blocks + 1]
        if gain_blocks.min() >= 1.0:
            return seg
        # block k's first half runs from centre k-1 to centre k, its second half from centre k to centre k+1
        half = BLOCK // 2
        ramp = (np.arange(BLOCK, dtype=np.float32) + 0.5) / BLOCK
        a, b = gain_blocks[:-1], gain_blocks[1:]  # centre k-1 .. k (shifted by half a block)
        g = (a[:, None] + (b - a)[:, None] * ramp[None, :]).ravel()
        g = g[half: half + out_blocks * BLOCK]
        return seg * g

    def flush(self) -> np.ndarray:
        """The delayed rest of the signal."""
        remaining = len(self.buf) - self.look
        out = self.process(np.zeros(2 * self.look + BLOCK, dtype=np.float32))
        return out[:remaining] if remaining > 0 else np.zeros(0, dtype=np.float32)


def limiter(cfg, rate: int, ceiling_db: float, gain_db: float = 0.0, window_db: float | None = None) -> Limiter:
    """A limiter with the hold and attack of `[mix.limiter]` (`cfg`) in blocks at `rate`."""
    blocks = lambda s: max(1, round(s * rate / BLOCK))  # noqa: E731
    return Limiter(ceiling_db, gain_db, cfg.window_db if window_db is None else window_db, hold=blocks(cfg.hold),
                   attack=blocks(cfg.attack))


def gain_curve(need: np.ndarray, hold: int, attack: int) -> np.ndarray:
    """Per-block limiter gain: held down around each peak, then smoothed, and never above what a block needs."""
    held = minimum_filter1d(need, 2 * hold + 1, mode="nearest")
    return np.minimum(uniform_filter1d(held, attack, mode="nearest"), need)


def _tp(body: np.ndarray, cand: np.ndarray) -> np.ndarray:
    padded = np.concatenate([np.zeros(TAPS, np.float32), body, np.zeros(TAPS, np.float32)])
    return interpolated_peaks(padded, cand)

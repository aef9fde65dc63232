"""A speech take streamed through every step in bounded chunks: memory does not depend on the take's length.

The take is decoded once into an unnamed temporary file beside the masters (float32, DC-blocked; the operating
system removes it whatever happens), and as it is decoded every 64-sample block's peak and K-weighted energy
(BS.1770's filter over the whole take) go to two small such files beside it (`Blocks`). Finding clicks, the
loudness of the kept part and the podcast copy's compressor and loudness are worked out from those blocks, a
stretch at a time with the context either side each step needs: the take itself is read again only to soften
a click, to find the exact edges to trim, and at last to mix. Between steps only values per block, per 10 ms
(trimming, ducking) or per 100 ms (loudness) and histograms are kept, beside the few MB of the stretch in hand.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from radio import takes
from radio.audio import dsp
from radio.audio.filters import butter2_highpass, sosfilt_inplace, sosfilt_zi
from radio.audio.segment import FRAME, _runs
from radio.config import Compressor, Limiter, Mix
from radio.errors import AudioError
from radio.media import need

CHUNK = 1 << 18  # samples per step (5.5 s at 48 kHz); a multiple of the 64-sample block


class Spool:
    """float32 samples in an unnamed temporary file, written and read at any position."""

    def __init__(self, where: Path):
        self.f = tempfile.TemporaryFile(dir=where, buffering=0)
        self.fd = self.f.fileno()
        self.n = 0

    def write(self, at: int, x: np.ndarray) -> None:
        data = memoryview(np.ascontiguousarray(x, dtype="<f4")).cast("B")
        done = 0
        while done < len(data):
            done += os.pwrite(self.fd, data[done:], at * 4 + done)
        self.n = max(self.n, at + len(x))

    def read(self, a: int, b: int) -> np.ndarray:
        a, b = max(0, a), min(self.n, b)
        out = np.empty(max(0, b - a), dtype="<f4")
        view = memoryview(out).cast("B")
        got = 0
        while got < len(view):
            k = os.preadv(self.fd, [view[got:]], a * 4 + got)
            if k <= 0:
                raise AudioError("a temporary file of the take was cut short", fix="check the disk and build again")
            got += k
        return out

    def close(self) -> None:
        self.f.close()


class _Clips:
    """Runs of `run` or more samples at full scale, counted across steps."""

    def __init__(self, level: float, run: int):
        self.level, self.run = level, run
        self.carry = 0
        self.count = 0

    def feed(self, x: np.ndarray) -> None:
        hot = np.abs(x) >= self.level
        if not hot.any():
            self._end()
            return
        starts, ends = _runs(hot)
        lens = ends - starts
        if starts[0] == 0:
            lens[0] += self.carry
        else:
            self._end()
        self.carry = 0
        if ends[-1] == len(x):  # still running at the end of this step
            self.carry, lens = int(lens[-1]), lens[:-1]
        self.count += int((lens >= self.run).sum())

    def _end(self) -> None:
        if self.carry >= self.run:
            self.count += 1
        self.carry = 0

    def result(self) -> int:
        self._end()
        return self.count


class _Frames:
    """Mean square of each `hop` samples, fed a step at a time (the last frame may be shorter, over `hop`)."""

    def __init__(self, hop: int):
        self.hop = hop
        self.rest = np.zeros(0, np.float32)
        self.out: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        hop = self.hop
        if len(self.rest):  # the frame begun in the last step, completed (not the whole step joined to it)
            need = hop - len(self.rest)
            if len(x) < need:
                self.rest = np.concatenate([self.rest, x])
                return
            head = np.concatenate([self.rest, x[:need]]).reshape(1, hop)
            self.out.append(dsp.row_energy(head) / hop)
            x = x[need:]
        k = len(x) // hop
        r = x[: k * hop].reshape(k, hop)
        self.out.append(dsp.row_energy(r) / hop)
        self.rest = x[k * hop:].copy()

    def result(self) -> np.ndarray:
        if len(self.rest):
            self.out.append(np.array([float(np.dot(self.rest, self.rest)) / self.hop]))
            self.rest = np.zeros(0, np.float32)
        return np.concatenate(self.out) if self.out else np.zeros(0)


class Blocks:
    """Every 64-sample block of the DC-blocked take, as it is decoded: its peak, and the sum of squares of the
    K-weighted signal (BS.1770's filter, run once over the whole take), each in a small spool of its own (a
    64th of the take's). Blocks lie on the take's own grid: block k holds samples 64k..64k+63."""

    STEP = 1 << 16  # blocks read at a time (4 M samples' worth)

    def __init__(self, where: Path, rate: int):
        self.peaks, self.energy = Spool(where), Spool(where)
        self.sos = dsp.k_weighting(rate).astype(np.float32)
        self.zi = np.zeros((2, 2), np.float32)
        self.n = 0

    def feed(self, x: np.ndarray) -> None:
        """The next stretch of the take: whole blocks, but for the very last."""
        y = np.array(x, dtype=np.float32)  # K-weighted in place: the take's own samples stay as they are
        self.zi = sosfilt_inplace(self.sos, y, self.zi)
        m = len(y) // dsp.BLOCK * dsp.BLOCK
        e = dsp.row_energy(y[:m].reshape(-1, dsp.BLOCK))
        if m < len(y):
            e = np.append(e, float(np.dot(y[m:].astype(np.float64), y[m:].astype(np.float64))))
        self.peaks.write(self.n, _block_peaks(x))
        self.energy.write(self.n, e)
        self.n += len(e)

    def soften(self, spool: Spool, b0: int, b1: int, factor: float) -> None:
        """Blocks b0..b1 were brought down by `factor` in the take: their peaks read again, their energy
        scaled (what the filter carries past them is a click's ringing, and small)."""
        b0, b1 = max(0, b0), min(self.n, b1)
        if b1 > b0:
            self.peaks.write(b0, _block_peaks(spool.read(b0 * dsp.BLOCK, b1 * dsp.BLOCK)))
            self.energy.write(b0, self.energy.read(b0, b1) * np.float32(factor * factor))

    def loudness(self, a: int, b: int, rate: int, gains: Spool | None = None, scale: float = 1.0) -> float:
        """The integrated loudness of samples a..b (LUFS, -inf if silent), from their blocks' energies, each
        times the square of its gain in `gains` (one per block from a's, as the podcast's compressor sets them)
        and of `scale`: only whole 100 ms count, as in a meter."""
        a0, a1 = a // dsp.BLOCK, -(-b // dsp.BLOCK)
        tenths = _Tenths(rate, a)
        for s in range(a0, a1, self.STEP):
            e = self.energy.read(s, min(a1, s + self.STEP)).astype(np.float64)
            if gains is not None:
                g = gains.read(s - a0, s - a0 + len(e)).astype(np.float64)
                e *= g * g
            tenths.feed(e * (scale * scale))
        return dsp.integrated(tenths.result()[: (b - a) // tenths.sub])

    def close(self) -> None:
        self.peaks.close()
        self.energy.close()


class _Tenths:
    """The mean square of every 100 ms from sample `a` on, from sums of squares of whole blocks fed in order
    from the block holding `a`: where 100 ms begins or ends inside a block, its energy is shared in proportion."""

    def __init__(self, rate: int, a: int):
        self.sub = rate // 10
        self.at = -(a % dsp.BLOCK)  # where the next block fed begins, counted from `a`
        self.acc = 0.0  # energy since the last 100 ms began
        self.started = False
        self.out: list[np.ndarray] = []

    def feed(self, e: np.ndarray) -> None:
        if not len(e):
            return
        c = np.concatenate([[0.0], np.cumsum(e)])  # at each block edge, from this step's start
        end = self.at + len(e) * dsp.BLOCK
        k0 = self.at // self.sub + 1 if self.started else 0
        p = np.arange(k0, end // self.sub + 1) * self.sub - self.at  # where each 100 ms begins, in this step
        if len(p):
            j = p // dsp.BLOCK
            v = c[j] + (p % dsp.BLOCK) / dsp.BLOCK * np.append(e, 0.0)[j]
            sums = np.diff(np.concatenate([[-self.acc], v]))
            self.out.append((sums if self.started else sums[1:]) / self.sub)
            self.started = True
            self.acc = c[-1] - v[-1]
        else:
            self.acc += c[-1]
        self.at = end

    def result(self) -> np.ndarray:
        return np.concatenate(self.out) if self.out else np.zeros(0)


def _decode(path: Path, rate: int, spool: Spool, blocks: Blocks, mix: Mix, silence_db: float, highpass: bool
            ) -> tuple[takes.Measure, int, np.ndarray]:
    """Decode `path` into `spool` a step at a time: the take gate's measurement and the clipped runs of the raw
    samples, then the DC-blocking high-pass and its `blocks`; returns those and the energy of every 10 ms of the
    filtered take. Each step's blocks are worked out and it is written by a second thread while the next step
    is read and filtered: on a long take the mix waits for this pass, and the encoder's processor is free."""
    if path.stat().st_size == 0:
        raise AudioError("the file is empty (0 bytes)", where=path, fix="record or export it again")
    proc = subprocess.Popen([need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn",
                             "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    level = takes.Level(rate, silence_db)
    clips = _Clips(mix.clip_level, mix.clip_run)
    frames = _Frames(round(FRAME * rate))
    sos = butter2_highpass(mix.highpass_hz, rate).astype(np.float32) if highpass and mix.highpass_hz > 0 else None
    zi = None
    buf = bytearray(CHUNK * 4)
    view = memoryview(buf)
    store = ThreadPoolExecutor(1)
    stored: deque[Future] = deque()  # steps handed to it, at most two waiting

    def keep(x: np.ndarray, at: int) -> None:
        blocks.feed(x)
        spool.write(at, x)
    at = 0
    try:
        while True:
            n = 0
            while n < len(buf) and (got := proc.stdout.readinto(view[n:])):  # type: ignore[union-attr]
                n += got
            if n < 4:
                break
            x = np.frombuffer(buf, dtype="<f4", count=n // 4).copy()
            level.feed(x)
            clips.feed(x)
            if sos is not None:
                if zi is None:
                    zi = (sosfilt_zi(sos) * x[0]).astype(np.float32)
                zi = sosfilt_inplace(sos, x, zi)
            frames.feed(x)
            if len(stored) >= 2:
                stored.popleft().result()
            stored.append(store.submit(keep, x, at))  # x is not touched again here
            at += len(x)
            if n < len(buf):
                break
        proc.stdout.read()  # type: ignore[union-attr]
        while stored:
            stored.popleft().result()  # what went wrong storing a step is raised here
    except BaseException:
        proc.kill()  # else it would wait for ever to write what nobody reads, and its stderr never end
        raise
    finally:
        store.shutdown(wait=True)  # nothing writes to the spools once this returns, whatever happened
        err = proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
        code = proc.wait()
    if code != 0:
        reason = (err.strip().splitlines() or ["unknown reason"])[-1]
        raise AudioError(f"ffmpeg cannot decode it: {reason}", where=path, fix="re-export it as WAV or FLAC, or replace it")
    if spool.n == 0:
        raise AudioError("it decodes to no audio (zero length)", where=path, fix="record or export it again")
    return level.result(), clips.result(), frames.result()


def _block_peaks(x: np.ndarray) -> np.ndarray:
    n = len(x) // dsp.BLOCK
    head = dsp.abs_block_max(x[: n * dsp.BLOCK]) if n else np.zeros(0, np.float32)
    if len(x) % dsp.BLOCK:
        head = np.concatenate([head, [np.abs(x[n * dsp.BLOCK:]).max()]]).astype(np.float32)
    return head


def _find_clicks(blocks: Blocks, rate: int, click_db: float, floor_db: float) -> list[tuple[int, float]]:
    """(block, factor) of every click, a stretch at a time with the context it looks at: a few blocks standing
    `click_db` above everything within 20 ms either side (a syllable or a plosive has sound on one side at least;
    a click has none) are brought down to that level."""
    nb = blocks.n
    if nb < 8:
        return []
    w = max(3, round(0.02 * rate / dsp.BLOCK))
    ctx = w + 6  # blocks either side that a block's verdict depends on
    step = CHUNK // dsp.BLOCK
    hits: list[tuple[int, float]] = []
    for s in range(0, nb, step):
        e = min(nb, s + step)
        lo, hi = max(0, s - ctx), min(nb, e + ctx)
        p = blocks.peaks.read(lo, hi)
        core = maximum_filter1d(p, 3)
        near = maximum_filter1d(p, w, mode="constant", cval=0.0)
        pad = np.zeros(w // 2 + 3, np.float32)
        padded = np.concatenate([pad, near, pad])
        k = np.arange(len(p)) + len(pad)
        around = np.maximum(padded[k - 3 - w // 2], padded[k + 3 + w // 2])
        hit = np.nonzero((p == core) & (p > around * dsp.undb(click_db)) & (p > dsp.undb(floor_db)))[0]
        for b in hit:
            if s <= lo + b < e:
                hits.append((lo + int(b), float(max(around[b], 1e-6) / max(core[b], 1e-12))))
    return hits


def _soften(spool: Spool, blocks: Blocks, hits: list[tuple[int, float]], frames: np.ndarray, hop: int) -> None:
    """Bring every click down in the spool, and measure its blocks and 10 ms frames again."""
    for b, factor in hits:
        a, e = max(0, (b - 1) * dsp.BLOCK), min(spool.n, (b + 2) * dsp.BLOCK)
        spool.write(a, spool.read(a, e) * np.float32(factor))
        blocks.soften(spool, b - 1, b + 2, factor)
    for f in sorted({f for b, _ in hits for f in range(max(0, b - 1) * dsp.BLOCK // hop,
                                                        min(len(frames) - 1, (b + 2) * dsp.BLOCK // hop) + 1)}):
        x = spool.read(f * hop, (f + 1) * hop)
        frames[f] = float(np.dot(x, x)) / hop


def _trim(spool: Spool, frames: np.ndarray, rate: int, silence_db: float, keep_s: float, click_max: float,
          digital_db: float) -> tuple[int, int, list[float]]:
    """Where to cut dead air beyond `keep_s` at the head and tail, from the 10 ms energies (as segment.trim): sound
    shorter than `click_max` with silence around it is not the voice, and digital silence at the very edges goes
    too. Only the edges of the kept part are read."""
    n = spool.n
    starts, ends = _runs(frames > dsp.undb(silence_db) ** 2)
    if len(starts) == 0:
        return 0, n, []
    real = np.nonzero(~((ends - starts) * FRAME < click_max))[0]
    if len(real) == 0:
        return 0, n, []
    first, last = real[0], real[-1]
    skipped = [round(s * FRAME, 2) for s in starts[:first]] + [round(s * FRAME, 2) for s in starts[last + 1:]]
    hop = round(FRAME * rate)
    keep = round(keep_s * rate)
    a = max(0, int(starts[first]) * hop - keep)
    b = min(n, int(ends[last]) * hop + keep)
    floor = dsp.undb(digital_db)
    near = keep + 2 * hop
    head = np.flatnonzero(np.abs(spool.read(a, min(b, a + near))) > floor)
    t0 = max(a, b - near)
    tail = np.flatnonzero(np.abs(spool.read(t0, b)) > floor)
    if len(head) and len(tail):
        zeros_after = b - t0 - 1 - int(tail[-1])
        a += int(head[0]) // hop * hop
        b -= zeros_after // hop * hop
    return a, b, skipped


def compress_gains(peaks: np.ndarray, rate: int, c: Compressor, target_lufs: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gentle speech compression on block peaks of a take at `target_lufs`: the detector follows the peaks over
    `c.window` with a soft knee at `target + c.threshold`; the reduction is held for the attack and eased over the
    release, centred, so the gain is down before a loud syllable begins. Returns the gain per block, the
    reduction (dB) and the detector's level."""
    blk = dsp.BLOCK
    env = maximum_filter1d(peaks, max(1, round(c.window * rate / blk)))
    level = 20 * np.log10(np.maximum(env, 1e-9))
    over = level - (target_lufs + c.threshold)
    slope = 1 - 1 / c.ratio
    k = c.knee / 2
    gr = np.where(over <= -k, 0.0, np.where(over >= k, over * slope, slope * (over + k) ** 2 / (2 * c.knee or 1)))
    gr = np.minimum(gr, c.max_gr).astype(np.float32)
    held = maximum_filter1d(gr, 2 * max(1, round(c.attack * rate / blk)) + 1)
    smooth = uniform_filter1d(held, max(1, round(c.release * rate / blk)))
    smooth = np.maximum(smooth, uniform_filter1d(held, max(1, round(c.attack * rate / blk))))
    return (10 ** (-smooth / 20)).astype(np.float32), smooth, level


def _edges(g: np.ndarray, b0: int, b1: int) -> np.ndarray:
    """The gains of blocks b0..b1 of `g` with the block either side (or the end block again)."""
    return np.concatenate([g[b0 - 1: b0] if b0 else g[:1], g[b0:b1], g[b1: b1 + 1] if b1 < len(g) else g[-1:]])


def _per_sample(g: np.ndarray, b0: int, b1: int, n: int) -> np.ndarray:
    """The gains of blocks b0..b1 of `g` as `n` samples: linear between block centres (as the limiter), each
    block's first half from the centre before."""
    return _ramp(_edges(g, b0, b1), n)


def _ramp(edge: np.ndarray, n: int) -> np.ndarray:
    """`n` samples of gain from block gains with a block either side (`_edges`)."""
    ramp = (np.arange(dsp.BLOCK, dtype=np.float32) + 0.5) / dsp.BLOCK
    a_, b_ = edge[:-1], edge[1:]
    g = np.multiply.outer(b_ - a_, ramp)  # in place from here: one array of the step's length, no temporaries
    g += a_[:, None]
    return g.ravel()[dsp.BLOCK // 2: dsp.BLOCK // 2 + n]


def excerpt(path: Path, rate: int, seconds: float, duration_ms: int, target_lufs: float, mix: Mix
            ) -> np.ndarray | None:
    """Up to `seconds` from the middle of a recording, made as its podcast copy will be (DC-blocked, at
    `target_lufs`, compressed, back at `target_lufs`), decoded on its own: what the encoder's effect on this voice
    is measured on, before the whole take is ready. None if it does not decode (preparing the take says why)."""
    start = max(0.0, (duration_ms / 1000 - seconds) / 2)
    try:
        raw = subprocess.run([need("ffmpeg"), "-nostdin", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{seconds:g}",
                              "-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le",
                              "-"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError, AudioError):
        return None
    x = np.frombuffer(raw, dtype="<f4", count=len(raw) // 4).copy()
    if len(x) < dsp.BLOCK:
        return None
    if mix.highpass_hz > 0:
        sos = butter2_highpass(mix.highpass_hz, rate).astype(np.float32)
        sosfilt_inplace(sos, x, (sosfilt_zi(sos) * x[0]).astype(np.float32))

    def level(y: np.ndarray) -> np.ndarray:
        m = dsp.Meter(rate, true_peak=False)
        m.feed(y)
        got = m.result()["integrated"]
        return y if got is None else y * np.float32(dsp.undb(target_lufs - got))
    x = level(x)
    g = compress_gains(_block_peaks(x), rate, mix.compressor, target_lufs)[0]
    return level(x * _per_sample(g, 0, len(g), len(x)))


def _context(rate: int, c: Compressor) -> int:
    """Blocks either side a block's compressor gain depends on."""
    blocks = lambda s: max(1, round(s * rate / dsp.BLOCK))  # noqa: E731
    return blocks(c.window) // 2 + blocks(c.attack) + blocks(c.release) // 2 + blocks(c.attack) // 2 + 4


class _Histogram:
    """dB values in 0.01 dB steps: a median or a percentile without keeping the values."""

    def __init__(self):
        self.h = np.zeros(3001, np.int64)

    def add(self, v: np.ndarray) -> None:
        if len(v):
            self.h += np.bincount(np.clip(np.round(np.asarray(v, np.float64) * 100), 0, 3000).astype(np.int64),
                                  minlength=3001)

    def quantile(self, q: float) -> float | None:
        n = int(self.h.sum())
        if n == 0:
            return None
        return float(np.searchsorted(np.cumsum(self.h), q * n)) / 100


@dataclass
class Take:
    """A speech take ready to splice, read from its spool: `onair()` and `podcast()` give its samples a stretch
    at a time, `duck(a, b)` the gain of a bed under samples a..b of it."""
    rate: int
    spool: Spool
    a: int  # the kept part of the spool
    b: int
    gain: float  # linear, to the speech target
    fade: int  # samples of fade at each end
    ducks: np.ndarray  # a bed's gain under each 10 ms of the take
    loudness: dict
    gain_db: float
    warnings: list[str] = field(default_factory=list)
    pod: Spool | None = None  # the podcast's copy where its peaks had to be held, before `pod_gain`
    pod_gains: Spool | None = None  # else the compressor's gain per block of the take, from the block holding `a`
    pod_gain: float = 1.0
    dynamics: dict | None = None
    stats: dict = field(default_factory=dict)  # what was done to the recording, for the audio report

    @property
    def n(self) -> int:
        return self.b - self.a

    @property
    def has_podcast(self) -> bool:
        return self.pod is not None or self.pod_gains is not None

    def base(self, s: int, e: int) -> np.ndarray:
        """Samples s..e of the take as it airs: levelled, faded at the ends."""
        s, e = max(0, s), min(self.n, e)
        x = self.spool.read(self.a + s, self.a + e)
        x *= np.float32(self.gain)
        f = min(self.n // 2, self.fade)
        if f and s < f:
            ramp = np.sin(np.linspace(0, np.pi / 2, f, dtype=np.float32)) ** 2
            m = min(f, e) - s
            x[:m] *= ramp[s: s + m]
        if f and e > self.n - f:
            ramp = (np.sin(np.linspace(0, np.pi / 2, f, dtype=np.float32)) ** 2)[::-1]
            k = max(s, self.n - f)
            x[k - s:] *= ramp[k - (self.n - f): e - (self.n - f)]
        return x

    def onair(self) -> Iterator[np.ndarray]:
        for s in range(0, self.n, CHUNK):
            yield self.base(s, s + CHUNK)

    def compressed(self, s: int) -> np.ndarray:
        """The CHUNK of the podcast's copy from `s`, made from the take and the compressor's gains (cheaper than
        writing and reading the copy): linear between block centres, as the limiter."""
        assert self.pod_gains is not None
        x = self.base(s, s + CHUNK)
        at = self.a + s
        a0, a1 = self.a // dsp.BLOCK, -(-self.b // dsp.BLOCK)
        b0, b1 = at // dsp.BLOCK - 1, (at + len(x) - 1) // dsp.BLOCK + 2  # the blocks under it, one either side
        g = self.pod_gains.read(max(a0, b0) - a0, min(a1, b1) - a0)
        edge = np.concatenate([g[:1]] * (max(a0, b0) - b0) + [g] + [g[-1:]] * (b1 - min(a1, b1)))
        off = at % dsp.BLOCK
        return x * _ramp(edge, off + len(x))[off:]

    def podcast(self) -> Iterator[np.ndarray]:
        if self.pod is None and self.pod_gains is None:
            yield from self.onair()
            return
        for s in range(0, self.n, CHUNK):
            x = self.pod.read(s, s + CHUNK) if self.pod is not None else self.compressed(s)
            yield x * np.float32(self.pod_gain)

    def duck(self, s: int, e: int) -> np.ndarray:
        hop = self.rate // 100
        if len(self.ducks) == 0 or e <= s:
            return np.ones(max(0, e - s), np.float32)
        i0 = s // hop
        g = self.ducks[np.minimum(np.arange(i0, (e - 1) // hop + 1), len(self.ducks) - 1)]  # per 10 ms
        return np.repeat(g, hop)[s - i0 * hop: e - i0 * hop]

    def close(self) -> None:
        self.spool.close()
        for extra in (self.pod, self.pod_gains):
            if extra is not None:
                extra.close()


def _ducks(energies: np.ndarray, gain: float, silence_db: float, duck_db: float, ramp_s: float) -> np.ndarray:
    """A bed's gain under each 10 ms of the take (energies before `gain`): `duck_db` where the voice speaks, 0 dB
    in its pauses (bridging the gaps between words), moving over `ramp_s`."""
    if len(energies) == 0:
        return np.ones(0, np.float32)
    active = (energies * gain * gain > dsp.undb(silence_db) ** 2).astype(np.float32)
    active = maximum_filter1d(active, 2 * 30 + 1)
    smooth = uniform_filter1d(active, max(1, round(ramp_s * 100)))
    return (10 ** (smooth * duck_db / 20)).astype(np.float32)


def prepare(path: Path, rate: int, target_lufs: float, where: Path, *, silence_db: float, keep_s: float, mix: Mix,
            duck_db: float, duck_ramp: float, name: str, allow_clipped: bool, podcast_peak_db: float | None,
            synthetic: bool, gate=None) -> Take:
    """A take made ready to splice, streamed: counted for clipping (and held to the take gate: `gate(measure)`),
    DC-blocked, clicks softened (not in a `synthetic` take, an espeak-ng draft, whose sharp onsets are the
    voice), trimmed, levelled, faded; and a compressed copy for the podcast at the same loudness with its peaks
    held under `podcast_peak_db` (None: on air only)."""
    spool = Spool(where)
    blocks = Blocks(where, rate)
    try:
        return _prepare(spool, blocks, path, rate, target_lufs, where, silence_db=silence_db, keep_s=keep_s,
                        mix=mix, duck_db=duck_db, duck_ramp=duck_ramp, name=name, allow_clipped=allow_clipped,
                        podcast_peak_db=podcast_peak_db, synthetic=synthetic, gate=gate)
    except BaseException:
        spool.close()
        raise
    finally:
        blocks.close()


def _prepare(spool: Spool, blocks: Blocks, path: Path, rate: int, target_lufs: float, where: Path, *,
             silence_db: float, keep_s: float, mix: Mix, duck_db: float, duck_ramp: float, name: str,
             allow_clipped: bool, podcast_peak_db: float | None, synthetic: bool, gate) -> Take:
    measure, clips, frames = _decode(path, rate, spool, blocks, mix, silence_db, highpass=True)
    if gate is not None:
        gate(measure)
    warnings = []
    if clips and not allow_clipped:
        raise AudioError(f"{name}: the recording clips in {clips} places", fix="record it again at a lower level, "
                         "or pass --allow-clipped to air it as it is")
    if clips:
        warnings.append(f"{name}: the recording clips in {clips} places (aired as it is: --allow-clipped)")
    hop = round(FRAME * rate)
    hits = [] if synthetic else _find_clicks(blocks, rate, mix.click_db, silence_db)
    _soften(spool, blocks, hits, frames, hop)
    clicks = [round(b * dsp.BLOCK / rate, 3) for b, _ in hits]
    a, b, skipped = _trim(spool, frames, rate, silence_db, keep_s, mix.click_max, mix.digital_floor_db)
    kept = range(a, b)
    cut = sorted({t for t in clicks + skipped if round(t * rate) not in kept})
    if cut:
        warnings.append(f"{name}: trimming went past {'a click' if len(cut) == 1 else f'{len(cut)} clicks'} in "
                        f"the dead air (at {', '.join(f'{t:.2f} s' for t in cut)})")
    inside = [t for t in clicks if round(t * rate) in kept]
    if inside:
        warnings.append(f"{name}: softened {len(inside)} click{'s' if len(inside) > 1 else ''} in the recording "
                        f"(at {', '.join(f'{t:.2f} s' for t in inside[:5])}{' …' if len(inside) > 5 else ''})")
    before = dsp._round(blocks.loudness(a, b, rate))
    duck = _kept_frames(spool, frames, hop, a, b) if hop == rate // 100 else None
    del frames
    if duck is None:  # a rate whose 10 ms is not a whole number of samples: read again
        frames10 = _Frames(rate // 100)
        for s in range(a, b, CHUNK):
            frames10.feed(spool.read(s, min(b, s + CHUNK)))
        duck = frames10.result()
    take = Take(rate, spool, a, b, 1.0, round(mix.edge_fade * rate), np.ones(0, np.float32),
                {"integrated_before": before}, 0.0, warnings)
    take.stats = {"clicks": len(inside), "clipped": clips, "cut_s": round((spool.n - (b - a)) / rate, 2)}
    if before is None:
        warnings.append(f"{name}: the recording is silent (check the microphone and the file)")
        take.ducks = _ducks(duck, 1.0, silence_db, duck_db, duck_ramp)
        return take
    gain_db = target_lufs - before
    take.gain = dsp.undb(gain_db)
    take.ducks = _ducks(duck, take.gain, silence_db, duck_db, duck_ramp)
    take.loudness = {"integrated_before": before, "gain_db": round(gain_db, 2)}
    take.gain_db = round(gain_db, 2)
    if podcast_peak_db is not None:
        _podcast(take, blocks, mix.compressor, mix.limiter, target_lufs, podcast_peak_db, where)
    return take


def _kept_frames(spool: Spool, frames: np.ndarray, hop: int, a: int, b: int) -> np.ndarray | None:
    """The energy of every 10 ms of samples a..b, from the take's own 10 ms frames where a lies on their grid
    (the last, shorter one read again); None where it does not."""
    if a % hop:
        return None
    k = (b - a) // hop
    out = frames[a // hop: a // hop + k]
    if (b - a) % hop:
        x = spool.read(a + k * hop, b).astype(np.float64)
        out = np.append(out, float(np.dot(x, x)) / hop)
    return out


def _podcast(take: Take, blocks: Blocks, c: Compressor, lim_cfg: Limiter, target_lufs: float, peak_db: float,
             where: Path) -> None:
    """The podcast's copy: compressed, brought to `target_lufs`, and while its peaks pass `peak_db` (where they
    would meet the podcast's ceiling once the master is lifted to its target), limited under it and brought back
    (at most twice). The master's limiter then has almost nothing left to do, so speech and music keep their
    balance. The compressor works on the take's block peaks, and its copy's loudness and peak are worked out
    from the blocks under their gains (the K-weighted energy of each block times its gain squared; the peak
    times the most gain the block sees): the take is not read for it. Only the compressor's gains are kept,
    unless the peaks had to be held: then the held copy is written, and measured, in a spool of its own."""
    rate, n = take.rate, take.n
    a0, a1 = take.a // dsp.BLOCK, -(-take.b // dsp.BLOCK)
    ctx = _context(rate, c)
    gains = take.pod_gains = Spool(where)  # closed with the take
    comp = _Histogram()
    top = 0.0
    for s in range(a0, a1, Blocks.STEP):
        e = min(a1, s + Blocks.STEP)
        lo, hi = max(a0, s - ctx), min(a1, e + ctx)
        peaks = blocks.peaks.read(lo, hi) * np.float32(take.gain)
        g, smooth, level = compress_gains(peaks, rate, c, target_lufs)
        mine = slice(s - lo, e - lo)
        gains.write(s - a0, g[mine])
        speaking = level[mine] > target_lufs - 10
        comp.add(smooth[mine][speaking])
        # between block centres the gain moves to its neighbours': a block sees at most the largest of the three
        top = max(top, float((peaks[mine] * maximum_filter1d(g, 3, mode="nearest")[mine]).max()))
    got, peak = blocks.loudness(take.a, take.b, rate, gains, take.gain), top
    limited = _Histogram()
    scale = 1.0
    for _ in range(2):
        if not math.isfinite(got):
            break
        scale = dsp.undb(target_lufs - got)
        if dsp.db(peak * scale) <= peak_db:
            break
        lim = dsp.limiter(lim_cfg, rate, peak_db)
        meter = dsp.Meter(rate, true_peak=False)
        held, take.pod = take.pod, take.pod or Spool(where)  # read from the held copy if there is one yet
        at = 0
        for s in range(0, n, CHUNK):
            out = lim.process((held.read(s, s + CHUNK) if held is not None else take.compressed(s)) * np.float32(scale))
            take.pod.write(at, out)  # the output lags the input: written over what has been read
            at += len(out)
            meter.feed(out)
            limited.add(-20 * np.log10(np.maximum(lim.gains, 1e-6)))
        out = lim.flush()[: n - at]
        take.pod.write(at, out)
        meter.feed(out)
        limited.add(-20 * np.log10(np.maximum(lim.gains, 1e-6)))
        m = meter.result()
        got = -math.inf if m["integrated"] is None else m["integrated"]
        peak = dsp.undb(m["sample_peak"]) if m["sample_peak"] is not None else 0.0
        scale = 1.0
    else:
        if math.isfinite(got):
            scale = dsp.undb(target_lufs - got)
    take.pod_gain = scale
    take.dynamics = {"compressor_median_db": round(comp.quantile(0.5) or 0.0, 1),
                     "peak_limiter_p95_db": round(limited.quantile(0.95) or 0.0, 1)}


class Held:
    """A short sound held whole (a station sound), with the same face as a Take."""

    def __init__(self, audio: np.ndarray, podcast: np.ndarray | None = None):
        self.audio, self.pod = audio, podcast
        self.warnings: list[str] = []
        self.dynamics: dict | None = None
        self.stats: dict = {}
        self.gain_db = 0.0

    @property
    def n(self) -> int:
        return len(self.audio)

    @property
    def has_podcast(self) -> bool:
        return self.pod is not None

    def onair(self) -> Iterator[np.ndarray]:
        yield self.audio

    def podcast(self) -> Iterator[np.ndarray]:
        yield self.audio if self.pod is None else self.pod

    def duck(self, s: int, e: int) -> np.ndarray:
        return np.ones(max(0, e - s), np.float32)

    def close(self) -> None:
        pass


class Looped(Held):
    """A bed `n` samples long: `loop` repeated, faded in and out over `fade` samples, made as it is mixed."""

    def __init__(self, loop: np.ndarray, n: int, fade: int):
        super().__init__(loop)
        self.loop, self.length, self.fade = loop, n, fade

    @property
    def n(self) -> int:
        return self.length

    def onair(self) -> Iterator[np.ndarray]:
        from radio.audio.segment import loop_to
        n, a, b = self.length, min(self.length, self.fade), min(self.length, self.fade)
        for k in range(0, n, CHUNK):
            m = min(CHUNK, n - k)
            x = loop_to(self.loop, m, k).astype(np.float32, copy=True)
            pos = np.arange(k, k + m)
            if a and k < a:  # as segment.fade: a straight line in, a straight line out
                i = pos < a
                x[i] *= (pos[i] / max(a - 1, 1)).astype(np.float32)
            if b and k + m > n - b:
                i = pos >= n - b
                x[i] *= (1 - (pos[i] - (n - b)) / max(b - 1, 1)).astype(np.float32)
            yield x

    podcast = onair

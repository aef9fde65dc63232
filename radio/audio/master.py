"""The masters, made as the mix comes: each timeline's samples go through their gain and a true-peak limiter
straight into the writer (the on-air WAV) or the encoder (the podcast MP3), and are measured as listeners get
them, as a whole and item by item.

Speech is mixed at the on-air target, so the on-air master needs no gain and the podcast the difference of the
two targets: both are set before the first sample, and the MP3 encoder starts with the mix instead of after
it. A master that still strays (loud station sounds, a long filler) is put right afterwards: the on-air WAV is
re-gained from itself, the podcast mixed and encoded again.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from radio import fsutil, media
from radio.audio import dsp, wav
from radio.audio.encode import CHUNK, Encoder, Measured, as_heard, layout, mono_mix
from radio.config import Loudness
from radio.station import Station
from radio.errors import warn

Spans = list[tuple[str, int, int]]


class Reduction:
    """How much the limiter takes over speech: a histogram in 0.1 dB steps, and each item's most and mean. Spans
    are added as items are placed, always before the limiter's output reaches them."""

    STEPS = 400

    def __init__(self):
        self.spans: list[tuple[str, int, int]] = []
        self.hist = np.zeros(self.STEPS + 1, np.int64)
        self.items: dict[str, list[float]] = {}  # id: [most, sum, blocks]

    def add(self, item_id: str, a: int, b: int) -> None:
        self.spans.append((item_id, a, b))
        self.items.setdefault(item_id, [0.0, 0.0, 0])

    def feed(self, at: int, gains: np.ndarray) -> None:
        end = at + len(gains) * dsp.BLOCK
        near = [(i, a, b) for i, a, b in self.spans if b > at and a < end]
        if not len(gains) or not near:
            return
        pos = at + np.arange(len(gains)) * dsp.BLOCK
        inside = np.zeros(len(gains), bool)
        for i, a, b in near:
            mine = (pos >= a) & (pos < b)
            if mine.any():
                gr = -20 * np.log10(np.maximum(gains[mine], 1e-6))
                acc = self.items[i]
                acc[0], acc[1], acc[2] = max(acc[0], float(gr.max())), acc[1] + float(gr.sum()), acc[2] + len(gr)
            inside |= mine
        if inside.any():
            gr = -20 * np.log10(np.maximum(gains[inside], 1e-6))
            self.hist += np.bincount(np.minimum(np.round(gr * 10).astype(np.int64), self.STEPS),
                                     minlength=self.STEPS + 1)

    def result(self) -> dict:
        items = {i: {"max_db": round(v[0], 1), "mean_db": round(v[1] / v[2], 2) if v[2] else 0.0}
                 for i, v in self.items.items()}
        n = int(self.hist.sum())
        if n == 0:
            return {"median_db": 0.0, "p95_db": 0.0, "over_3db": 0.0, "items": items}
        cum = np.cumsum(self.hist) / n
        q = lambda p: round(float(np.searchsorted(cum, p)) / 10, 1)  # noqa: E731
        return {"median_db": q(0.5), "p95_db": q(0.95), "over_3db": round(float(self.hist[31:].sum()) / n, 4),
                "items": items}


class Chain:
    """One master as the mix is flushed into it: gain and the limiter, then `out` (a writer, an encoder)."""

    def __init__(self, station: Station, gain_db: float | None, ceiling_db: float,
                 out: Callable[[np.ndarray], None], *, podcast: bool):
        self.station, self.podcast = station, podcast
        self.gain_db, self.ceiling_db = 0.0, ceiling_db
        self.limiter: dsp.Limiter | None = None
        self.waiting: list[np.ndarray] = []  # what came before the gain was known
        self.out = out
        self.reduction = Reduction()
        self.pos = 0
        self.places: list[Callable[[str, int, int, bool], None]] = []
        if gain_db is not None:
            self.settle(gain_db)

    def settle(self, gain_db: float) -> None:
        """Set the gain (if it was left open) and pass on what waited for it."""
        if self.limiter is not None:
            return
        lim = self.station.config.mix.limiter
        self.gain_db = gain_db
        self.limiter = dsp.limiter(lim, self.station.config.audio.sample_rate, self.ceiling_db, gain_db,
                                   lim.podcast_window_db if self.podcast else lim.window_db)
        waiting, self.waiting = self.waiting, []
        for x in waiting:
            self.feed(x)

    def place(self, item_id: str, a: int, b: int, speech: bool) -> None:
        """An item now lies at a..b: its span is measured, and the limiter's work over it counted if speech."""
        if speech:
            self.reduction.add(item_id, a, b)
        for f in self.places:
            f(item_id, a, b, speech)

    def feed(self, x: np.ndarray) -> None:
        if self.limiter is None:
            self.waiting.append(x.copy())
            return
        y = self.limiter.process(x)
        self.reduction.feed(self.pos, self.limiter.gains)
        self.pos += len(y)
        self.out(y)

    def close(self) -> None:
        self.settle(self.gain_db)
        assert self.limiter is not None
        y = self.limiter.flush()
        self.reduction.feed(self.pos, self.limiter.gains[: -(-len(y) // dsp.BLOCK)])
        self.pos += len(y)
        self.out(y)


class OnAir:
    """The on-air master: a 24-bit WAV written and metered as it comes."""

    def __init__(self, station: Station, path: Path, gain_db: float, ceiling_db: float):
        rate = station.config.audio.sample_rate
        self.path = path
        self.f = open(path, "wb")
        self.writer = wav.WavWriter(self.f, rate)
        self.measured = Measured(rate, station.config.loudness.true_peak_window)
        self.chain = Chain(station, gain_db, ceiling_db, self._out, podcast=False)
        self.chain.places.append(lambda i, a, b, s: self.measured.spans.add(i, a, b))

    def _out(self, y: np.ndarray) -> None:
        self.measured.feed(y)
        self.writer.write(y)

    def close(self) -> dict:
        self.chain.close()
        self.writer.close()
        self.f.close()
        return {**self.measured.result(), "limiter": self.chain.reduction.result()}

    def abort(self) -> None:
        self.f.close()


class Podcast:
    """The podcast master: limited into ffmpeg's MP3 encoder, and measured from the MP3 as it is written."""

    def __init__(self, station: Station, path: Path, gain_db: float | None, ceiling_db: float):
        cfg = station.config
        rate = cfg.audio.sample_rate
        self.station = station
        # the MP3 itself is measured; its ceiling is a full dB below the limit, so a narrower true-peak window
        self.measured = Measured(rate, cfg.mix.limiter.podcast_window_db)
        self.encoder = Encoder(path, rate, cfg.podcast.bitrate, channels=cfg.podcast.channels)
        self.chain = Chain(station, gain_db, ceiling_db, self.encoder.write, podcast=True)
        self.chain.places.append(lambda i, a, b, s: self.measured.spans.add(i, a, b))

    def follow(self) -> None:
        """Start measuring the MP3 as it is written."""
        self.encoder.follow(self.measured)

    def gain(self, nominal_db: float, take: np.ndarray | None) -> float:
        """The podcast's gain from an excerpt of its first speech take: `nominal_db`, less what the encoder
        itself does to the loudness of this voice at that level (LAME leaves out what it judges inaudible, and
        breath, room and noise lose more than tone). Any thread may ask: it only reads."""
        return nominal_db - encoder_offset(self.station, take, nominal_db, self.chain.ceiling_db) \
            if take is not None else nominal_db

    def settle(self, gain_db: float) -> None:
        """Set the podcast's gain, and pass on what waited for it."""
        if self.chain.limiter is None:
            self.chain.settle(gain_db)

    def close(self) -> dict:
        self.chain.close()
        self.encoder.close()
        m = as_heard(self.encoder.measured(), self.station.config.podcast.channels)
        return {**m, "channels": self.station.config.podcast.channels, "limiter": self.chain.reduction.result()}

    def abort(self) -> None:
        self.encoder.abort()


T = TypeVar("T")


def behind_encoder(work: Callable[[], T], stop: Callable[[], None]) -> T:
    """Run `work` in a thread that yields the processor to the MP3 encoder started before it.

    The encoder is the one part of a build that cannot be split or skipped: every other step (decoding and
    preparing takes, mixing, the on-air master, measuring the MP3) keeps ahead of it with time to spare, but
    competes with it for the processor. This thread, and every thread and process it starts, runs at a lower
    priority, so the encoder runs whenever it has samples and the rest fills the time around it. An interrupt
    (Ctrl-C) calls `stop`, which must make `work` fail soon, and is raised again once it has."""
    box: dict = {}

    def run() -> None:
        lower()
        try:
            box["value"] = work()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e
    t = threading.Thread(target=run, name="radio-mix")
    t.start()
    try:
        while t.is_alive():
            t.join(0.25)  # in short waits: an interrupt reaches this thread at once
    except BaseException:
        stop()
        t.join()
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


BEHIND = 10  # nice levels under the encoder: about a tenth of its share of the processor each


def lower() -> None:
    """Put the calling thread (and what it starts) BEHIND the encoder."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + BEHIND)  # this thread only
    except (AttributeError, OSError):
        pass  # no priorities here: the same work, shared evenly


class Discard:
    """A timeline nobody listens to this time (the on-air one while the podcast alone is made again)."""

    def __init__(self):
        self.chain = self

    def place(self, *a) -> None:
        pass

    def feed(self, x: np.ndarray) -> None:
        pass


PROBE_S = 20  # seconds of the first take the encoder's effect is measured on


def encoder_offset(station: Station, take: np.ndarray, gain_db: float, ceiling_db: float) -> float:
    """How much the MP3 encoder moves the loudness of `take` at `gain_db`: up to PROBE_S seconds from its
    middle, limited as the master will be, measured before and after encoding."""
    cfg = station.config
    rate = cfg.audio.sample_rate
    n = min(len(take), PROBE_S * rate)
    if n < 2 * rate:
        return 0.0
    a = (len(take) - n) // 2
    lim = dsp.limiter(cfg.mix.limiter, rate, ceiling_db, gain_db, cfg.mix.limiter.podcast_window_db)
    x = np.concatenate([lim.process(take[a: a + n]), lim.flush()])
    before = dsp.measure(x, rate)["integrated"]
    after = encoded_loudness(x, rate, cfg.podcast.bitrate, cfg.podcast.channels)
    return 0.0 if before is None or after is None else round(after - before, 3)


def encoded_loudness(x: np.ndarray, rate: int, bitrate: int, channels: str = "mono") -> float | None:
    """The integrated loudness of `x` once encoded as the podcast is and decoded again (all through pipes)."""
    enc = subprocess.run([media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac",
                          "1", "-i", "-", *layout(channels), "-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-f", "mp3", "-"],
                         input=x.astype("<f4").tobytes(), capture_output=True, check=True).stdout
    dec = subprocess.run([media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "mp3", "-i", "-", *mono_mix(channels),
                          "-ar", str(rate), "-f", "f32le", "-"], input=enc, capture_output=True, check=True).stdout
    return dsp.measure(np.frombuffer(dec[: len(dec) // 4 * 4], dtype="<f4"), rate)["integrated"]


def ceilings(L: Loudness) -> tuple[float, float]:
    return L.onair_true_peak - L.onair_ceiling_margin, L.podcast_true_peak - L.podcast_ceiling_margin


def regain(station: Station, src: Path, dst: Path, gain_db: float, ceiling_db: float, spans: Spans,
           speech: frozenset[str] = frozenset()) -> dict:
    """The on-air WAV `src` again at `gain_db` more, limited, measured and written to `dst`: a master that
    strayed from its target is put right from itself (24-bit samples: nothing audible is lost), not mixed
    again."""
    rate = station.config.audio.sample_rate
    with open(dst, "wb") as f:
        w = wav.WavWriter(f, rate)
        measured = Measured(rate, station.config.loudness.true_peak_window)
        for sid, a, b in spans:
            measured.spans.add(sid, a, b)

        def out(y: np.ndarray) -> None:
            measured.feed(y)
            w.write(y)
        chain = Chain(station, gain_db, ceiling_db, out, podcast=False)
        for sid, a, b in spans:
            if sid in speech:
                chain.reduction.add(sid, a, b)
        for x in wav.read_pcm24(src, CHUNK):
            chain.feed(x)
        chain.close()
        w.close()
    return {**measured.result(), "limiter": chain.reduction.result()}


def _status(m: dict, target: float, tol: float, tp_max: float) -> dict:
    ok = m["integrated"] is not None and abs(m["integrated"] - target) <= tol and \
        (m["true_peak"] is None or m["true_peak"] <= tp_max)
    return {**m, "target": target, "tolerance": tol, "true_peak_max": tp_max, "ok": ok}


@dataclass
class Masters:
    onair: dict
    podcast: dict
    onair_tmp: Path
    podcast_tmp: Path


def finish(station: Station, out: Path, temps: list[Path], on: OnAir, pod: Podcast, spans_on: Spans,
           remix: Callable[[float, float], dict], speech: frozenset[str] = frozenset()) -> Masters:
    """Close both masters and put right one that strayed: the on-air WAV re-gained while it is more than `aim`
    off its target (at most twice), the podcast mixed and encoded again (`remix(gain, ceiling)`) while it is
    outside its tolerance or over its peak limit (at most twice)."""
    L: Loudness = station.config.loudness
    m_on = on.close()
    m_pod = pod.close()
    g_on, g_pod = on.chain.gain_db, pod.chain.gain_db
    ceil_on, ceil_pod = ceilings(L)
    wav_tmp = on.path
    for _ in range(2):
        if m_on["integrated"] is None or abs(m_on["integrated"] - L.onair_lufs) <= L.aim:
            break
        step = L.onair_lufs - m_on["integrated"]
        again = fsutil.temp_path(out / "onair.wav")
        temps.append(again)
        m_on = regain(station, wav_tmp, again, step, ceil_on, spans_on, speech)
        os.replace(again, wav_tmp)
        g_on += step
    seen: tuple[float, float] | None = None  # the gain and loudness of the try before, for the limiter's slope
    for _ in range(2):
        got = m_pod["integrated"]
        level_ok = got is None or abs(got - L.podcast_lufs) <= L.podcast_tolerance
        peak_ok = m_pod["true_peak"] is None or m_pod["true_peak"] <= L.podcast_true_peak - 0.1
        if level_ok and peak_ok:
            break
        if got is not None:
            # where the limiter is working, a dB more gain gives less than a dB more loudness
            slope = min(1.0, max(0.1, (got - seen[1]) / (g_pod - seen[0]))) if seen and g_pod != seen[0] else 1.0
            seen = (g_pod, got)
            g_pod += (L.podcast_lufs - got) / slope
        if not peak_ok:
            ceil_pod -= m_pod["true_peak"] - (L.podcast_true_peak - 0.3)
        m_pod = remix(g_pod, ceil_pod)
    m_on = _status(m_on, L.onair_lufs, L.onair_tolerance, L.onair_true_peak)
    m_pod = _status(m_pod, L.podcast_lufs, L.podcast_tolerance, L.podcast_true_peak)
    for name, m in (("on-air", m_on), ("podcast", m_pod)):
        if not m["ok"]:
            warn(f"the {name} master measures {m['integrated']} LUFS, {m['true_peak']} dBTP: outside its target")
    return Masters({**m_on, "gain_db": round(g_on, 2)}, {**m_pod, "gain_db": round(g_pod, 2)}, wav_tmp,
                   pod.encoder.path)

"""Pass 2, the masters: each raw timeline read back, given its gain, true-peak limited and written (the on-air WAV
in a second process, the podcast straight into the MP3 encoder), then measured as listeners get it, as a whole
and item by item. The gain is predicted from pass 1's meter, so one pass is nearly always enough."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radio import fsutil
from radio.audio import dsp
from radio.audio.encode import CHUNK, Encoder, Measured, measure_file, write_wav
from radio.audio.mix import give_back
from radio.config import Loudness
from radio.station import Station
from radio.errors import AudioError, warn

Spans = list[tuple[str, int, int]]


def _chunks(path: Path, total: int):
    with open(path, "rb") as f:
        done = 0
        while done < total:
            data = np.fromfile(f, dtype="<f4", count=min(CHUNK, total - done))
            if len(data) == 0:
                break
            done += len(data)
            yield data
        if done < total:
            yield np.zeros(total - done, dtype=np.float32)


class Reduction:
    """How much the limiter takes, over the given spans (speech): a histogram in 0.1 dB steps."""

    STEPS = 400

    def __init__(self, spans: Spans):
        self.mask_spans = sorted((a, b) for _, a, b in spans)
        self.hist = np.zeros(self.STEPS + 1, np.int64)

    def feed(self, at: int, gains: np.ndarray) -> None:
        if not len(gains) or not self.mask_spans:
            return
        pos = at + np.arange(len(gains)) * dsp.BLOCK
        inside = np.zeros(len(gains), bool)
        for a, b in self.mask_spans:
            if b > pos[0] and a < pos[-1] + dsp.BLOCK:
                inside |= (pos >= a) & (pos < b)
        if inside.any():
            gr = -20 * np.log10(np.maximum(gains[inside], 1e-6))
            self.hist += np.bincount(np.minimum(np.round(gr * 10).astype(np.int64), self.STEPS),
                                     minlength=self.STEPS + 1)

    def result(self) -> dict:
        n = int(self.hist.sum())
        if n == 0:
            return {"median_db": 0.0, "p95_db": 0.0, "over_3db": 0.0}
        cum = np.cumsum(self.hist) / n
        q = lambda p: round(float(np.searchsorted(cum, p)) / 10, 1)  # noqa: E731
        return {"median_db": q(0.5), "p95_db": q(0.95), "over_3db": round(float(self.hist[31:].sum()) / n, 4)}


class Limited:
    """A raw mix read back in chunks, gained and limited: iterate it for the final samples."""

    def __init__(self, path: Path, total: int, gain_db: float, ceiling_db: float, *, window_db: float = 1.5,
                 speech: Spans | None = None):
        self.path, self.total, self.gain_db, self.ceiling_db = path, total, gain_db, ceiling_db
        self.window_db = window_db
        self.reduction = Reduction(speech or [])

    def __iter__(self):
        lim = dsp.Limiter(self.ceiling_db, self.gain_db, self.window_db)
        pos = 0
        for x in _chunks(self.path, self.total):
            y = lim.process(x)
            self.reduction.feed(pos, lim.gains)
            pos += len(y)
            yield y
        y = lim.flush()
        self.reduction.feed(pos, lim.gains[: -(-len(y) // dsp.BLOCK)])
        yield y


def _onair_process(wav: str, raw: str, total: int, gain_db: float, ceiling_db: float, rate: int, spans: Spans,
                   conn) -> None:
    """The on-air half of pass 2, in its own process: limit, meter and write the WAV beside the encoder."""
    try:
        conn.send(("ok", write_onair(Path(wav), Limited(Path(raw), total, gain_db, ceiling_db), rate, spans)))
    except BaseException as e:  # reported to the parent, which raises it as its own
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def write_onair(path: Path, src: Limited, rate: int, spans: Spans) -> dict:
    m = Measured(rate, spans)

    def metered():
        for y in src:
            m.feed(y)
            yield y
    write_wav(path, metered(), rate)
    return m.result()


def write_podcast(path: Path, src: Limited, rate: int, bitrate: int, spans: Spans) -> dict:
    enc = Encoder(path, rate, bitrate, measure=Measured(rate, spans))
    try:
        for y in src:
            enc.write(y)
    finally:
        enc.close()
    return {**enc.measured(), "limiter": src.reduction.result()}


def _write_both(wav: Path, on: Limited, mp3: Path, pod: Limited, rate: int, bitrate: int, spans_on: Spans,
                spans_pod: Spans) -> tuple[dict, dict]:
    """Both masters at once: the on-air WAV in a second process, the podcast limited here and fed to the encoder,
    the MP3 measured as it is written. Returns the on-air and podcast measurements."""
    import multiprocessing as mp
    # forked, not spawned: a fresh interpreter re-imports numpy and scipy (seconds of CPU on a busy machine); at this
    # point no other thread runs (the take pool is shut, the encoder not started), so nothing is half-held
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    recv, send = ctx.Pipe(duplex=False)
    give_back()  # the child starts with only what the parent still uses
    child = ctx.Process(target=_onair_process, args=(str(wav), str(on.path), on.total, on.gain_db, on.ceiling_db,
                                                     rate, spans_on, send), daemon=True)
    child.start()
    send.close()
    try:
        m_pod = write_podcast(mp3, pod, rate, bitrate, spans_pod)
        try:
            status, m_on = recv.recv()
        except EOFError:  # the child could not start (a __main__ it cannot re-import) or died
            status, m_on = "lost", None
    finally:
        child.join()
    if status == "lost":  # do it here instead: slower, but the masters still come out
        return write_onair(wav, on, rate, spans_on), m_pod
    if status != "ok":
        raise AudioError(f"writing the on-air master failed: {m_on}", fix="run with -v and report it")
    return m_on, m_pod


def encoder_offset(raw: Path, total: int, gain_db: float, ceiling_db: float, rate: int, bitrate: int,
                   out: Path) -> float:
    """How much the MP3 encoder moves the level of this show: six 5-second slices spread across it are limited,
    encoded and measured before and after. LAME trims what it cannot hear, and speech and noise lose differently."""
    step = 5 * rate
    if total < 8 * step:
        return 0.0
    parts = []
    with open(raw, "rb") as f:
        for k in range(6):
            f.seek(4 * (total * (2 * k + 1) // 12 - step // 2))
            parts.append(np.fromfile(f, dtype="<f4", count=step))
    lim = dsp.Limiter(ceiling_db, gain_db)
    x = np.concatenate([lim.process(np.concatenate(parts)), lim.flush()])
    before = dsp.measure(x, rate)["integrated"]
    probe = fsutil.temp_path(out / "probe.mp3")
    try:
        enc = Encoder(probe, rate, bitrate)
        enc.write(x)
        enc.close()
        after = measure_file(probe, rate)["integrated"]
    finally:
        probe.unlink(missing_ok=True)
    return 0.0 if before is None or after is None else after - before


def gain_for(meter: dsp.Meter, target: float, ceiling: float, rate: int, aim: float) -> float:
    """The gain that puts a master on target once limited. Loud, peaky passages lose level in the limiter, so its
    effect is predicted from the mix's 100 ms energies and block peaks (no audio pass) and the gain stepped by
    the observed slope until the prediction is within `aim` LU."""
    pre = meter.result()
    if pre["integrated"] is None:
        return 0.0
    energies, peaks = np.concatenate(meter.energies), np.concatenate(meter.blocks)
    meter.energies, meter.blocks = [energies], [peaks]  # one array each from now on, not pieces and a copy
    gain = target - pre["integrated"]
    seen: tuple[float, float] | None = None
    for _ in range(12):
        got = dsp.predict_integrated(energies, peaks, gain, ceiling, rate)
        if not np.isfinite(got) or abs(got - target) <= aim:
            break
        slope = 1.0
        if seen and got != seen[1]:
            slope = min(1.0, max(0.1, (got - seen[1]) / (gain - seen[0])))
        seen = (gain, got)
        gain += (target - got) / slope
    return gain


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


def master(station: Station, raw_on: Path, raw_pod: Path, meter_on: dsp.Meter, meter_pod: dsp.Meter, n_on: int,
           n_pod: int, out: Path, temps: list[Path], spans_on: Spans, spans_pod: Spans, speech_pod: Spans) -> Masters:
    cfg = station.config
    rate, bitrate = cfg.audio.sample_rate, cfg.podcast.bitrate
    L: Loudness = cfg.loudness
    wav_tmp, mp3_tmp = fsutil.temp_path(out / "onair.wav"), fsutil.temp_path(out / "podcast.mp3")
    temps += [wav_tmp, mp3_tmp]
    ceil_on, ceil_pod = L.onair_true_peak - L.onair_ceiling_margin, L.podcast_true_peak - L.podcast_ceiling_margin
    g_on = gain_for(meter_on, L.onair_lufs, ceil_on, rate, L.aim)
    g_pod = gain_for(meter_pod, L.podcast_lufs, ceil_pod, rate, L.aim)
    shift = encoder_offset(raw_pod, n_pod, g_pod, ceil_pod, rate, bitrate, out)
    if abs(shift) > L.aim:
        g_pod = gain_for(meter_pod, L.podcast_lufs - shift, ceil_pod, rate, L.aim)
    meter_on.blocks, meter_pod.blocks = [], []  # the block peaks were for the prediction: not kept in pass 2
    on = Limited(raw_on, n_on, g_on, ceil_on)
    # the MP3 itself is measured; its ceiling is a full dB below the limit, so a narrower true-peak window
    pod = Limited(raw_pod, n_pod, g_pod, ceil_pod, window_db=0.5, speech=speech_pod)
    m_on, m_pod = _write_both(wav_tmp, on, mp3_tmp, pod, rate, bitrate, spans_on, spans_pod)
    # The prediction is close, not exact: correct a master that strays, at most twice.
    for _ in range(2):
        if m_on["integrated"] is None or abs(m_on["integrated"] - L.onair_lufs) <= L.retry_over:
            break
        g_on += L.onair_lufs - m_on["integrated"]
        m_on = write_onair(wav_tmp, Limited(raw_on, n_on, g_on, ceil_on), rate, spans_on)
    for _ in range(2):
        level_ok = m_pod["integrated"] is None or abs(m_pod["integrated"] - L.podcast_lufs) <= L.podcast_tolerance
        peak_ok = m_pod["true_peak"] is None or m_pod["true_peak"] <= L.podcast_true_peak - 0.1
        if level_ok and peak_ok:
            break
        if m_pod["integrated"] is not None:
            g_pod += L.podcast_lufs - m_pod["integrated"]
        if not peak_ok:
            ceil_pod -= m_pod["true_peak"] - (L.podcast_true_peak - 0.3)
        m_pod = write_podcast(mp3_tmp, Limited(raw_pod, n_pod, g_pod, ceil_pod, window_db=0.5, speech=speech_pod),
                              rate, bitrate, spans_pod)
    m_on = _status(m_on, L.onair_lufs, L.onair_tolerance, L.onair_true_peak)
    m_pod = _status(m_pod, L.podcast_lufs, L.podcast_tolerance, L.podcast_true_peak)
    for name, m in (("on-air", m_on), ("podcast", m_pod)):
        if not m["ok"]:
            warn(f"the {name} master measures {m['integrated']} LUFS, {m['true_peak']} dBTP: outside its target")
    return Masters({**m_on, "gain_db": round(g_on, 2)}, {**m_pod, "gain_db": round(g_pod, 2)}, wav_tmp, mp3_tmp)

"""Assembling the show: recordings and station sounds into an on-air master that fills its slot to the sample,
and a podcast master, each at its own loudness target.

Pass 1 takes one segment at a time (decode, trim, level, beds) and mixes both timelines into raw float files
while metering them. Pass 2 sets each master's gain from that measurement, runs the true-peak limiter, writes
the WAV and feeds the MP3 encoder at once. The MP3 is then decoded and measured: what listeners get is what
is checked. Memory holds one segment and a few seconds of mix, whatever the show's length.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from radio import fsutil, media, takes
from radio import rundown as rd
from radio.audio import dsp, segment, tts
from radio.audio.decode import decode
from radio.audio.wav import WavWriter
from radio.config import format_ms
from radio.station import Station
from radio.errors import AudioError, warn

CHUNK = 240_000  # samples per pass-2 step (5 s at 48 kHz)
Progress = Callable[[str, int, int, str], None]


@dataclass
class Placed:
    id: str
    title: str
    type: str
    host: str | None
    source: str | None
    draft: bool
    start: int
    end: int
    loudness: dict | None = None

    def as_dict(self, rate: int) -> dict:
        return {"id": self.id, "title": self.title, "type": self.type, "host": self.host, "source": self.source,
                "draft": self.draft, "start": self.start, "end": self.end,
                "start_ms": self.start * 1000 // rate, "end_ms": self.end * 1000 // rate,
                "start_s": round(self.start / rate, 3), "end_s": round(self.end / rate, 3),
                "loudness": self.loudness}


class Mixer:
    """A timeline streamed to a raw float32 file: items are added at absolute sample positions, and
    everything before a point no later item can reach is flushed (and metered)."""

    def __init__(self, path: Path, rate: int):
        self.f = open(path, "wb")
        self.meter = dsp.Meter(rate, true_peak=False)  # for the gain prediction; the masters are measured in full
        self.meter.keep_blocks = True
        self.buf = np.zeros(0, dtype=np.float32)
        self.base = 0
        self.placed: list[Placed] = []

    def add(self, start: int, x: np.ndarray) -> None:
        if start < self.base:
            x, start = x[self.base - start:], self.base
        end = start + len(x)
        if end - self.base > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(end - self.base - len(self.buf), dtype=np.float32)])
        self.buf[start - self.base: end - self.base] += x

    def fade_out(self, start: int, n: int) -> None:
        """Fade what is already mixed from `start` to silence over `n` samples (the tail an element crosses)."""
        a, b = max(start, self.base) - self.base, min(start + n, self.base + len(self.buf)) - self.base
        if b > a:
            self.buf[a:b] *= np.linspace(1, 0, n, dtype=np.float32)[a - (start - self.base): b - (start - self.base)]
            self.buf[b:] = 0  # nothing of the outgoing item sounds after the crossfade

    def flush(self, upto: int) -> None:
        k = upto - self.base
        if k <= 0:
            return
        if k > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(k - len(self.buf), dtype=np.float32)])
        out = self.buf[:k]
        self.meter.feed(out)
        self.f.write(out.tobytes())
        self.buf = self.buf[k:].copy()  # keep only the short tail, not a view that pins the whole segment
        self.base = upto

    def close(self, total: int) -> dict:
        self.flush(total)
        self.f.close()
        return self.meter.result()


@dataclass
class Source:
    entry: rd.Entry
    path: Path | None  # recording, draft or element file
    draft: bool
    kind: str  # speech | element | bed


@dataclass
class Result:
    onair: Path
    podcast: Path
    as_run: Path
    loudness: Path
    report: dict
    warnings: list[str] = field(default_factory=list)


def _rel(station: Station, p: Path | None) -> str | None:
    return str(p.relative_to(station.root)) if p is not None else None


def gather(station: Station, rundown: rd.Rundown, draft: bool, progress: Progress) -> list[Source]:
    """Find every input before any work starts: all missing recordings are named at once."""
    cfg = station.config
    week = rundown.week
    sources: list[Source] = []
    missing: list[rd.Entry] = []
    found = takes.scan(station, week, [e.id for e in rundown.live if e.item.type in rd.SPEECH])
    for e in rundown.live:
        it = e.item
        if it.type in rd.SPEECH:
            p = found.recordings.get(it.id)
            if p is None and not draft:
                missing.append(e)
            sources.append(Source(e, p, p is None, "speech"))
        else:
            sources.append(Source(e, None, False, "element" if it.type == "element" else "bed"))
    if missing:
        paths = ", ".join(f"{station.edition_dir(week).relative_to(station.root)}/segments/{e.id}.wav" for e in missing)
        raise AudioError(f"{len(missing)} recording{'s' if len(missing) > 1 else ''} missing: {paths}",
                         fix=f"record them (any format ffmpeg reads), or pass --draft to fill them with read-throughs")
    names = {cfg.audio.filler} if cfg.audio.filler else set()
    for s in sources:
        names |= {n for n in (s.entry.item.element, s.entry.item.bed) if n}
    for name in sorted(names):
        p = station.element_path(name)
        if not p.is_file():
            raise AudioError(f"element {name!r}: {cfg.elements[name].file} does not exist",
                             where=station.root / "radio.toml", fix="fix its file = in [elements], or add the file")
    slot = cfg.show.slot_ms
    for s in sources:
        if s.path is not None:
            ms = media.duration_ms(s.path)
            if ms > slot:
                raise AudioError(f"item {s.entry.id}: the recording is {format_ms(ms)}, longer than the whole "
                                 f"{format_ms(slot)} slot", where=s.path, fix="check it is the right file, or edit it")
    todo = [s for s in sources if s.kind == "speech" and s.path is None]
    for i, s in enumerate(todo):
        host = cfg.host(s.entry.item.host or cfg.hosts[0].id)
        progress("draft", i + 1, len(todo), s.entry.id)
        s.path = tts.draft(s.entry.text, host.voice, host.rate_wpm, rd.draft_path(station, week, s.entry.id))
    return sources


class Elements:
    """Station sounds, decoded and levelled once per build (they are short)."""

    def __init__(self, station: Station, rate: int):
        self.station, self.rate = station, rate
        self.cache: dict[str, np.ndarray] = {}

    def get(self, name: str) -> np.ndarray:
        if name not in self.cache:
            cfg = self.station.config
            el = cfg.elements[name]
            x = decode(self.station.element_path(name), self.rate)
            self.cache[name] = segment.prepare_element(x, self.rate, cfg.loudness.onair_lufs + el.level, name).audio
        return self.cache[name]


def _prepare(station: Station, src: Source, rate: int, elements: Elements) -> segment.Prepared:
    cfg = station.config
    if src.kind == "speech":
        assert src.path is not None
        x = decode(src.path, rate, media.duration_ms(src.path))
        return segment.prepare_speech(x, rate, cfg.loudness.onair_lufs, silence_db=cfg.audio.silence_db,
                                      keep_s=cfg.audio.max_pause, name=f"item {src.entry.id}")
    if src.kind == "element":
        y = elements.get(src.entry.item.element or "")
        return segment.Prepared(y, dsp.measure(y, rate), 0.0)
    name = src.entry.item.bed or src.entry.item.element or ""
    n = rd.parse_duration_ms(src.entry.item.duration or "0") * rate // 1000
    y = segment.fade(segment.loop_to(elements.get(name), n), rate, cfg.audio.bed_fade, cfg.audio.bed_fade)
    return segment.Prepared(y, dsp.measure(y, rate), 0.0)


def _bed_under(station: Station, voice: np.ndarray, name: str, rate: int, elements: Elements) -> tuple[np.ndarray, int]:
    """The bed for a speech item: it fades in before the voice, ducks under it, and fades out after."""
    a = station.config.audio
    lead = round(a.bed_fade * rate)
    n = lead + len(voice) + lead
    bed = segment.loop_to(elements.get(name), n)
    env = np.ones(n, dtype=np.float32)
    env[lead: lead + len(voice)] = segment.duck_envelope(voice, rate, a.silence_db, a.duck_db, a.duck_ramp)
    duck = np.float32(dsp.undb(a.duck_db))
    ramp = min(lead, round(a.duck_ramp * rate))
    if ramp:  # ease into and out of the ducked level at the voice's edges
        env[lead - ramp: lead] = np.linspace(1, duck, ramp, dtype=np.float32)
        env[lead + len(voice): lead + len(voice) + ramp] = np.linspace(duck, 1, ramp, dtype=np.float32)
    return segment.fade(bed * env, rate, a.bed_fade, a.bed_fade), lead


def assemble(station: Station, week: str, *, draft: bool = False, allow_over: bool = False,
             progress: Progress | None = None) -> Result:
    progress = progress or (lambda *a: None)
    cfg = station.config
    rate = cfg.audio.sample_rate
    rundown = rd.load(station, week)
    sources = gather(station, rundown, draft, progress)
    out = station.out_dir(week)
    out.mkdir(parents=True, exist_ok=True)
    slot = cfg.show.slot_ms * rate // 1000
    gap = round(cfg.audio.gap * rate)
    retain = max([round(cfg.audio.bed_fade * rate)] + [round(e.crossfade * rate) for e in cfg.elements.values()])
    last_speech = max((i for i, s in enumerate(sources) if s.kind == "speech"), default=-1)
    # closing elements after the last voice are back-timed: the filler goes before them
    first_trailing = last_speech + 1 if last_speech + 1 < len(sources) and all(
        s.kind == "element" for s in sources[last_speech + 1:]) else None
    elements = Elements(station, rate)
    warnings: list[str] = []
    raw_on, raw_pod = fsutil.temp_path(out / "onair.f32"), fsutil.temp_path(out / "podcast.f32")
    temps = [raw_on, raw_pod]
    pool: ThreadPoolExecutor | None = None
    try:
        on, pod = Mixer(raw_on, rate), Mixer(raw_pod, rate)
        ends = {"on": 0, "pod": 0}
        lens = {"on": 0, "pod": 0}
        item_loudness: dict[str, dict] = {}
        pool = ThreadPoolExecutor(1)
        future = pool.submit(_prepare, station, sources[0], rate, elements) if sources else None
        over_check: list[tuple[rd.Entry, int]] = []
        for i, src in enumerate(sources):
            progress("assemble", i + 1, len(sources), src.entry.id)
            prep = future.result()  # type: ignore[union-attr]
            future = pool.submit(_prepare, station, sources[i + 1], rate, elements) if i + 1 < len(sources) else None
            warnings += prep.warnings
            item_loudness[src.entry.id] = prep.loudness
            x = prep.audio
            over_check.append((src.entry, len(x)))
            it = src.entry.item
            overlap = round(cfg.elements[it.element].crossfade * rate) if it.type == "element" and it.element else 0
            if i == first_trailing and not allow_over and station.on_air:
                _fill(station, sources, i, on, ends, lens, gap, slot, rate, elements, warnings)
            for key, mix in (("on", on), ("pod", pod)):
                if key == "pod" and it.onair_only:
                    continue
                if mix.placed:
                    start = ends[key] - min(overlap, lens[key]) if overlap else ends[key] + gap
                else:
                    start = 0
                if key == "on" and i == first_trailing and on.placed and on.placed[-1].id == "filler":
                    start = ends["on"]
                if it.bed and src.kind == "speech":
                    bed, lead = _bed_under(station, x, it.bed, rate, elements)
                    mix.add(max(0, start - lead), bed[max(0, lead - start):])
                cross = ends[key] - start if mix.placed and start < ends[key] else 0
                if cross:  # a crossfade: the outgoing tail fades down as this element fades up
                    mix.fade_out(start, cross)
                mix.add(start, segment.fade(x, rate, cross / rate, 0.0) if cross else x)
                mix.placed.append(Placed(it.id, src.entry.title, it.type, it.host, _rel(station, src.path) if
                                         src.kind == "speech" else cfg.elements[it.element or it.bed or ""].file,
                                         src.draft, start, start + len(x), prep.loudness))
                ends[key], lens[key] = start + len(x), len(x)
                mix.flush(max(mix.base, ends[key] - retain - (round(cfg.audio.bed_fade * rate) if it.bed else 0)))
            del x, prep
        content = ends["on"]
        if first_trailing is None and not allow_over and content < slot and station.on_air:
            _fill(station, sources, len(sources), on, ends, lens, gap, slot, rate, elements, warnings)
        if content > slot and not allow_over:
            over = content - slot
            raise AudioError(f"the show runs over its {format_ms(slot * 1000 // rate)} "
                             f"{'slot' if station.on_air else 'maximum length'} by "
                             f"{_ms_text(over * 1000 // rate)}" + _cuts(station, rundown, over_check, rate),
                             fix="cut or shorten items, mark them skip: true, or pass --allow-over")
        if content > slot:
            warnings.append(f"the on-air master runs over its slot by {_ms_text((content - slot) * 1000 // rate)}")
        total_on = max(slot, content) if station.on_air else content  # a podcast-only edition fills no slot
        on.close(total_on)
        pod.close(ends["pod"])
        for w in warnings:
            warn(w)
        progress("master", 1, 2, "on-air WAV and podcast MP3")
        masters = _master(station, raw_on, raw_pod, on.meter, pod.meter, total_on, ends["pod"], out, temps)
        progress("master", 2, 2, "measured")
        as_run = {
            "week": week, "title": rundown.title, "draft": any(s.draft for s in sources), "rate": rate,
            "onair": {"file": "onair.wav", "samples": total_on, "seconds": round(total_on / rate, 3),
                      "items": [p.as_dict(rate) for p in on.placed]},
            "podcast": {"file": "podcast.mp3", "samples": ends["pod"], "seconds": round(ends["pod"] / rate, 3),
                        "items": [p.as_dict(rate) for p in pod.placed]},
        }
        loud = {"onair": masters["onair"], "podcast": masters["podcast"], "items": item_loudness}
        onair, podcast = out / "onair.wav", out / "podcast.mp3"
        os.replace(masters["onair_tmp"], onair)
        os.replace(masters["podcast_tmp"], podcast)
        fsutil.write_text(out / "loudness.json", json.dumps(loud, indent=2, ensure_ascii=False) + "\n")
        fsutil.write_text(out / "as-run.json", json.dumps(as_run, indent=2, ensure_ascii=False) + "\n")
        return Result(onair, podcast, out / "as-run.json", out / "loudness.json", loud, warnings)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # also on an error: no decode left running
        for t in temps:
            t.unlink(missing_ok=True)


def _ms_text(ms: int) -> str:
    return f"{format_ms(ms)}" if ms >= 1000 else f"{ms} ms"


def _cuts(station: Station, rundown: rd.Rundown, lengths: list[tuple[rd.Entry, int]], rate: int) -> str:
    actual = {e.id: n * 1000 // rate for e, n in lengths}
    show = rd.timing(station, rundown, actuals=actual)
    return f"; cut candidates: {', '.join(show.cut)}" if show.cut else ""


def _fill(station: Station, sources: list[Source], i: int, on: Mixer, ends: dict, lens: dict, gap: int, slot: int,
          rate: int, elements: Elements, warnings: list[str]) -> None:
    """Fill the under-run before the closing elements, so they end exactly at the end of the slot."""
    cfg = station.config
    closing = [sources[j].entry.item.element or "" for j in range(i, len(sources))]
    tail = rd.lay_out([len(elements.get(n)) for n in closing],
                      [0] + [round(cfg.elements[n].crossfade * rate) for n in closing[1:]], gap)[1] if closing else 0
    start = ends["on"] + (gap if on.placed else 0)
    n = slot - tail - start
    if n <= 0:
        return
    name = cfg.audio.filler
    if name:
        a = cfg.audio
        x = segment.fade(segment.loop_to(elements.get(name), n), rate, min(a.bed_fade, n / rate / 2),
                         min(a.bed_fade, n / rate / 2))
        on.add(start, x)
    else:
        warnings.append(f"the show is {format_ms(n * 1000 // rate)} short of its slot: filled with silence "
                        "(set [audio] filler to a bed to fill it with music)")
    on.placed.append(Placed("filler", "Filler", "filler", None, cfg.elements[name].file if name else None, False,
                            start, start + n))
    ends["on"], lens["on"] = start + n, n
    on.flush(max(on.base, ends["on"] - round(cfg.audio.bed_fade * rate)))


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


class Limited:
    """A raw mix read back in chunks, gained, limited and metered: iterate it for the final samples."""

    def __init__(self, path: Path, total: int, gain_db: float, ceiling_db: float, rate: int, metered: bool = True,
                 window_db: float = 1.5):
        self.path, self.total, self.gain_db, self.ceiling_db = path, total, gain_db, ceiling_db
        self.window_db = window_db
        self.meter = dsp.Meter(rate) if metered else None
        self.result: dict = {}

    def __iter__(self):
        lim = dsp.Limiter(self.ceiling_db, self.gain_db, self.window_db)
        for x in _chunks(self.path, self.total):
            y = lim.process(x)
            if self.meter:
                self.meter.feed(y)
            yield y
        y = lim.flush()
        if self.meter:
            self.meter.feed(y)
            yield y
            self.result = self.meter.result()
        else:
            yield y


class Encoder:
    """ffmpeg's MP3 encoder fed from a thread, so encoding runs on the other core while we limit and write."""

    def __init__(self, path: Path, rate: int, bitrate: int, measure: bool = False):
        self.proc = subprocess.Popen(
            [media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "-",
             "-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-ac", "1", "-map_metadata", "-1", "-id3v2_version", "0",
             "-write_id3v1", "0", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp3", "-y", str(path)],
            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.q: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.live = LiveMeter(path, rate, lambda: self.proc.poll() is not None) if measure else None

    def _run(self) -> None:
        try:
            while (data := self.q.get()) is not None:
                self.proc.stdin.write(data)  # type: ignore[union-attr]
        except BaseException as e:  # a broken pipe shows in close()
            self.error = e
            while self.q.get() is not None:
                pass

    def write(self, x: np.ndarray) -> None:
        if len(x):
            self.q.put(x.astype("<f4").tobytes())

    def close(self) -> None:
        self.q.put(None)
        self.thread.join()
        self.proc.stdin.close()  # type: ignore[union-attr]
        err = self.proc.stderr.read().decode("utf-8", "replace")  # type: ignore[union-attr]
        if self.proc.wait() != 0 or self.error:
            raise AudioError(f"the MP3 encoder failed: {err.strip() or self.error}", fix="run with -v and report it")

    def measured(self) -> dict:
        assert self.live is not None
        return self.live.result()


class LiveMeter:
    """Measures an MP3 while the encoder writes it: a thread follows the growing file into a decoder and meters
    what comes out, so the measurement of what listeners hear overlaps the encoding instead of following it."""

    def __init__(self, path: Path, rate: int, finished: Callable[[], bool]):
        self.path, self.finished = path, finished
        self.meter = dsp.Meter(rate)
        self.dec = subprocess.Popen([media.need("ffmpeg"), "-nostdin", "-v", "error", "-f", "mp3", "-i", "-", "-ac",
                                     "1", "-ar", str(rate), "-f", "f32le", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.feeder.start()
        self.reader.start()

    def _feed(self) -> None:
        import time
        try:
            with open(self.path, "rb") as f:
                while True:
                    done = self.finished()  # read it before the data, so nothing written after is missed
                    data = f.read(1 << 16)
                    if data:
                        self.dec.stdin.write(data)  # type: ignore[union-attr]
                    elif done:
                        break
                    else:
                        time.sleep(0.01)
        except BrokenPipeError:
            pass
        finally:
            self.dec.stdin.close()  # type: ignore[union-attr]

    def _read(self) -> None:
        rest = b""
        while data := self.dec.stdout.read(CHUNK * 4):  # type: ignore[union-attr]
            data = rest + data
            n = len(data) // 4 * 4
            self.meter.feed(np.frombuffer(data[:n], dtype="<f4"))
            rest = data[n:]

    def result(self) -> dict:
        self.feeder.join()
        self.reader.join()
        self.dec.wait()
        return self.meter.result()


def measure_file(path: Path, rate: int) -> dict:
    """Decode a finished file with ffmpeg and measure what a listener hears."""
    proc = subprocess.Popen([media.need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar",
                             str(rate), "-f", "f32le", "-"], stdout=subprocess.PIPE)
    meter = dsp.Meter(rate)
    while data := proc.stdout.read(CHUNK * 4):  # type: ignore[union-attr]
        meter.feed(np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4"))
    proc.wait()
    return meter.result()


def _status(m: dict, target: float, tol: float, tp_max: float) -> dict:
    ok = m["integrated"] is not None and abs(m["integrated"] - target) <= tol and \
        (m["true_peak"] is None or m["true_peak"] <= tp_max)
    return {**m, "target": target, "tolerance": tol, "true_peak_max": tp_max, "ok": ok}


def _write_onair(path: Path, src: Limited, rate: int) -> None:
    with fsutil.atomic_open(path) as f:
        w = WavWriter(f, rate)
        for y in src:
            w.write(y)
        w.close()


def _write_podcast(path: Path, src: Limited, rate: int, bitrate: int) -> dict:
    enc = Encoder(path, rate, bitrate, measure=True)
    try:
        for y in src:
            enc.write(y)
    finally:
        enc.close()
    return enc.measured()


def _onair_process(wav: str, raw: str, total: int, gain_db: float, ceiling_db: float, rate: int, conn) -> None:
    """The on-air half of pass 2, in its own process: limit, meter and write the WAV beside the encoder."""
    try:
        on = Limited(Path(raw), total, gain_db, ceiling_db, rate)
        _write_onair(Path(wav), on, rate)
        conn.send(("ok", on.result))
    except BaseException as e:  # reported to the parent, which raises it as its own
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _write_both(wav: Path, on: Limited, mp3: Path, pod: Limited, rate: int, bitrate: int) -> tuple[dict, dict]:
    """Both masters at once: the on-air WAV in a second process, the podcast limited here and fed to the encoder,
    the MP3 measured as it is written. Returns the on-air and podcast measurements."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")  # a clean interpreter: no inherited threads or BLAS state
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_onair_process, args=(str(wav), str(on.path), on.total, on.gain_db, on.ceiling_db,
                                                     rate, send), daemon=True)
    child.start()
    send.close()
    try:
        m_pod = _write_podcast(mp3, pod, rate, bitrate)
        try:
            status, m_on = recv.recv()
        except EOFError:  # the child could not start (a __main__ it cannot re-import) or died
            status, m_on = "lost", None
    finally:
        child.join()
    if status == "lost":  # do it here instead: slower, but the masters still come out
        _write_onair(wav, on, rate)
        return on.result, m_pod
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


def _gain_for(meter: dsp.Meter, pre: dict, target: float, ceiling: float, rate: int) -> float:
    """The gain that puts a master on target once limited. Loud, peaky speech loses level in the limiter, so its
    effect is predicted from the mix's 100 ms energies and block peaks (no audio pass) and the gain stepped by
    the observed slope until the prediction is within 0.05 LU."""
    if pre["integrated"] is None:
        return 0.0
    energies, peaks = np.concatenate(meter.energies), np.concatenate(meter.blocks)
    gain = target - pre["integrated"]
    seen: tuple[float, float] | None = None
    for _ in range(12):
        got = dsp.predict_integrated(energies, peaks, gain, ceiling, rate)
        if not np.isfinite(got) or abs(got - target) <= 0.05:
            break
        slope = 1.0
        if seen and got != seen[1]:
            slope = min(1.0, max(0.1, (got - seen[1]) / (gain - seen[0])))
        seen = (gain, got)
        gain += (target - got) / slope
    return gain


def _master(station: Station, raw_on: Path, raw_pod: Path, meter_on: dsp.Meter, meter_pod: dsp.Meter, n_on: int,
            n_pod: int, out: Path, temps: list[Path]) -> dict:
    cfg = station.config
    rate, bitrate = cfg.audio.sample_rate, cfg.podcast.bitrate
    L = cfg.loudness
    wav_tmp, mp3_tmp = fsutil.temp_path(out / "onair.wav"), fsutil.temp_path(out / "podcast.mp3")
    temps += [wav_tmp, mp3_tmp]
    ceil_on, ceil_pod = L.onair_true_peak - 0.3, L.podcast_true_peak - 1.0  # MP3 coding adds peaks: leave room
    g_on = _gain_for(meter_on, meter_on.result(), L.onair_lufs, ceil_on, rate)
    g_pod = _gain_for(meter_pod, meter_pod.result(), L.podcast_lufs, ceil_pod, rate)
    shift = encoder_offset(raw_pod, n_pod, g_pod, ceil_pod, rate, bitrate, out)
    if abs(shift) > 0.05:
        g_pod = _gain_for(meter_pod, meter_pod.result(), L.podcast_lufs - shift, ceil_pod, rate)
    on = Limited(raw_on, n_on, g_on, ceil_on, rate)
    # the MP3 itself is measured instead; its ceiling is a full dB below the target, so a narrower true-peak window
    pod = Limited(raw_pod, n_pod, g_pod, ceil_pod, rate, metered=False, window_db=0.5)
    m_on, m_pod = _write_both(wav_tmp, on, mp3_tmp, pod, rate, bitrate)
    # The prediction is close, not exact: correct a master that strays, at most twice.
    for _ in range(2):
        if m_on["integrated"] is None or abs(m_on["integrated"] - L.onair_lufs) <= 0.3:
            break
        g_on += L.onair_lufs - m_on["integrated"]
        on = Limited(raw_on, n_on, g_on, ceil_on, rate)
        _write_onair(wav_tmp, on, rate)
        m_on = on.result
    for _ in range(2):
        level_ok = m_pod["integrated"] is None or abs(m_pod["integrated"] - L.podcast_lufs) <= 0.5
        peak_ok = m_pod["true_peak"] is None or m_pod["true_peak"] <= L.podcast_true_peak - 0.1
        if level_ok and peak_ok:
            break
        if m_pod["integrated"] is not None:
            g_pod += L.podcast_lufs - m_pod["integrated"]
        if not peak_ok:
            ceil_pod -= m_pod["true_peak"] - (L.podcast_true_peak - 0.3)
        m_pod = _write_podcast(mp3_tmp, Limited(raw_pod, n_pod, g_pod, ceil_pod, rate, metered=False, window_db=0.5),
                               rate, bitrate)
    m_on = _status(m_on, L.onair_lufs, L.onair_tolerance, L.onair_true_peak)
    m_pod = _status(m_pod, L.podcast_lufs, L.podcast_tolerance, L.podcast_true_peak)
    for name, m in (("on-air", m_on), ("podcast", m_pod)):
        if not m["ok"]:
            warn(f"the {name} master measures {m['integrated']} LUFS, {m['true_peak']} dBTP: outside its target")
    return {"onair": {**m_on, "gain_db": round(g_on, 2)}, "podcast": {**m_pod, "gain_db": round(g_pod, 2)},
            "onair_tmp": wav_tmp, "podcast_tmp": mp3_tmp}

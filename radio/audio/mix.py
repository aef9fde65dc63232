"""The mix: one take at a time into two timelines (on air and podcast), each streamed into its master as it is
made (radio/audio/master.py).

Speech is the anchor: every take is brought to the on-air target, and station sounds are set relative to it
(their `level`, in LU), the filler bed at the programme's own level. The podcast timeline has the same balance
with its speech compressed (and brought back to the same loudness), so its master only lifts and limits it.
Memory holds one take and a few seconds of each timeline, whatever the show's length.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from radio import media, takes
from radio.rundown import model as rd
from radio import timing
from radio.audio import dsp, segment, take
from radio.audio.decode import decode
from radio.audio.encode import STEREO_DB
from radio.audio.master import lower
from radio.audio.take import Held, Looped, Take
from radio.config import format_ms
from radio.station import Station
from radio.errors import AudioError

Progress = Callable[[str, int, int, str], None]
FILL_STEP = 10  # seconds of filler mixed at a time


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
    loudness: dict | None = None  # as measured in the master, filled in by the master stage

    def as_dict(self, rate: int) -> dict:
        return {"id": self.id, "title": self.title, "type": self.type, "host": self.host, "source": self.source,
                "draft": self.draft, "start": self.start, "end": self.end,
                "start_ms": self.start * 1000 // rate, "end_ms": self.end * 1000 // rate,
                "start_s": round(self.start / rate, 3), "end_s": round(self.end / rate, 3)}


@dataclass
class Source:
    entry: rd.Entry
    path: Path | None  # recording, draft or element file
    draft: bool
    kind: str  # speech | element | bed


def _trim():
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        # Arrays of a take's size are mapped afresh and unmapped when freed: glibc would otherwise raise its
        # mapping threshold to the largest block freed so far and carve later arrays out of its heap, where
        # what they leave free stays resident (and creeps up over a long show).
        libc.mallopt(-3, 1 << 24)  # M_MMAP_THRESHOLD: fixed at 16 MiB, about 3 minutes of a take
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_malloc_trim = _trim()


def give_back() -> None:
    """Return the C heap's free pages to the system. A take's arrays are tens of MB; once one is freed, glibc
    serves the next ones from its heap and keeps what they leave free, so resident memory would creep up to
    several takes' worth (and a forked writer would start with all of it). Called once per take and before
    forking, it costs far less than mapping every large array afresh."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class Sink(Protocol):
    """Where a timeline goes: its master (radio/audio/master.py `Chain`)."""

    def place(self, item_id: str, a: int, b: int, speech: bool) -> None: ...

    def feed(self, x: np.ndarray) -> None: ...


class Mixer:
    """A timeline streamed into its master: items are added at absolute sample positions, and everything
    before a point no later item can reach is flushed to `sink`."""

    def __init__(self, sink: Sink):
        self.sink = sink
        self.buf = np.zeros(0, dtype=np.float32)
        self.base = 0
        self.end = 0  # where the last item ends
        self.last_len = 0
        self.placed: list[Placed] = []
        self.voice: tuple[int, np.ndarray] | None = None  # where the last voice's end lies, and a bed's gain under it
        self.pending: tuple[int, np.ndarray] | None = None  # a bed's tail, ducked under the next voice when it comes

    STEP = 1 << 18  # samples added at a time by `stream`

    def stream(self, start: int, chunks: Iterable[np.ndarray], safe: int,
               under: Callable[[int, int], np.ndarray] | None = None) -> None:
        """Add an item as it comes, a stretch at a time (with `under(k, m)`, the bed under its samples k..k+m),
        flushing behind it up to `safe` (what no later item can reach): the buffer never holds the whole item."""
        k = 0
        for x in chunks:
            for j in range(0, len(x), self.STEP):
                y = x[j: j + self.STEP]
                self.add(start + k, y)
                if under is not None:
                    self.add(start + k, under(k, len(y)))
                self.flush(max(self.base, min(start + k, safe)))
                k += len(y)

    def add(self, start: int, x: np.ndarray) -> None:
        if start < self.base:
            x, start = x[self.base - start:], self.base
        end = start + len(x)
        if end - self.base > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(end - self.base - len(self.buf), dtype=np.float32)])
        self.buf[start - self.base: end - self.base] += x

    def release(self, voice_at: int | None = None, voice: Take | None = None) -> None:
        """Mix a waiting bed tail, ducked under the voice that now starts over it (if any)."""
        if self.pending is None:
            return
        at, tail = self.pending
        self.pending = None
        if voice is not None and voice_at is not None and voice_at < at + len(tail):
            a = max(at, voice_at)
            b = min(at + len(tail), voice_at + voice.n)
            if b > a:
                tail = tail.copy()
                tail[a - at: b - at] *= voice.duck(a - voice_at, b - voice_at)
        self.add(at, tail)

    def fade_out(self, start: int, n: int) -> None:
        """Fade what is already mixed from `start` to silence over `n` samples (the tail an element crosses)."""
        a, b = max(start, self.base) - self.base, min(start + n, self.base + len(self.buf)) - self.base
        if b > a:
            self.buf[a:b] *= np.linspace(1, 0, n, dtype=np.float32)[a - (start - self.base): b - (start - self.base)]
            self.buf[b:] = 0  # nothing of the outgoing item sounds after the crossfade

    def flush(self, upto: int) -> None:
        if self.pending is not None:
            upto = min(upto, self.pending[0])
        k = upto - self.base
        if k <= 0:
            return
        if k > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(k - len(self.buf), dtype=np.float32)])
        self.sink.feed(self.buf[:k])
        rest = self.buf[k:]
        owner = rest.base if rest.base is not None else rest
        # what is left stays where it is (a copy of it all at every step would cost a pass over the show), unless
        # it would keep a much larger array alive
        self.buf = rest if owner.size <= len(rest) + 2 * self.STEP else rest.copy()
        self.base = upto

    def place(self, p: Placed, speech: bool) -> None:
        """Item `p` lies where it says: its master is told before any of its samples are flushed."""
        self.placed.append(p)
        self.sink.place(p.id, p.start, p.end, speech)

    def close(self, total: int) -> None:
        self.release()
        self.flush(total)


class Elements:
    """Station sounds, decoded and levelled once per build (they are short)."""

    def __init__(self, station: Station, rate: int):
        self.station, self.rate = station, rate
        self.lock = threading.Lock()  # assembly and the thread making sources ready both ask
        self.onair: dict[str, np.ndarray] = {}  # each sound decoded and made ready once, at its own level
        self.pod: dict[str, np.ndarray] = {}  # and for the podcast when it plays there
        self.other: dict[tuple[str, float, bool], np.ndarray] = {}  # at another level (the filler's)

    def get(self, name: str, level: float | None = None, *, podcast: bool = False) -> np.ndarray:
        """Element `name` at its own level relative to speech, or at `level` LU if given; for the podcast, with
        its peaks held where the podcast's speech has them."""
        with self.lock:
            return self._get(name, level, podcast)

    def _get(self, name: str, level: float | None, podcast: bool) -> np.ndarray:
        cfg = self.station.config
        own = cfg.elements[name].level
        lv = own if level is None else level
        if lv != own:
            if (name, lv, podcast) not in self.other:
                if podcast:  # its peaks are held at that level: made again from the file
                    x = segment.prepare_element(decode(self.station.element_path(name), self.rate), self.rate,
                                                cfg.loudness.onair_lufs + lv, name, cfg.mix).audio
                    self.other[(name, lv, True)] = self._podcast(x, lv)
                else:  # on air a level is a gain
                    self.other[(name, lv, False)] = self._get(name, None, False) * np.float32(dsp.undb(lv - own))
            return self.other[(name, lv, podcast)]
        if name not in self.onair:
            self.onair[name] = segment.prepare_element(decode(self.station.element_path(name), self.rate),
                                                       self.rate, cfg.loudness.onair_lufs + lv, name, cfg.mix).audio
        if not podcast:
            return self.onair[name]
        if name not in self.pod:
            self.pod[name] = self._podcast(self.onair[name], lv)
        return self.pod[name]

    def _podcast(self, y: np.ndarray, level: float) -> np.ndarray:
        cfg = self.station.config
        return segment.podcast_element(y, self.rate, cfg.loudness.onair_lufs + level, cfg.mix, podcast_peak_db(cfg))


def podcast_mix_lufs(cfg) -> float:
    """The podcast's target for its mono mix: its own target less what a second, identical channel adds."""
    return cfg.loudness.podcast_lufs - (STEREO_DB if cfg.podcast.channels == "stereo" else 0.0)


def podcast_peak_db(cfg) -> float:
    """Where a speech peak would meet the podcast limiter's ceiling, at the on-air level speech is mixed at."""
    L = cfg.loudness
    return (L.podcast_true_peak - L.podcast_ceiling_margin - (podcast_mix_lufs(cfg) - L.onair_lufs)
            - cfg.mix.compressor.headroom)


def prepare(station: Station, week: str, src: Source, rate: int, elements: Elements, allow_clipped: bool
            ) -> Take | Held:
    """A source made ready to mix. A take is streamed from its file (radio/audio/take.py) and held to the take
    gate (radio/takes.py) on the very samples assembly decodes: a silent, near-silent or cut-short take stops
    the build here, before anything is published, and its measurement is kept for status."""
    cfg = station.config
    if src.kind == "speech":
        assert src.path is not None
        path = src.path

        def gate(m) -> None:
            if src.draft:
                return
            takes.remember(station, week, path, m)
            why = takes.judge(station, src.entry.id, path, m, timing.estimate_ms(station, src.entry))
            if why:
                raise AudioError(why)
        return take.prepare(path, rate, cfg.loudness.onair_lufs, station.out_dir(week), silence_db=cfg.audio.silence_db,
                            keep_s=cfg.audio.max_pause, mix=cfg.mix, duck_db=cfg.audio.duck_db,
                            duck_ramp=cfg.audio.duck_ramp, name=f"item {src.entry.id}",
                            allow_clipped=allow_clipped or src.draft, synthetic=src.draft, gate=gate,
                            podcast_peak_db=None if src.entry.item.onair_only else podcast_peak_db(cfg))
    if src.kind == "element":
        name = src.entry.item.element or ""
        return Held(elements.get(name), elements.get(name, podcast=True))
    name = src.entry.item.bed or src.entry.item.element or ""
    n = rd.parse_duration_ms(src.entry.item.duration or "0") * rate // 1000
    return Looped(elements.get(name), n, round(cfg.audio.bed_fade * rate))


class Ahead:
    """The sources made ready in order by a thread of their own, behind the encoder (radio/audio/master.py),
    ahead of the one being mixed: at least `depth` sources, and more while what waits is shorter than `minutes`
    of recording. Started as soon as made, so the first takes are decoded while the rest of assembly sets up,
    and a long interview after a few short items is read from the start (its first pass, which the mix must
    wait for, overlaps everything before it)."""

    def __init__(self, station: Station, week: str, sources: list[Source], rate: int, elements: Elements,
                 allow_clipped: bool, depth: int = 2, minutes: float = 10):
        self.station, self.week, self.rate, self.elements, self.allow_clipped = station, week, rate, elements, allow_clipped
        self.sources, self.next = sources, 0
        self.pool = ThreadPoolExecutor(1, initializer=lower)
        self.futures: deque[tuple[Future, float]] = deque()
        self.depth, self.budget, self.waiting = depth, minutes * 60, 0.0
        self._more()

    def _more(self) -> None:
        while self.next < len(self.sources) and (len(self.futures) < self.depth or self.waiting < self.budget):
            src = self.sources[self.next]
            seconds = media.duration_ms(src.path) / 1000 if src.kind == "speech" and src.path is not None else 0.0
            self.futures.append((self.pool.submit(prepare, self.station, self.week, src, self.rate, self.elements,
                                                  self.allow_clipped), seconds))
            self.waiting += seconds
            self.next += 1

    def get(self) -> Take | Held:
        """The next source, made ready (what went wrong making it is raised here)."""
        future, seconds = self.futures.popleft()
        self.waiting -= seconds
        self._more()
        return future.result()

    def close(self) -> None:
        """No work left running, and what was made ready but never mixed let go of."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for future, _ in self.futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()
        self.futures.clear()


class Lane:
    """The podcast's timeline, laid in a thread of its own while the on-air one is laid in the mix's. The MP3
    encoder takes its samples as fast as it can; laid one after the other, the two timelines left it waiting
    while each take went on air (a fifth of its time on a show of five-minute reads, all of an hour-long
    interview's on-air pass). Sources come in order, at most `depth` waiting; each comes back `done` once laid,
    so whoever holds it closes it when both timelines have it. `stop` makes the thread leave within a step."""

    def __init__(self, lay: Callable[[Source, Take | Held], None], finish: Callable[[], None], depth: int = 2):
        self.lay, self.finish = lay, finish
        self.q: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="radio-podcast", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        handed = False  # the last source is handed over: nothing more comes
        try:
            while (job := self.q.get()) is not None:
                src, prep, done = job
                self.lay(src, prep)
                done.set()
                give_back()
            handed = True
            if not self.stopped:
                self.finish()
        except BaseException as e:  # raised again in the mix's thread
            self.error = e
            while not handed and self.q.get() is not None:  # what is still handed over is never laid
                pass

    def put(self, src: Source, prep: Take | Held) -> threading.Event:
        """Hand over a source; the event is set once it is laid."""
        self.check()
        done = threading.Event()
        self.q.put((src, prep, done))
        return done

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def feed(self, sink: Sink) -> Sink:
        """`sink`, as the podcast's timeline writes to it: after `stop`, a write raises instead."""
        lane = self

        class Stoppable:
            def place(self, *a) -> None:
                sink.place(*a)

            def feed(self, x: np.ndarray) -> None:
                if lane.stopped:
                    raise AudioError("the podcast's mix was stopped", fix="build again")
                sink.feed(x)
        return Stoppable()

    def join(self) -> None:
        """Wait until every source handed over is laid and the timeline closed; raise what failed."""
        self.q.put(None)
        self.thread.join()
        self.check()

    def stop(self) -> None:
        """Leave now (the mix failed): what is being laid stops at its next step."""
        self.stopped = True
        if self.thread.is_alive():
            self.q.put(None)
            self.thread.join()


def balance(station: Station, sources: list[Source], rate: int, elements: Elements, *, podcast: bool) -> float:
    """Where a timeline's integrated loudness will sit against its speech (LU), from the rundown alone: speech
    is mixed at the target, every station sound at its `level` (the filler at `[mix] filler_level`), so the
    programme's loudness is their mean power over time; what falls under the relative gate (10 LU below)
    does not count, as in the meter."""
    cfg = station.config
    parts: list[tuple[float, float]] = []  # (seconds, level against speech)
    for s in sources:
        it = s.entry.item
        if podcast and it.onair_only:
            continue
        if s.kind == "speech" and s.path is not None:
            parts.append((media.duration_ms(s.path) / 1000, 0.0))
        elif s.kind == "element" and it.element:
            parts.append((len(elements.get(it.element)) / rate, cfg.elements[it.element].level))
        elif s.kind == "bed" and (it.bed or it.element):
            parts.append((rd.parse_duration_ms(it.duration or "0") / 1000, cfg.elements[it.bed or it.element or ""].level))
    if not podcast and cfg.audio.filler and station.on_air:
        show = sum(d for d, _ in parts)
        parts.append((max(0.0, cfg.show.slot_ms / 1000 - show), cfg.mix.filler_level))
    mean = 0.0
    for _ in range(2):
        kept = [(d, lv) for d, lv in parts if lv > mean - 10 and d > 0]
        total = sum(d for d, _ in kept)
        if not total:
            return 0.0
        mean = 10 * math.log10(sum(d * 10 ** (lv / 10) for d, lv in kept) / total)
    return mean


def bed_under(station: Station, mix: Mixer, start: int, voice: Take | Held, name: str, rate: int,
              elements: Elements) -> Callable[[int, int], np.ndarray]:
    """The bed for a speech item: it fades in before the voice, ducks under it, and fades out after; where its
    fades reach a neighbouring voice they duck under that voice too. The lead-in is mixed now, the tail waits
    for the next voice, and the part under the voice is returned as a function of where in the voice it lies:
    it is made a stretch at a time, as the voice is mixed."""
    a = station.config.audio
    loop = elements.get(name)
    lead = round(a.bed_fade * rate)
    nv = voice.n
    duck = np.float32(dsp.undb(a.duck_db))
    ramp = min(lead, round(a.duck_ramp * rate))
    head = segment.loop_to(loop, lead, 0).astype(np.float32, copy=True)
    tail = segment.loop_to(loop, lead, lead + nv).astype(np.float32, copy=True)
    if ramp:  # ease into and out of the ducked level at the voice's edges
        head[lead - ramp:] *= np.linspace(1, duck, ramp, dtype=np.float32)
        tail[:ramp] *= np.linspace(duck, 1, ramp, dtype=np.float32)
    if lead:
        head *= np.linspace(0, 1, lead, dtype=np.float32)
        tail *= np.linspace(1, 0, lead, dtype=np.float32)
    at = start - lead
    if mix.voice is not None:  # the lead-in under the end of the voice before
        v_at, env = mix.voice
        a0, b0 = max(at, v_at), min(start, v_at + len(env))
        if b0 > a0:
            head[a0 - at: b0 - at] *= env[a0 - v_at: b0 - v_at]
    if at < 0:
        head, at = head[-at:], 0
    mix.add(at, head)
    mix.pending = (start + nv, tail)

    def under(k: int, m: int) -> np.ndarray:
        return segment.loop_to(loop, m, lead + k) * voice.duck(k, k + m)
    return under


@dataclass
class Mixed:
    """What pass 1 made: the two raw timelines, their meters and where every item lies."""
    on: Mixer
    pod: Mixer
    total_on: int
    total_pod: int
    warnings: list[str] = field(default_factory=list)
    over_check: list[tuple[rd.Entry, int]] = field(default_factory=list)
    dynamics: dict[str, dict] = field(default_factory=dict)
    takes: dict[str, dict] = field(default_factory=dict)  # each take's gain and cleaning, for the audio report


def mix(station: Station, rundown: rd.Rundown, sources: list[Source], sink_on: Sink, sink_pod: Sink, *,
        allow_over: bool, allow_clipped: bool, progress: Progress,
        first_speech: Callable[[], None] = lambda: None, elements: Elements | None = None, ahead: Ahead | None = None
        ) -> Mixed:
    """Mix every source into both timelines, made ready by `ahead` (started here if not given).
    `first_speech` is called before anything reaches the podcast's master (it settles the podcast's gain)."""
    cfg = station.config
    a = cfg.audio
    rate = a.sample_rate
    slot = cfg.show.slot_ms * rate // 1000
    gap = round(a.gap * rate)
    retain = max([round(a.bed_fade * rate)] + [round(e.crossfade * rate) for e in cfg.elements.values()])
    last_speech = max((i for i, s in enumerate(sources) if s.kind == "speech"), default=-1)
    # closing elements after the last voice are back-timed: the filler goes before them
    first_trailing = last_speech + 1 if last_speech + 1 < len(sources) and all(
        s.kind == "element" for s in sources[last_speech + 1:]) else None
    elements = elements or Elements(station, rate)
    on, pod = Mixer(sink_on), Mixer(sink_pod)
    out = Mixed(on, pod, 0, 0)
    filling = not allow_over and station.on_air

    def lay(mixer: Mixer, src: Source, prep: Take | Held, first_closing: bool) -> None:
        """Source `src`, made ready, into one timeline: after what is there, with the gap or its crossfade."""
        podcast = mixer is pod
        it = src.entry.item
        overlap = round(cfg.elements[it.element].crossfade * rate) if it.type == "element" and it.element else 0
        if mixer.placed:
            start = mixer.end - min(overlap, mixer.last_len) if overlap else mixer.end + gap
        else:
            start = 0
        if not podcast and first_closing and on.placed and on.placed[-1].id == "filler":
            start = on.end
        speech = src.kind == "speech"
        n = prep.n
        mixer.release(start if speech else None, prep if speech else None)
        under = bed_under(station, mixer, start, prep, it.bed, rate, elements) if it.bed and speech else None
        cross = mixer.end - start if mixer.placed and start < mixer.end else 0
        if cross:  # a crossfade: the outgoing tail fades down as this element fades up
            mixer.fade_out(start, cross)
        safe = start + n - retain - (round(a.bed_fade * rate) if it.bed else 0)
        mixer.place(Placed(it.id, src.entry.title, it.type, it.host, _rel(station, src.path) if speech
                           else cfg.elements[it.element or it.bed or ""].file, src.draft, start,
                           start + n), speech)
        chunks = prep.podcast() if podcast else prep.onair()
        if cross:
            chunks = iter([segment.fade(np.concatenate(list(chunks)), rate, cross / rate, 0.0)])
        mixer.stream(start, chunks, safe, under)
        del under
        # a later bed's lead-in ducks under this voice: only its end is kept for that
        keep = min(n, round(a.bed_fade * rate))
        mixer.voice = (start + n - keep, prep.duck(n - keep, n)) if speech else None
        mixer.end, mixer.last_len = start + n, n
        mixer.flush(max(mixer.base, safe))

    def close_podcast() -> None:
        """The podcast is whole: its encoder finishes while the on-air filler and closing are still mixed."""
        out.total_pod = pod.end
        pod.close(out.total_pod)

    ahead = ahead or Ahead(station, rundown.week, sources, rate, elements, allow_clipped)
    lane = Lane(lambda src, prep: lay(pod, src, prep, False), close_podcast)
    pod.sink = lane.feed(pod.sink)
    closing: list[tuple[Source, Take | Held]] = []  # the closing elements, laid on air after the filler
    laying: deque[tuple[Take | Held, threading.Event | None]] = deque()  # on air, perhaps still on the podcast
    try:
        for i, src in enumerate(sources):
            progress("assemble", i + 1, len(sources), src.entry.id)
            prep = ahead.get()
            if first_speech is not None:
                first_speech()
                first_speech = None
            out.warnings += prep.warnings
            if prep.dynamics:
                out.dynamics[src.entry.id] = prep.dynamics
            out.over_check.append((src.entry, prep.n))
            if src.kind == "speech":
                out.takes[src.entry.id] = {"gain_db": prep.gain_db, **prep.stats}
            podcast = lane.put(src, prep) if not src.entry.item.onair_only else None
            if first_trailing is not None and i >= first_trailing and filling:
                closing.append((src, prep))  # a station sound, held whole: on air after the filler
                continue
            lay(on, src, prep, False)
            laying.append((prep, podcast))
            while laying and (laying[0][1] is None or laying[0][1].is_set()):
                laying.popleft()[0].close()
            give_back()
        if first_speech is not None:
            first_speech()
        for k, (src, prep) in enumerate(closing):  # while the podcast's timeline is still laid
            if k == 0:
                fill(station, sources, first_trailing, on, gap, slot, rate, elements, out.warnings)
            lay(on, src, prep, k == 0)
        content = on.end
        if first_trailing is None and filling and content < slot:
            fill(station, sources, len(sources), on, gap, slot, rate, elements, out.warnings)
        if content > slot and not allow_over:
            over = content - slot
            raise AudioError(f"the show runs over its {format_ms(slot * 1000 // rate)} "
                             f"{'slot' if station.on_air else 'maximum length'} by {ms_text(over * 1000 // rate)}"
                             + _cuts(station, rundown, out.over_check, rate),
                             fix="cut or shorten items, mark them skip: true, or pass --allow-over")
        lane.join()
    finally:
        lane.stop()  # after an error: nothing left laying, no decode left running
        ahead.close()
        for prep, _ in laying:
            prep.close()
        for _, prep in closing:
            prep.close()
    if content > slot:
        out.warnings.append(f"the on-air master runs over its slot by {ms_text((content - slot) * 1000 // rate)}")
    out.total_on = max(slot, content) if station.on_air else content  # a podcast-only edition fills no slot
    on.close(out.total_on)
    return out


def _rel(station: Station, p: Path | None) -> str | None:
    return str(p.relative_to(station.root)) if p is not None else None


def ms_text(ms: int) -> str:
    return f"{format_ms(ms)}" if ms >= 1000 else f"{ms} ms"


def _cuts(station: Station, rundown: rd.Rundown, lengths: list[tuple[rd.Entry, int]], rate: int) -> str:
    actual = {e.id: n * 1000 // rate for e, n in lengths}
    show = timing.show_time(station, rundown, actuals=actual)
    return f"; cut candidates: {', '.join(show.cut)}" if show.cut else ""


def fill(station: Station, sources: list[Source], i: int, on: Mixer, gap: int, slot: int, rate: int,
         elements: Elements, warnings: list[str]) -> None:
    """Fill the under-run before the closing elements, so they end exactly at the end of the slot. The filler
    plays alone, so it sits at the programme's level (`[mix] filler_level`), and is mixed a few seconds at a
    time: memory does not grow with the length of the under-run."""
    cfg = station.config
    closing = [sources[j].entry.item.element or "" for j in range(i, len(sources))]
    tail = timing.lay_out([len(elements.get(n)) for n in closing],
                      [0] + [round(cfg.elements[n].crossfade * rate) for n in closing[1:]], gap)[1] if closing else 0
    start = on.end + (gap if on.placed else 0)
    n = slot - tail - start
    if n <= 0:
        return
    name = cfg.audio.filler
    on.release()
    on.place(Placed("filler", "Filler", "filler", None, cfg.elements[name].file if name else None, False,
                    start, start + n), False)
    if name:
        bed = elements.get(name, cfg.mix.filler_level)
        f = min(round(cfg.audio.bed_fade * rate), n // 2)
        step = FILL_STEP * rate
        for k in range(0, n, step):
            m = min(step, n - k)
            x = segment.loop_to(bed, m, k)
            pos = np.arange(k, k + m)
            if k < f or k + m > n - f:
                env = np.minimum(1.0, np.minimum(pos / max(f, 1), (n - pos) / max(f, 1))).astype(np.float32)
                x = x * env
            on.add(start + k, x)
            on.flush(max(on.base, start + k + m - round(cfg.audio.bed_fade * rate)))
    else:
        warnings.append(f"the show is {format_ms(n * 1000 // rate)} short of its slot: filled with silence "
                        "(set [audio] filler to a bed to fill it with music)")
    on.end, on.last_len = start + n, n
    on.voice = None
    on.flush(max(on.base, on.end - round(cfg.audio.bed_fade * rate)))

"""The one owner of a show's times: estimates (from words and the host's rate), actuals (the takes, or where
the items are in the assembled master), front and back times, the total against the slot and the cut
candidates. Status, the script, the run sheet, the studio, the summary and the gates all read `show_time`, so
every surface gives the same totals for the same inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from radio import media, recorded, takes
from radio.asrun import AsRun
from radio.config import format_ms, parse_duration_ms
from radio.errors import RadioError
from radio.rundown.model import SPEECH, Entry, Rundown, load, words
from radio.stages import current
from radio.station import Station

DEFAULT_WPM = 165.0  # a host without a configured rate


def recording(station: Station, week: str, item_id: str) -> Path | None:
    """The take an item uses: the newest `segments/<item-id>.<ext>` (see radio.takes)."""
    return takes.scan(station, week, [item_id]).recordings.get(item_id)


def estimate_ms(station: Station, entry: Entry, wpm: float | None = None) -> int:
    """How long an item takes to read, from its words and the host's rate (the configured one unless given)."""
    if entry.item.type not in SPEECH:
        return 0
    host = next((h for h in station.config.hosts if h.id == entry.item.host), None)
    return estimate(words(entry.text), wpm or (host.rate_wpm if host else DEFAULT_WPM))


def draft_path(station: Station, week: str, item_id: str) -> Path:
    return station.drafts_dir(week) / f"{item_id}.wav"


@dataclass
class ItemTime:
    entry: Entry
    number: int  # 1-based among live items; 0 when skipped
    state: str  # recorded | rejected | stale | missing | draft | element | bed | skipped
    words: int
    estimated_ms: int
    actual_ms: int | None
    media: str | None
    front_ms: int = 0
    back_ms: int = 0
    problem: str | None = None  # why its take cannot air (state rejected)

    @property
    def duration_ms(self) -> int:
        return self.actual_ms if self.actual_ms is not None else self.estimated_ms


@dataclass
class ShowTime:
    slot_ms: int
    items: list[ItemTime]
    rates: dict[str, tuple[float, float | None]]  # host -> (configured wpm, measured wpm)
    total_ms: int = 0
    cut: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # takes set aside, misnamed files
    assembled: bool = False  # times are the as-run's, from the assembled master
    stale: dict[str, str] = field(default_factory=dict)  # item id -> why its recording predates its text

    @property
    def over_ms(self) -> int:
        return self.total_ms - self.slot_ms


def overlap_ms(station: Station, entry: Entry) -> int:
    """How far an item overlaps the one before it (an element's crossfade)."""
    if entry.item.type == "element" and entry.item.element:
        return round(station.config.elements[entry.item.element].crossfade * 1000)
    return 0


def lay_out(durations: list[int], overlaps: list[int], gap_ms: int) -> tuple[list[int], int]:
    """Start of each item and the total, in integer ms: a gap between items unless the next one overlaps."""
    starts, t = [], 0
    for i, (d, o) in enumerate(zip(durations, overlaps)):
        if i:
            t += -min(o, durations[i - 1]) if o else gap_ms
        starts.append(t)
        t += d
    return starts, t


def cut_candidates(live: list[ItemTime], overlaps: list[int], gap_ms: int, slot_ms: int) -> list[str]:
    """The lowest-priority report items whose removal brings the show within the slot (laid out again, exactly).

    Each cut joins its neighbours: the total changes by what the cut item and its two joins took and what the new
    join takes, so a rundown of a thousand reports is not laid out again a thousand times."""
    pool = sorted((t for t in live if t.entry.report is not None),
                  key=lambda t: (-t.entry.report.priority, -t.number))  # type: ignore[union-attr]
    durations = [x.duration_ms for x in live]
    n = len(live)

    def join(a: int, b: int) -> int:  # what lay_out puts between a and the next item kept, b
        return -min(overlaps[b], durations[a]) if overlaps[b] else gap_ms

    total = lay_out(durations, overlaps, gap_ms)[1]
    before, after = list(range(-1, n - 1)), list(range(1, n + 1))
    where = {x.entry.id: i for i, x in enumerate(live)}
    cut: list[str] = []
    for t in pool:
        if total <= slot_ms:
            break
        k = where[t.entry.id]
        p, q = before[k], after[k]
        total -= durations[k] + (join(p, k) if p >= 0 else 0) + (join(k, q) if q < n else 0)
        total += join(p, q) if p >= 0 and q < n else 0
        if p >= 0:
            after[p] = q
        if q < n:
            before[q] = p
        cut.append(t.entry.id)
    return cut


def show_time(station: Station, rundown: Rundown, *, actuals: dict[str, int] | None = None,
           as_run: AsRun | None = None, accept_stale: bool = False, decode_takes: bool = True,
           record: bool = True) -> ShowTime:
    """Estimated and actual durations, front and back times, over/under and cut candidates.

    Before assembly, an item's actual time is its take's length. With the week's `as_run` (current: assembled
    from the rundown and takes as they are), actual, front and back times and the total are where the items are
    in the on-air master. `actuals` override durations (assembly's own over-run check). Each recording is checked
    against the text it was recorded with (radio/recorded.py): one made before its words changed is `stale`.
    Without `decode_takes`, takes not measured yet are taken as they are (assembly, about to decode them, checks
    them itself).
    """
    cfg = station.config
    week = rundown.week
    found = takes.scan(station, week, [e.id for e in rundown.entries if e.item.type in SPEECH])
    measured: dict[str, tuple[int, int]] = {}  # host -> (words, ms) over takes that can air
    rec_ms: dict[str, int] = {}
    problems: dict[str, str] = {}
    for e in rundown.entries:
        if e.item.type not in SPEECH:
            continue
        if e.id in found.refused:
            problems[e.id] = f"item {e.id}: {found.refused[e.id]} (replace it with the recording itself)"
            continue
        p = found.recordings.get(e.id)
        if p is None:
            continue
        why = takes.problem(station, week, e.id, p, estimate_ms(station, e), decode=decode_takes, keep=record)
        if why is None:
            try:
                rec_ms[e.id] = media.duration_ms(p)
            except RadioError as err:
                why = f"item {e.id}: {err.format_message()}"
        if why:
            problems[e.id] = why
            continue
        w, ms = measured.get(e.item.host or "", (0, 0))
        measured[e.item.host or ""] = (w + words(e.text), ms + rec_ms[e.id])
    stale = recorded.stale(station, rundown, accept=accept_stale, register=record)
    rates: dict[str, tuple[float, float | None]] = {}
    for h in cfg.hosts:
        w, ms = measured.get(h.id, (0, 0))
        rates[h.id] = (h.rate_wpm, round(w * 60000 / ms, 1) if ms >= 5000 and w else None)
    placed = as_run.placed() if as_run else {}
    times: list[ItemTime] = []
    number = 0
    for e in rundown.entries:
        it = e.item
        n_words = words(e.text)
        est, actual, state, media_rel = 0, None, "missing", None
        if it.type in SPEECH:
            conf, meas = rates[it.host or ""] if it.host in rates else (DEFAULT_WPM, None)
            est = estimate(n_words, meas or conf)
            p = found.recordings.get(it.id)
            if it.id in problems:
                state = "rejected"
                media_rel = str(p.relative_to(station.root)) if p else None
            elif p is not None:
                actual, state, media_rel = rec_ms[it.id], "recorded", str(p.relative_to(station.root))
                if it.id in stale:
                    state = "stale"
            if it.id in placed and placed[it.id].draft:
                state, media_rel = "draft", placed[it.id].source
        elif it.type == "element":
            p = station.element_path(it.element or "")
            if not p.is_file():
                raise RadioError(f"element {it.element!r}: {cfg.elements[it.element or ''].file} does not exist",
                                 where=station.root / "radio.toml", fix="fix its file = in [elements], or add the file")
            est = media.duration_ms(p)
            actual, state, media_rel = est, "element", cfg.elements[it.element or ""].file
        else:  # a bed on its own, for a set time
            est = parse_duration_ms(it.duration or "0")
            actual, state, media_rel = est, "bed", cfg.elements[it.bed or it.element or ""].file
        if actuals and it.id in actuals:
            actual = actuals[it.id]
        if it.id in placed:
            actual = placed[it.id].duration_ms
        if it.skip:
            state = "skipped"
        else:
            number += 1
        times.append(ItemTime(e, number if not it.skip else 0, state, n_words, est, actual, media_rel,
                              problem=problems.get(it.id)))
    live = [t for t in times if t.number]
    gap = round(cfg.audio.gap * 1000)
    overlaps = [overlap_ms(station, t.entry) for t in live]
    starts, total = lay_out([t.duration_ms for t in live], overlaps, gap)
    slot = cfg.show.slot_ms
    if as_run is not None:  # where the items are in the master (the closing theme back-timed to the slot's end)
        starts = [placed[t.entry.id].start_ms if t.entry.id in placed else s for t, s in zip(live, starts)]
        total = as_run.content_ms // 1000 * 1000  # whole seconds: the total and the under-run add up to the slot
    for t, s in zip(live, starts):
        t.front_ms = s
        t.back_ms = slot - s - t.duration_ms
    show = ShowTime(slot, times, rates, total, notes=found.notes, assembled=as_run is not None, stale=stale)
    show.cut = cut_candidates(live, overlaps, gap, slot) if total > slot else []
    return show


def over_under(ms: int) -> str:
    if ms == 0:
        return "exactly on time"
    return f"over by {format_ms(ms)}" if ms > 0 else f"under by {format_ms(-ms)}"


def against_slot(station: Station, show: ShowTime) -> str:
    """The show against its slot in words, with what fills an under-run: said the same by status and the summary."""
    fill = f" (filled with {station.config.audio.filler or 'silence'})" if show.over_ms < 0 else ""
    return over_under(show.over_ms) + fill


def estimate(n_words: int, wpm: float) -> int:
    """How long `n_words` take to read at `wpm` (ms): the one estimate formula."""
    return round(n_words * 60000 / wpm)


def timed(station: Station, week: str, *, as_run: bool = True, rundown: Rundown | None = None,
          decode_takes: bool = True, record: bool = True) -> tuple[Rundown, ShowTime]:
    """The week's rundown and its times: the one function status, the script, the run sheet, the studio and the
    build summary read, so they always give the same total. With `as_run`, and an as-run assembled from the
    rundown and takes as they are now (radio/stages.py), the times are where the items are in the on-air master.
    `rundown`: the week's, when the caller has just loaded it. `record=False` (status) writes nothing: takes are
    measured but not remembered, recordings judged but not registered."""
    rundown = rundown if rundown is not None else load(station, week)
    built = current(station, week) if as_run else None
    return rundown, show_time(station, rundown, as_run=built.as_run if built else None, decode_takes=decode_takes,
                              record=record)

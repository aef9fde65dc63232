"""What the studio shows: the rundown timed as `radio status` times it, one item for the prompter, a take judged.

Everything here comes from the rundown resolved to public reports (radio.rundown) and the script's rows
(radio.script): the studio holds no report's private block and reads nothing under private/.
"""

from __future__ import annotations

import threading
from pathlib import Path

from radio import media
from radio.rundown import edits
from radio.rundown import model as rd
from radio import timing
from radio.audio import dsp, segment
from radio.audio.decode import decode
from radio.config import CONFIG_NAME, format_ms
from radio.station import Station
from radio.errors import RadioError
from radio.script import reminders, rows
from radio import takes
from radio.studio import store



def _stat(p: Path) -> tuple:
    try:
        st = p.stat()
        return (p.name, st.st_size, st.st_mtime_ns)
    except OSError:
        return (p.name, None)


def fingerprint(station: Station, week: str) -> tuple:
    """Every file the state depends on, by size and time: a take dropped in by hand changes it."""
    out = station.out_dir(week)
    files = [station.root / CONFIG_NAME, rd.rundown_path(station, week), out / "as-run.json", out / ".build.json"]
    for folder, pattern in ((station.reports_dir(week), "*.md"), (store.segments(station, week), "*"),
                            (station.drafts_dir(week), "*.wav")):
        if folder.is_dir():
            files += sorted(p for p in folder.glob(pattern) if not p.name.startswith("."))
    return tuple(_stat(p) for p in files)


class Live:
    """The week's state for the pages, recomputed only when one of its files changes (pages poll it)."""

    def __init__(self, station: Station, week: str):
        self.station, self.week = station, week
        self._lock = threading.Lock()
        self._cache: tuple[tuple, dict] | None = None

    def state(self) -> dict:
        with self._lock:
            fp = fingerprint(self.station, self.week)
            if self._cache is None or self._cache[0] != fp:
                self._cache = (fp, state(self.station, self.week))
            return self._cache[1]


def _timed(station: Station, week: str, actuals: dict[str, int] | None = None):
    """The week's times as status gives them (the as-run's, when it is current); with `actuals`, what they would
    be with those lengths (a take just recorded: the as-run is not current any more)."""
    if actuals is None:
        return timing.timed(station, week)
    rundown = rd.load(station, week)
    return rundown, timing.show_time(station, rundown, actuals=actuals)


def state(station: Station, week: str) -> dict:
    path = rd.rundown_path(station, week)
    digest = edits.digest(path.read_bytes()) if path.is_file() else ""
    try:
        rundown, show = _timed(station, week)
    except RadioError as e:
        return {"week": week, "digest": digest, "error": e.format_message()}
    items = []
    for r, t in zip(rows(station, week, show, reminders(station, rundown)), show.items):
        speech = t.entry.item.type in rd.SPEECH
        items.append({
            "id": r.id, "number": r.number, "title": r.title, "type": r.type, "host": r.host_name,
            "state": "set aside" if r.skipped else r.status, "skipped": r.skipped, "speech": speech,
            "estimated": r.estimated, "actual": r.actual, "front": r.front, "back": r.back, "hit": r.hit,
            "cut": r.id in show.cut,
            "takes": [tk.n for tk in store.takes(station, week, r.id)] if speech else [],
            "kept": store.kept(station, week, r.id) if speech else None,
        })
    return {
        "week": week, "digest": digest, "title": rundown.title, "slot": format_ms(show.slot_ms),
        "total": format_ms(show.total_ms), "over_under": timing.over_under(show.over_ms), "over": show.over_ms > 0,
        "cut": show.cut, "items": items,
        "rates": {h: {"configured": c, "measured": m} for h, (c, m) in show.rates.items()},
    }


def speech_ids(station: Station, week: str) -> list[str]:
    """The items a host can record, in rundown order: the only names an upload may carry."""
    return [e.id for e in rd.load(station, week).entries if e.item.type in rd.SPEECH]


def booth(station: Station, week: str, item: str) -> dict:
    """One item for the prompter: its public text, in and out words, target, the host's reading rate, takes."""
    rundown, show = _timed(station, week)
    rs = {r.id: r for r in rows(station, week, show, reminders(station, rundown))}
    t = next(x for x in show.items if x.entry.id == item)
    r = rs[item]
    conf, meas = show.rates.get(t.entry.item.host or "", (timing.DEFAULT_WPM, None))
    live = [x.entry.id for x in show.items if x.entry.item.type in rd.SPEECH and not x.entry.item.skip]
    order = live if item in live else [x.entry.id for x in show.items if x.entry.item.type in rd.SPEECH]
    i = order.index(item)
    return {
        "id": item, "title": r.title, "host": r.host_name, "number": r.number, "paragraphs": r.paragraphs,
        "in_words": r.in_words, "out_words": r.out_words, "words": r.words, "target": r.estimated,
        "target_ms": t.estimated_ms, "wpm": meas or conf, "wpm_measured": meas is not None,
        "state": "set aside" if r.skipped else r.status, "actual": r.actual,
        "prev": order[i - 1] if i > 0 else None, "next": order[i + 1] if i + 1 < len(order) else None,
        "takes": [{"n": tk.n, "length": format_ms(media.duration_ms(tk.path))} for tk in store.takes(station, week, item)],
        "kept": store.kept(station, week, item),
        "show": {"total": format_ms(show.total_ms), "over_under": timing.over_under(show.over_ms),
                 "over": show.over_ms > 0},
    }


def judge(station: Station, week: str, item: str, path: Path, ms: int) -> dict:
    """Measure a take as the build does (decoded at the show's rate, loudness, clipping, dead air trimmed) and
    say whether it is usable and whether the show would still fit with it."""
    cfg = station.config
    rate = cfg.audio.sample_rate
    x = decode(path, rate, ms + 2000)  # room to spare: the decoder grows its buffer badly
    loud = dsp.measure(x, rate)
    mix = cfg.mix
    clips = segment.clipped_runs(x, mix.clip_level, mix.clip_run)
    speech = segment.trim(x, rate, cfg.audio.silence_db, cfg.audio.max_pause, mix.click_max, mix.digital_floor_db)[0]
    speech_ms = len(speech) * 1000 // rate
    _, now = _timed(station, week)
    est = next(t.estimated_ms for t in now.items if t.entry.id == item)
    _, then = _timed(station, week, {item: ms})
    problems, warnings = [], []
    why = takes.problem(station, week, item, path, est)  # the build's own gate: silent, near silent, cut short
    problems += [why] if why else []
    if clips:  # the build refuses a clipped take unless told --allow-clipped
        problems.append(f"it clips in {clips} place{'s' if clips > 1 else ''}: record it again a little lower")
    return {
        "length": format_ms(ms), "ms": ms, "speech": format_ms(speech_ms), "loudness": loud["integrated"],
        "true_peak": loud["true_peak"], "clips": clips, "usable": not problems, "problems": problems,
        "warnings": warnings, "estimated": format_ms(est),
        "if_kept": {"total": format_ms(then.total_ms), "over_under": timing.over_under(then.over_ms),
                    "fits": then.over_ms <= 0},
    }

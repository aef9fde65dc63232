"""Story threads: one dispute followed across weeks (`thread:` on a report).

The desk sees every report of a thread; the host and the listener see only what may be published: a report
that is not verified (held, rejected, unverified) or was retracted is left out, and a report's place follows
its exposure, as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from radio import history
from radio.station import Station, parse_week
from radio.errors import RadioError
from radio.publishable import why_not
from radio.reports.files import load_week
from radio.reports.model import PublicReport, Report, check_id, public
from radio.text import table


@dataclass(frozen=True)
class ThreadItem:
    week: str
    report: PublicReport


def _previous_week(week: str) -> str:
    y, w = parse_week(week)
    d = dt.date.fromisocalendar(y, w, 1) - dt.timedelta(days=7)
    iy, iw, _ = d.isocalendar()
    return f"{iy}-W{iw:02d}"


def desk_items(station: Station, thread: str) -> list[tuple[str, Report, str]]:
    """(week, report, state) for every report of a thread, oldest week first: the desk's view."""
    try:
        check_id(thread, "thread")
    except ValueError as e:
        raise RadioError(str(e), fix="name a thread as reports spell it, e.g. kestrel-ridge-strike") from None
    out = []
    for week in sorted(station.weeks()):
        files, _ = load_week(station, week)
        gone = history.retracted(station, week)
        for rf in files:
            if rf.report.thread == thread:
                out.append((week, rf.report, "retracted" if rf.report.id in gone else rf.report.status))
    return out


def public_items(station: Station, thread: str, *, before: str | None = None,
                 weeks: set[str] | None = None) -> list[ThreadItem]:
    """What may be shown of a thread: what may be published, each as its public projection."""
    out = []
    for week, r, state in desk_items(station, thread):
        if (before and week >= before) or (weeks is not None and week not in weeks):
            continue
        if why_not(station, r, {r.id} if state == "retracted" else ()) is None:  # radio/publishable.py decides
            out.append(ThreadItem(week, public(r, r.id)))
    return out


def threads_in(station: Station, weeks: list[str]) -> list[str]:
    names: set[str] = set()
    for week in weeks:
        files, _ = load_week(station, week)
        names |= {rf.report.thread for rf in files if rf.report.thread}
    return sorted(names)


def render_list(station: Station, thread: str) -> str:
    items = desk_items(station, thread)
    if not items:
        return f"no reports in thread {thread}"
    rows = [[week, r.id, state, r.kind, r.title] for week, r, state in items]
    weeks = sorted({w for w, _, _ in items})
    return (table(["WEEK", "ID", "STATUS", "KIND", "TITLE"], rows, widths={1: 36, 4: 60})
            + f"\nthread {thread}: {len(items)} reports in {len(weeks)} week{'s' if len(weeks) > 1 else ''}")


def previously(station: Station, week: str, report: PublicReport) -> str | None:
    """The host's reminder for an item in a running thread: the latest earlier item's headline and date."""
    if not report.thread:
        return None
    earlier = public_items(station, report.thread, before=week)
    if not earlier:
        return None
    last_week = earlier[-1].week
    last = sorted((i.report for i in earlier if i.week == last_week), key=lambda r: (r.priority, r.id))[0]
    air = station.air_datetime(last_week)
    return f"Previously ({air:%A} {air.day} {air:%B}): {last.title.rstrip('.')}."


def follow_ups(station: Station, week: str) -> list[str]:
    """Threads with an item last week and none on air this week: the planner's suggestions."""
    prev = _previous_week(week)
    out = []
    for thread in threads_in(station, [prev]):
        last = public_items(station, thread, weeks={prev})
        if not last or public_items(station, thread, weeks={week}):
            continue
        waiting = [r.id for w, r, state in desk_items(station, thread) if w == week]
        titles = "; ".join(i.report.title.rstrip(".") for i in last)
        line = f"follow up? thread {thread}: last week {titles}; nothing on air this week"
        if waiting:
            line += f" ({', '.join(waiting)} not verified yet)"
        out.append(line)
    return out

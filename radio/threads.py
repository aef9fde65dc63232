"""Story threads: one dispute followed across weeks (`thread:` on a report).

The desk sees every report of a thread; the host and the listener see only what may be published: a report
that is not verified (held, rejected, unverified) or was retracted is left out, and a report's place follows
its exposure, as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from radio import index, publicid
from radio.station import Station, parse_week
from radio.errors import RadioError
from radio.publishable import why_not
from radio.reports.files import load_week, read_report, reports_dir
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


def _check_thread(thread: str) -> None:
    try:
        check_id(thread, "thread")
    except ValueError as e:
        raise RadioError(str(e), fix="name a thread as reports spell it, e.g. kestrel-ridge-strike") from None


def _report(station: Station, week: str, rid: str) -> Report:
    return read_report(reports_dir(station, week) / f"{rid}.md", station.config.verification).report


def _pid(station: Station, week: str, rid: str) -> str:
    """An earlier week's report's public id as recorded ("" when it was never published): the desk's thread views
    use titles only."""
    return publicid.stored(station).get(f"{week}/{rid}", "")


def desk_items(station: Station, thread: str) -> list[tuple[str, Report, str]]:
    """(week, report, state) for every report of a thread, oldest week first: the desk's view.

    The index says which reports they are; only those files are read."""
    _check_thread(thread)
    return [(row.week, _report(station, row.week, row.id), row.state) for row in index.thread_rows(station, thread)]


def public_items(station: Station, thread: str, *, before: str | None = None,
                 weeks: set[str] | None = None) -> list[ThreadItem]:
    """What may be shown of a thread: what may be published, each as its public projection."""
    out = []
    for row in index.thread_rows(station, thread):
        if row.state != "verified" or (before and row.week >= before) or (weeks is not None and row.week not in weeks):
            continue
        r = _report(station, row.week, row.id)
        if why_not(station, r) is None:  # radio/publishable.py decides
            out.append(ThreadItem(row.week, public(r, r.id, public_id=_pid(station, row.week, r.id))))
    return out


def threads_in(station: Station, weeks: list[str]) -> list[str]:
    return index.threads_in(station, weeks)


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
    rows = index.latest_before(station, report.thread, week)
    if not rows:
        return None
    last_week = rows[0].week
    r = _report(station, last_week, rows[0].id)
    last = public(r, r.id, public_id=_pid(station, last_week, r.id))
    air = station.air_datetime(last_week)
    return f"Previously ({air:%A} {air.day} {air:%B}): {last.title.rstrip('.')}."


def follow_ups(station: Station, week: str) -> list[str]:
    """Threads with an item last week and none on air this week: the planner's suggestions."""
    with index.batch(station):  # one look at the files for every lookup below
        return _follow_ups(station, week)


def _follow_ups(station: Station, week: str) -> list[str]:
    prev = _previous_week(week)
    out = []
    for thread in threads_in(station, [prev]):
        last = public_items(station, thread, weeks={prev})
        if not last or public_items(station, thread, weeks={week}):
            continue
        waiting = [row.id for row in index.thread_rows(station, thread) if row.week == week]
        titles = "; ".join(i.report.title.rstrip(".") for i in last)
        line = f"follow up? thread {thread}: last week {titles}; nothing on air this week"
        if waiting:
            line += f" ({', '.join(waiting)} not verified yet)"
        out.append(line)
    return out

"""A report's history: every status change, check, correction and retraction, dated, never rewritten.

Each report has an append-only log, `episodes/<week>/history/<id>.jsonl`, one event a line. Nothing ever
rewrites or truncates it: `plan --force`, rebuilds and republishing only read it. Corrections and retractions
are recorded here once the week is published; the publish step shows them to listeners from this log.

An event is a JSON object with `at` (ISO time in the station's zone) and `event`:
  status      `to`, `from`, optional `reason` (desk only)
  check       `by`, `method`, optional `note` (desk only)
  correction  `note` (public)
  retraction  `reason` (public)
  renamed     `from` (desk only): the report's earlier id
  released    `correspondent`, `quarantine`, `reason`, optional `by` (desk only): a quarantined message an
              editor took in by hand
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zoneinfo
from pathlib import Path

from radio.station import Station
from radio.errors import ReportError

PUBLIC_EVENTS = ("correction", "retraction")


def history_path(station: Station, week: str, report_id: str) -> Path:
    return station.week_dir(week) / "history" / f"{report_id}.jsonl"


def now(station: Station) -> dt.datetime:
    """The time in the station's zone, to the second (dates on the record are the station's dates)."""
    tz = zoneinfo.ZoneInfo(station.config.show.timezone)
    return dt.datetime.now(tz).replace(microsecond=0)


def append(station: Station, week: str, report_id: str, event: str, **fields: str | None) -> dict:
    """Add one event at the end of the log: opened for appending only, flushed to disk before returning."""
    entry = {"at": now(station).isoformat(), "event": event, **{k: v for k, v in fields.items() if v is not None}}
    path = history_path(station, week, report_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return entry


def read(station: Station, week: str, report_id: str) -> list[dict]:
    path = history_path(station, week, report_id)
    if not path.is_file():
        return []
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            dt.datetime.fromisoformat(e["at"])
            if not isinstance(e.get("event"), str):
                raise ValueError("no event")
        except (ValueError, KeyError, TypeError) as err:
            raise ReportError(f"line {n} is not a history event ({err})", where=path,
                              fix="the history is append-only: restore the line from version control") from None
        events.append(e)
    return events


def week_events(station: Station, week: str) -> dict[str, list[dict]]:
    """Every report's history in a week, by report id."""
    folder = station.week_dir(week) / "history"
    if not folder.is_dir():
        return {}
    return {p.stem: read(station, week, p.stem) for p in sorted(folder.glob("*.jsonl"))}


def retraction(events: list[dict]) -> dict | None:
    return next((e for e in events if e["event"] == "retraction"), None)


def corrections(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] == "correction"]


def retracted(station: Station, week: str) -> dict[str, dict]:
    """The week's retracted reports: id -> the retraction event."""
    out = {}
    for rid, events in week_events(station, week).items():
        r = retraction(events)
        if r:
            out[rid] = r
    return out


def day(at: str) -> str:
    """'24 November' from an event's time (the station's date, as recorded)."""
    t = dt.datetime.fromisoformat(at)
    return f"{t.day} {t:%B}"


def _record(station: Station, week: str) -> Path:
    return station.root / "feeds" / station.config.show.slug / "episodes" / week / "episode.json"


def is_published(station: Station, week: str) -> bool:
    return _record(station, week).is_file()


# --- the desk's commands -----------------------------------------------------------------------------

def _published_report(station: Station, report_id: str, what: str):
    from radio.reports import find_report
    rf = find_report(station, report_id)
    week = rf.path.parent.parent.name
    if not is_published(station, week):
        raise ReportError(f"{week} is not published yet: there is nothing to {what}", where=rf.path,
                          fix="edit the report; corrections and retractions are for what listeners already have")
    if rf.report.status != "verified":
        raise ReportError(f"report {report_id} is {rf.report.status}: it was not published", where=rf.path,
                          fix="only a verified report that went out can be corrected or retracted")
    if retraction(read(station, week, report_id)):
        raise ReportError(f"report {report_id} is already retracted", where=history_path(station, week, report_id),
                          fix="see `radio report history " + report_id + "`")
    return rf, week


def correct(station: Station, report_id: str, note: str) -> tuple[str, dict]:
    """Record a published correction. The report's text is edited as usual; the note says what changed."""
    if not note.strip():
        raise ReportError("the correction note is empty", fix='say what was wrong, e.g. --note "It was two months, '
                                                                'not three."')
    rf, week = _published_report(station, report_id, "correct")
    from radio.reports import public
    public(rf.report, rf.path)  # the corrected text must still keep withheld details out
    return week, append(station, week, report_id, "correction", note=" ".join(note.split()))


def retract(station: Station, report_id: str, reason: str) -> tuple[str, dict]:
    """Record a retraction: the item leaves the podcast and the site at the next publish; the on-air master stays."""
    if not reason.strip():
        raise ReportError("the retraction needs a public reason", fix='say why, e.g. --reason "The second source '
                                                                      'withdrew."')
    rf, week = _published_report(station, report_id, "retract")
    return week, append(station, week, report_id, "retraction", reason=" ".join(reason.split()))


def _when(station: Station, at: str) -> str:
    t = dt.datetime.fromisoformat(at).astimezone(zoneinfo.ZoneInfo(station.config.show.timezone))
    return f"{t:%Y-%m-%d %H:%M} {t.tzname() or ''}".strip()


def render(station: Station, report_id: str) -> str:
    """The desk's view of a report's whole history, oldest first (the desk's own notes included)."""
    from radio.reports import find_report
    rf = find_report(station, report_id)
    week = rf.path.parent.parent.name
    events = read(station, week, report_id)
    logged = {(e.get("by"), e.get("method"), e["at"][:10]) for e in events if e["event"] == "check"}
    rows: list[tuple[str, str]] = [(rf.report.received.isoformat(), "received")]
    for c in rf.report.checks:  # checks made before the log existed live only in the report
        if (c.by, c.method, c.on.isoformat()) not in logged:
            rows.append((c.on.isoformat(), f"check by {c.by} ({c.method})" + (f": {c.note}" if c.note else "")))
    for e in events:
        kind = e["event"]
        if kind == "check":
            text = f"check by {e.get('by')} ({e.get('method')})" + (f": {e['note']}" if e.get("note") else "")
        elif kind == "status":
            text = f"status {e.get('from')} -> {e.get('to')}" + (f": {e['reason']}" if e.get("reason") else "")
        elif kind == "correction":
            text = f"correction (public): {e.get('note')}"
        elif kind == "retraction":
            text = f"retraction (public): {e.get('reason')}"
        elif kind == "renamed":
            text = f"renamed from {e.get('from')}"
        elif kind == "released":
            text = (f"released from quarantine ({e.get('reason')}) as from {e.get('correspondent')}"
                    + (f" by {e['by']}" if e.get("by") else ""))
        else:
            text = kind
        rows.append((_when(station, e["at"]), text))
    rows.sort(key=lambda r: r[0][:10])  # by date; the log's own order is kept within a day
    width = max(len(r[0]) for r in rows)
    state = "retracted" if retraction(events) else rf.report.status
    lines = [f"{report_id} ({week}): {state}"] + [f"  {when:<{width}}  {text}" for when, text in rows]
    return "\n".join(lines)

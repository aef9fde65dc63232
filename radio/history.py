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

On a sealed station (radio/keys) what is said in confidence in an event (a check's note, a hold or rejection
reason, a release's correspondent and reason, a report's earlier id) is stored as `sealed`: those fields as JSON,
encrypted to the editors (age, base64). The rest stays plain: dates, who checked and how, status changes, and
the public corrections and retractions. `read(..., private=True)` opens them for an editor who has unlocked.
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
# the fields of an event that are the desk's own confidences: sealed on a sealed station
PRIVATE_FIELDS = {"status": ("reason",), "check": ("note",), "released": ("correspondent", "reason"),
                  "renamed": ("from",)}
SEALED = "sealed"


def seal_event(station, entry: dict) -> dict:
    """The event as stored: on a sealed station its private fields encrypted to the editors, as one field."""
    from radio.keys import editors
    private = {k: entry[k] for k in PRIVATE_FIELDS.get(entry.get("event"), ()) if entry.get(k) is not None}
    if not private or not editors.sealed(station):
        return entry
    import base64
    from radio.keys.age import encrypt
    ct = encrypt(json.dumps(private, ensure_ascii=False, sort_keys=True).encode("utf-8"), editors.recipients(station))
    return {**{k: v for k, v in entry.items() if k not in private}, SEALED: base64.b64encode(ct).decode("ascii")}


def open_event(where, entry: dict, ring) -> dict:
    """The event with its sealed fields opened (`ring`: the unlocked identities)."""
    import base64
    from radio.keys.age import KeysError, decrypt
    try:
        ct = base64.b64decode(entry[SEALED], validate=True)
    except (ValueError, TypeError):
        raise KeysError("a sealed history event is damaged", where=where,
                        fix="restore the line from version control") from None
    fields = json.loads(decrypt(ct, ring.identities, where).decode("utf-8"))
    return {**{k: v for k, v in entry.items() if k != SEALED}, **fields}


def history_path(station: Station, week: str, report_id: str) -> Path:
    return station.history_dir(week) / f"{report_id}.jsonl"


def now(station: Station) -> dt.datetime:
    """The time in the station's zone, to the second (dates on the record are the station's dates)."""
    tz = zoneinfo.ZoneInfo(station.config.show.timezone)
    return dt.datetime.now(tz).replace(microsecond=0)


def append(station: Station, week: str, report_id: str, event: str, **fields: str | None) -> dict:
    """Add one event at the end of the log: opened for appending only, flushed to disk before returning."""
    entry = {"at": now(station).isoformat(), "event": event, **{k: v for k, v in fields.items() if v is not None}}
    path = history_path(station, week, report_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(seal_event(station, entry), ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return entry


def read(station: Station, week: str, report_id: str, *, private: bool = False) -> list[dict]:
    """The report's events, oldest first. `private`: sealed fields opened if an editor's identity is unlocked
    (without one they stay sealed: the event has `sealed` instead of its private fields)."""
    path = history_path(station, week, report_id)
    if not path.is_file():
        return []
    ring = None
    if private:
        from radio.keys import keyring
        ring = keyring.current(None)
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
        if ring is not None and SEALED in e:
            e = open_event(f"{path}:{n}", e, ring)
        events.append(e)
    return events


def week_events(station: Station, week: str) -> dict[str, list[dict]]:
    """Every report's history in a week, by report id."""
    folder = station.history_dir(week)
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


def is_published(station: Station, week: str) -> bool:
    return station.published_record(week).is_file()


def when(station: Station, at: str) -> str:
    t = dt.datetime.fromisoformat(at).astimezone(zoneinfo.ZoneInfo(station.config.show.timezone))
    return f"{t:%Y-%m-%d %H:%M} {t.tzname() or ''}".strip()

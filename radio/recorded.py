"""What each recording was recorded against, so a take made before the public text changed never airs.

A host's recording (`segments/<item-id>.<ext>`) says the words of the script as it was when it was recorded. The
first time a recording is used (script, assemble, build, the studio; `status` only reads) it is registered in
`segments/.recorded.json`, committed with the week: the file's name, size and content hash, and a hash of the
item's spoken text at that moment (what the script shows the host), with, for each report the text draws on, a
hash of that report's part and its public fields. A new take (another file, size or content) is registered
anew at first sight. Later, an item whose recording was registered against other words is `stale`: it is named
with the reason (which report was held, dropped, added or changed; never a value) and a build refuses it unless
--allow-stale-take says the change does not touch what was read. Drafts are made from the current text and are
never stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path

from radio import fsutil, takes
from radio.errors import RadioError, RundownError
from radio.rundown import model as rd
from radio.station import Station

RECORD = ".recorded.json"
FIX = "re-record it, or pass --allow-stale-take if the change does not touch what was read"


def record_path(station: Station, week: str) -> Path:
    return station.segments_dir(week) / RECORD


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:24]


def _public_fields(r) -> str:
    """Which dateline fields the report's exposure lets through (names of fields, not their values)."""
    return ",".join(k for k in ("workplace", "place", "region") if getattr(r, k))


def sources(rundown, entry) -> dict[str, list[str]]:
    """For each report an item's spoken text draws on: a hash of that report's part in it, and which of its
    dateline fields are public."""
    it = entry.item
    if it.generated:
        on_air = [e for e in rundown.live if e.report is not None]
        if it.generated == "headlines":
            parts = {e.item.report: e.item.headline or rd.headline(e.report.title)
                     for e in on_air if e.item.type in rd.SPEECH}
        else:
            parts = {e.item.report: e.report.appeal for e in on_air if e.report.appeal}
        reports = {e.item.report: e.report for e in on_air}
        return {rid: [_h(part), _public_fields(reports[rid])] for rid, part in parts.items()}
    if entry.report is not None:
        return {entry.item.report: [_h(entry.text), _public_fields(entry.report)]}
    return {}


def _why_dropped(rundown) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in rundown.dropped:  # "dropped ITEM: report ID is held": the desk's reason names no value
        m = re.match(r"dropped \S+: report (\S+) (.+)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _reason(old: dict, new: dict, why: dict[str, str]) -> str:
    parts: list[str] = []
    for rid in sorted(set(old) | set(new)):
        if rid not in new:
            parts.append(f"report {rid} {why.get(rid, 'is no longer in the show')}")
        elif rid not in old:
            parts.append(f"report {rid} added")
        elif old[rid][1] != new[rid][1]:
            parts.append(f"report {rid}: its exposure changed")
        elif old[rid][0] != new[rid][0]:
            parts.append(f"report {rid}: its public text changed")
    return "; ".join(parts) or "the item's text changed"


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def check(station: Station, rundown, recordings: dict[str, Path], *, accept: bool = False,
          register: bool = True) -> dict[str, str]:
    """Register recordings seen for the first time; return {item id: why it is stale} for the others whose
    spoken text changed since. With `accept` the stale ones are registered against the current text instead
    (the producer says the change does not touch what was read)."""
    if not recordings:
        return {}
    path = record_path(station, rundown.week)
    entries = {e.id: e for e in rundown.entries}
    why = _why_dropped(rundown)
    stale: dict[str, str] = {}
    lock = station.recorded_lock_path  # beside the build lock, never committed
    # a command that only reads (status) judges without the lock: it writes nothing, and the file is replaced whole
    with (fsutil.locked(lock, lambda: RadioError("another command is registering recordings", where=path,
                                                 fix="try again in a moment"), wait=10.0)
          if register else contextlib.nullcontext()):
        whole = _load(path)
        # a segments folder copied from another week starts afresh: its registrations are that week's
        data = whole.get("items", {}) if whole.get("week") == rundown.week else {}
        changed = False
        for item_id, rec in sorted(recordings.items()):
            e = entries.get(item_id)
            if e is None:
                continue
            st = rec.stat()
            now = {"text": _h(e.text), "reports": sources(rundown, e)}
            old = data.get(item_id)
            same_file = isinstance(old, dict) and old.get("file") == rec.name and old.get("size") == st.st_size
            if same_file and old.get("mtime_ns") != st.st_mtime_ns:  # touched, copied or checked out: by content
                same_file = old.get("sha256") == _file_hash(rec)
                if same_file:
                    old["mtime_ns"] = st.st_mtime_ns
                    changed = True
            if same_file and old.get("text") == now["text"]:
                continue
            if same_file and not accept:
                stale[item_id] = _reason(old.get("reports") or {}, now["reports"], why)
                continue
            data[item_id] = {"file": rec.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                             "sha256": old["sha256"] if same_file else _file_hash(rec), **now}
            changed = True
        if changed and register:  # a command that only reads (status) judges without registering
            fsutil.write_text(path, json.dumps({"week": rundown.week, "items": data}, indent=2, sort_keys=True) + "\n")
    return stale


def stale(station: Station, rundown, *, accept: bool = False, register: bool = True) -> dict[str, str]:
    """`check` over every spoken item's current recording (the segments folder read once, not once an item)."""
    ids = [e.id for e in rundown.entries if e.item.type in rd.SPEECH]
    found = takes.scan(station, rundown.week, ids).recordings
    return check(station, rundown, {i: found[i] for i in ids if i in found}, accept=accept, register=register)


def line(item_id: str, reason: str) -> str:
    return f"{item_id}: recorded before the public text changed ({reason})"


def gate(stale: dict[str, str]) -> None:
    """A build or assembly with a stale recording stops before anything is written: one line naming each item
    and why."""
    if stale:
        fix = FIX if len(stale) == 1 else FIX.replace("re-record it", "re-record them")
        raise RundownError(f"{'; '.join(line(i, r) for i, r in stale.items())}; {fix}")

"""Public ids: the one name a report is published under, never its desk id.

A desk id is the report's file name, chosen on the desk (often from the title it was filed under, so it can
name what the report withholds, and it changes when an editor renames the report). Everything published (the
episode record and its cues, anchors, the bulletin and digest, press items and their file names, corrections
and thread pages) names a report by its public id instead:

- made from the public title (the original's, not a translation's) when the report is first published:
  transliterated, lower case, hyphens, at most 48 characters; if that slug names any detail the report withholds
  (radio/withheld.py, on confusable skeletons), or is empty, or would take a name the published tree uses
  itself, an opaque one (`2026-w47-3`) instead;
- unique across the station (a second report whose title makes the same slug gets `-2`, `-3`, ...);
- stable: recorded at first publication in public-ids.toml (committed with the station, like
  podcast-guids.toml), keyed by week and desk id, so a later title change never moves it and a rename
  (radio/rename.py) carries it to the new desk id.

Until a report is published its public id is provisional: the one it would get if published now.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from unidecode import unidecode

from radio import fsutil
from radio.config import ID_RE
from radio.errors import RadioError
from radio.station import Station

if TYPE_CHECKING:
    from radio.reports.model import Report


RECORD_NAME = "public-ids.toml"
HEADER = ("# The public id of every published report, keyed by week and desk id: fixed at its first publication and\n"
          "# committed with the station. Feeds, pages, press items and mail name reports by it; do not edit a line.\n")
MAX_SLUG = 48
# names the published tree uses itself, beside public ids (press/index.json, press/feed.atom, press/media/ ...)
RESERVED = frozenset({"index", "feed", "media", "search", "episodes", "corrections", "threads", "bulletin",
                      "digest", "press", "pagefind"})


def slug(title: str) -> str:
    """A title as a URL-safe slug: transliterated (Cyrillic and other scripts kept, not dropped), ASCII lower
    case and digits, hyphens between words, at most 48 characters cut between words; "" when nothing is left."""
    text = unidecode(unicodedata.normalize("NFKC", title)).lower()
    s = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(s) > MAX_SLUG:
        cut = s[:MAX_SLUG + 1]
        s = cut[:cut.rfind("-")] if "-" in cut else s[:MAX_SLUG]
    return s.strip("-")


def _tells(pid: str, report: Report) -> bool:
    """Whether an id names any detail the report withholds, read as words (as a reader would read a URL)."""
    from radio.withheld import find_withheld, withheld_details
    details = withheld_details(report)
    return bool(details) and find_withheld(pid.replace("-", " "), details) is not None


def _opaque(week: str, taken: set[str]) -> str:
    n = 1
    while f"{week.lower()}-{n}" in taken:
        n += 1
    return f"{week.lower()}-{n}"


def fresh(week: str, report: Report, taken: set[str]) -> str:
    """The public id a report gets when first published, given the ids already taken."""
    base = slug(report._original_title or report.title)
    if not base or _tells(base, report):
        return _opaque(week, taken)
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED or not ID_RE.match(candidate):
        suffix = f"-{n}"
        candidate = base[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
        n += 1
    return candidate


# --- the record -------------------------------------------------------------------------------------------

def record_path(station: Station) -> Path:
    return station.root / RECORD_NAME


@lru_cache(maxsize=4)
def _parse(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = _as_written(text)
        if data is None:  # edited by hand, or by another tool: read as TOML
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RadioError(f"not a record of public ids: {e}", where=p,
                         fix="restore the file from version control (git checkout -- public-ids.toml)") from None
    for key, value in data.items():
        week, _, rid = key.partition("/")
        if not (isinstance(value, str) and ID_RE.match(value) and ID_RE.match(rid or "-") and week):
            raise RadioError(f"{key!r} = {value!r} is not a week/report and a public id", where=p,
                             fix="restore the file from version control (git checkout -- public-ids.toml)")
    return dict(data)


_LINE = re.compile(r'"([^"\\\x00-\x1f]*)" = "([^"\\\x00-\x1f]*)"')


def _as_written(text: str) -> dict[str, str] | None:
    """The record as `_text` writes it (comments, then one `"key" = "value"` line each), read without a TOML
    parser: it grows by a few lines a week and every publish reads it. None when it is not exactly that."""
    out: dict[str, str] = {}
    lines = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        out[m.group(1)] = m.group(2)
        lines += 1
    return out if len(out) == lines else None  # a key twice: TOML's error, not the last one


def stored(station: Station) -> dict[str, str]:
    """'WEEK/desk-id' -> public id, for every report published so far."""
    p = record_path(station)
    try:
        st = p.stat()
    except FileNotFoundError:
        return {}
    return _parse(str(p), st.st_mtime_ns, st.st_size)


def _text(record: dict[str, str]) -> str:
    return HEADER + "".join(f'"{k}" = "{v}"\n' for k, v in sorted(record.items()))


def _lock(station: Station):
    path = station.public_ids_lock_path
    return fsutil.locked(path, lambda: RadioError("another command is recording public ids", where=path,
                                                  fix="run this again when it has finished"), wait=30.0)


# --- asking and recording ---------------------------------------------------------------------------------

def _published_before(station: Station, week: str) -> set[str]:
    """Ids a week's reports went out under before public ids were recorded (their desk ids then): those named in
    a published episode record or in the week's press record."""
    out: set[str] = set()
    for p in [*station.feeds_dir.glob(f"*/episodes/{week}/episode.json"), *station.week_dir(week).glob("*press.json"),
              *station.week_dir(week).glob("*/press.json")]:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        names = data.get("reports") if p.name == "episode.json" else list(data)
        out |= {n for n in names or [] if isinstance(n, str)}
    return out


def ids(station: Station, week: str, reports: list[Report]) -> dict[str, str]:
    """Desk id -> public id for a week's reports: the recorded one, or the one it would get if published now.

    A report that went out under its desk id before public ids were recorded keeps that id (its press item's
    uri and its corrections' GUIDs never change), unless it names a detail the report withholds."""
    record = stored(station)
    out = {r.id: record[f"{week}/{r.id}"] for r in reports if f"{week}/{r.id}" in record}
    taken = set(record.values())
    before = _published_before(station, week) - taken if len(out) < len(reports) else set()
    for r in sorted(reports, key=lambda r: r.id):  # a fixed order, so the same desk gives the same ids
        if r.id not in out:
            old = r.id in before and r.id not in taken and not _tells(r.id, r)
            out[r.id] = r.id if old else fresh(week, r, taken)
            taken.add(out[r.id])
    return out


def of(station: Station, week: str, report: Report) -> tuple[str, bool]:
    """One report's public id, and whether it is fixed (published) or only what it would be if published now."""
    key = f"{week}/{report.id}"
    have = stored(station)
    if key in have:
        return have[key], True
    from radio.reports.files import load_week
    others = [rf.report for rf in load_week(station, week, strict=False)[0] if rf.report.id != report.id]
    return ids(station, week, [*others, report])[report.id], False


def record(station: Station, week: str, chosen: dict[str, str]) -> None:
    """Fix the public ids of reports being published (desk id -> the id the output names it by). Ids already
    recorded stay; one that another report took meanwhile is refused, and nothing is written."""
    have = stored(station)
    if all(have.get(f"{week}/{rid}") == pid for rid, pid in chosen.items()):
        return
    with _lock(station):
        have = dict(stored(station))
        owners = {v: k for k, v in have.items()}
        for rid, pid in sorted(chosen.items()):
            key = f"{week}/{rid}"
            if key in have:
                if have[key] != pid:
                    raise RadioError(f"report {rid} of {week} was published as {have[key]} meanwhile",
                                     where=record_path(station), fix="run the command again")
                continue
            if pid in owners:
                raise RadioError(f"the public id {pid} was given to another report meanwhile",
                                 where=record_path(station), fix="run the command again")
            have[key], owners[pid] = pid, key
        fsutil.write_text(record_path(station), _text(have))


def telling(station: Station, week: str, report: Report) -> str | None:
    """Why a report may not go out under the public id it was published with: the id names a detail the report
    withholds now (its exposure was lowered since, or the desk learned more), or None."""
    pid = stored(station).get(f"{week}/{report.id}")
    if pid is None or not _tells(pid, report):
        return None
    return (f"is published under a public id that names a detail it now withholds "
            f"(give it a new one: radio report public-id {report.id} --new)")


def reissue(station: Station, week: str, report: Report) -> tuple[str, str]:
    """A published report's public id replaced by a new one from its current title (or an opaque one), for when
    the old one names what the report now withholds: (old, new). What went out under the old id stays as it went
    out; from now on everything names the new one."""
    key = f"{week}/{report.id}"
    with _lock(station):
        have = dict(stored(station))
        old = have.get(key)
        if old is None:
            raise RadioError(f"report {report.id} has not been published: it has no public id to change",
                             fix="nothing to do: it gets one, made from its title, when it is first published")
        new = fresh(week, report, set(have.values()))
        have[key] = new
        fsutil.write_text(record_path(station), _text(have))
    return old, new


def renamed(station: Station, week: str, old: str, new: str) -> bool:
    """Carry a report's public id to its new desk id (radio/rename.py): what was published stays put."""
    with _lock(station):
        have = dict(stored(station))
        pid = have.pop(f"{week}/{old}", None)
        if pid is None:
            return False
        have[f"{week}/{new}"] = pid
        fsutil.write_text(record_path(station), _text(have))
        return True

"""One IPTC ninjs 2.2 news item per publishable report and edition, with a version that counts its changes.

Each edition keeps a record of what it has put out for a week (`episodes/W/[ED/]press.json`): per public id the
version, when it was first and last made, the content's fingerprint, its embargo and headline. An item is made
again from the report as it is now; when its content differs from the record, it is a new version:

  usable     a verified, publishable report (corrections go into `ednote` and under the body)
  canceled   a report retracted after it went out: the reason replaces the body, same uri, next version
  withheld   a report held, rejected or no longer verified after it went out: nothing of the story but its
             headline; the desk's reason for holding it is never in the item

A report that never went out and cannot go out now is left alone. An item under embargo carries it as
`embargoed` and goes only to the desk's copy (out/press/) until the embargo has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import uuid
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from markupsafe import escape

from radio import fsutil, publicid
from radio.errors import RadioError
from radio.station import Station

NINJS_VERSION = "2.2"
SCHEMA_URL = "https://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"
SCHEMA_PATH = Path(__file__).parent / "schema" / "ninjs-schema_2.2.json"
PROFILE = "radio-press-item"
# only these keys change with a new version; everything else is the content a version is about
_STAMPS = ("version", "versioncreated", "firstcreated")


@dataclass
class Item:
    pid: str  # the public id: file names and the uri are made from it
    week: str
    ninjs: dict
    status: str  # new | changed | same
    public: bool  # may be on public pages and feeds now (not under embargo)
    clip: Path | None = None  # the item's audio, cut from the podcast master, for press/media/
    clip_name: str | None = None
    desk_id: str = ""  # for the desk's own messages only: nothing published is named by it


@dataclass
class Made:
    station: Station
    week: str
    items: list[Item] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what was left out, and why


# --- ids, clock, schema ----------------------------------------------------------------------------------

def item_uri(station: Station, pid: str) -> str:
    """Stable for the report and the edition, whatever changes: a name, like the episode GUIDs, not a link."""
    return f"urn:uuid:{uuid.uuid5(station.feed_guid, 'press/' + pid)}"


def now() -> dt.datetime:
    """The press clock: SOURCE_DATE_EPOCH when set (a rebuild at that time makes the same items), else the time."""
    v = os.environ.get("SOURCE_DATE_EPOCH", "")
    if v.isdigit():
        return dt.datetime.fromtimestamp(int(v), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(station: Station, text: str | dt.datetime, what: str) -> dt.datetime:
    """An embargo time; without a zone it is the show's."""
    if isinstance(text, dt.datetime):
        t = text
    else:
        try:
            t = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise RadioError(f"{what} {text!r} is not a date and time", fix='write it as "2026-11-20 18:00"') \
                from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=zoneinfo.ZoneInfo(station.config.show.timezone))
    return t


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    from referencing import Registry, Resource
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # places[].geojson points at geojson.org: never fetched, and never written by us
    stub = Resource.from_contents({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    registry = Registry().with_resource("https://geojson.org/schema/GeoJSON.json", stub)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def validate(item: dict) -> None:
    """Every item is checked against IPTC's schema before it is written: a newsroom's ingest never sees a bad one."""
    err = next(iter(sorted(_validator().iter_errors(item), key=lambda e: list(e.path))), None)
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(item)"
        raise RadioError(f"press item {item.get('uri')} is not valid ninjs {NINJS_VERSION} at {where}: "
                         f"{err.message[:200]}", fix="report it: this is a bug in radio press")


# --- the record ------------------------------------------------------------------------------------------

def record_path(station: Station, week: str) -> Path:
    return station.edition_dir(week) / "press.json"


def read_record(station: Station, week: str) -> dict[str, dict]:
    p = record_path(station, week)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("version"), int)
                                                 for v in data.values()):
            raise ValueError("not a record of items")
    except ValueError as e:
        raise RadioError(f"the press record is damaged ({e})", where=p,
                         fix="restore it from version control: it holds each item's version") from None
    return data


def _fingerprint(item: dict) -> str:
    content = {k: v for k, v in item.items() if k not in _STAMPS}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


# --- the item --------------------------------------------------------------------------------------------

def urgency(priority: int) -> int:
    """Priority 1 (the lead) to 5 as ninjs urgency 1 (most urgent) to 9: 1, 3, 5, 7, 9."""
    return 2 * priority - 1


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _bodies(paras: list[str], notes: list[str]) -> list[dict]:
    text = "\n\n".join(paras + notes)
    html = "".join(f"<p>{escape(p)}</p>" for p in paras) + \
        "".join(f'<p class="note"><em>{escape(n)}</em></p>' for n in notes)
    words = len(re.findall(r"\w+", text))
    return [{"role": "main", "contenttype": "text/plain", "value": text, "charcount": len(text), "wordcount": words},
            {"role": "main", "contenttype": "text/html", "value": html, "charcount": len(html), "wordcount": words}]


def _terms(station: Station) -> dict:
    press = station.full_config.press
    if press is None:
        raise RadioError("the press service has no terms", where=station.root / "radio.toml",
                         fix='add a [press] table with usage_terms (e.g. "Free to republish with credit to '
                             'Workers\' Information Radio.") and copyright_holder')
    out = {"copyrightholder": press.copyright_holder or station.config.station.name, "usageterms": press.usage_terms}
    if press.copyright_notice:
        out["copyrightnotice"] = press.copyright_notice
    return out


def _day(at: str) -> str:
    return dt.datetime.fromisoformat(at).date().isoformat()


def _base(station: Station, pid: str, headline: str) -> dict:
    return {
        "uri": item_uri(station, pid),
        "standard": {"name": "ninjs", "version": NINJS_VERSION, "schema": SCHEMA_URL},
        "type": "text", "representationtype": "full", "profile": PROFILE,
        "slugline": pid, "language": station.language,
        "headlines": [{"role": "main", "contenttype": "text/plain", "value": headline}],
        **_terms(station),
    }


def usable(station: Station, pid: str, r, corrections: list[dict]) -> dict:
    """A publishable report as a ninjs item (r is a PublicReport)."""
    notes = [f"Correction ({_day(c['at'])}): {c['note']}" for c in corrections]
    paras = paragraphs(r.text) + ([f"Appeal: {r.appeal}"] if r.appeal else [])
    item = {**_base(station, pid, r.title), "pubstatus": "usable", "urgency": urgency(r.priority),
            "by": r.attribution, "bodies": _bodies(paras, notes)}
    if r.dateline:
        item["located"] = r.dateline  # only what its exposure publishes: PublicReport has nothing else
    places = [{"name": v, "rel": rel} for v, rel in ((r.place, "town"), (r.region, "region")) if v]
    if places:
        item["places"] = places
    subjects = [{"name": r.kind, "rel": "kind", "literal": r.kind}]
    if r.sector:
        subjects.append({"name": r.sector, "rel": "sector", "literal": r.sector})
    if r.thread:
        subjects.append({"name": r.thread.replace("-", " "), "rel": "thread", "literal": r.thread})
    item["subjects"] = subjects
    if corrections:
        item["ednote"] = " ".join(notes) + " The body is corrected; replace the earlier version."
    return item


def canceled(station: Station, pid: str, headline: str, retraction: dict) -> dict:
    why = f"Retracted ({_day(retraction['at'])}): {retraction['reason']}"
    return {**_base(station, pid, headline), "pubstatus": "canceled",
            "ednote": f"{why} Do not use this story; remove it where it was published.",
            "bodies": _bodies([why], [])}


def withheld(station: Station, pid: str, headline: str) -> dict:
    what = "Withheld: the station has taken this story back for now. Do not use it until a new version says so."
    return {**_base(station, pid, headline), "pubstatus": "withheld", "ednote": what, "bodies": _bodies([what], [])}


# --- the clip --------------------------------------------------------------------------------------------

def _aired(station: Station, week: str) -> tuple[Path, dict[str, tuple[int, int]]] | None:
    """The podcast master as aired and where each report's item lies in it (ms, by public id), once the week is
    published."""
    from radio import asrun
    from radio.history import is_published
    if not is_published(station, week):
        return None
    built = asrun.read(station, week)
    if built is None or not built.podcast.is_file():
        return None
    from radio.rundown import model as rd
    try:
        rundown = rd.load(station, week)
    except RadioError:
        return None
    reports = {e.id: e.report.id for e in rundown.live if e.report is not None}
    spans = {reports[i.id]: (i.start_ms, i.end_ms) for i in built.as_run.podcast.items if i.id in reports}
    return built.podcast, spans


def cut_clip(master: Path, start_ms: int, end_ms: int, target: Path) -> None:
    """The item's stretch of the master, copied frame by frame (no second encoding), without tags."""
    from radio import media
    r = subprocess.run([media.need("ffmpeg"), "-nostdin", "-v", "error", "-ss", f"{start_ms / 1000:.3f}",
                        "-to", f"{end_ms / 1000:.3f}", "-i", str(master), "-map", "0:a", "-c:a", "copy",
                        "-map_metadata", "-1", "-id3v2_version", "0", "-write_id3v1", "0", "-fflags", "+bitexact",
                        "-f", "mp3", "-y", str(target)], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise RadioError(f"cutting the press clip failed: {r.stderr.strip()[-200:]}", where=master,
                         fix="run `radio build WEEK` again; if it persists, report it")


def _clip(station: Station, week: str, pid: str, aired, workdir: Path) -> tuple[Path, str, dict] | None:
    if aired is None or pid not in aired[1]:
        return None
    master, spans = aired
    start, end = spans[pid]
    tmp = workdir / f"{pid}.mp3"
    workdir.mkdir(parents=True, exist_ok=True)
    cut_clip(master, start, end, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:12]
    name = f"{pid}-{digest}.mp3"
    rendition = {"name": "audio", "href": f"{station.show_url}press/media/{name}", "contenttype": "audio/mpeg",
                 "format": "MP3", "sizeinbytes": tmp.stat().st_size, "duration": round((end - start) / 1000, 3)}
    return tmp, name, rendition


# --- the week ----------------------------------------------------------------------------------------------

def make(station: Station, week: str, *, embargo: str | None = None, clock: dt.datetime | None = None) -> Made:
    """The week's items for this edition as they are now, and the record updated; nothing public is written."""
    from radio import history
    from radio.publishable import on_air_ready
    from radio.reports.model import public
    from radio.reports.translations import edition_reports
    t = clock or now()
    cli_embargo = parse_time(station, embargo, "--embargo") if embargo else None
    if cli_embargo and cli_embargo <= t:
        raise RadioError(f"--embargo {embargo} is in the past (it is now {stamp(t)})",
                         fix="give a time still to come, or leave --embargo out to publish now")
    record = read_record(station, week)
    events = history.week_events(station, week)
    aired = None
    aired_done = False
    made = Made(station, week)
    workdir = station.out_dir(week) / "press" / ".clips"
    new_record: dict[str, dict] = {}
    going: dict[str, str] = {}
    reports = edition_reports(station, week)
    pids = publicid.ids(station, week, reports)  # file names and the item's uri: never the desk id
    for r in sorted(reports, key=lambda r: (r.priority, r.id)):
        pid = pids[r.id]
        before = record.get(pid)
        log = events.get(r.id, [])
        gone = history.retraction(log)
        why_not = on_air_ready(r, station.config.verification)
        clip = None
        if gone is not None:
            if before is None:
                continue  # retracted before it ever went to the press
            item = canceled(station, pid, before["headline"], gone)
        elif why_not is not None:
            if before is None:
                if r._gap and why_not == r._gap:  # publishable but for its translation
                    made.lines.append(f"left out of the {station.language} press: {r.id} {r._gap}")
                continue
            if before.get("pubstatus") == "canceled":
                continue
            if r._gap:  # the translation went back to draft: what went out stays as it was
                new_record[pid] = before
                made.lines.append(f"kept as it was in the {station.language} press: {r.id} {r._gap}")
                continue
            item = withheld(station, pid, before["headline"])
        else:
            pub = public(r, r._source or r.id, public_id=pid)
            item = usable(station, pid, pub, history.corrections(log))
            if not aired_done:
                aired, aired_done = _aired(station, week), True
            clip = _clip(station, week, pid, aired, workdir)
            if clip:
                item["renditions"] = [clip[2]]
        when = r.embargo and parse_time(station, r.embargo, f"{r.id}: embargo")
        if before is None and when and when <= t:
            raise RadioError(f"report {r.id}: embargo {stamp(when)} is in the past (it is now {stamp(t)})",
                             where=r._source, fix="correct the embargo, or remove it to publish now")
        emb = when or (parse_time(station, before["embargoed"], "embargo") if before and before.get("embargoed")
                       else None) or (cli_embargo if before is None else None)
        if emb:
            item["embargoed"] = stamp(emb)
        fp = _fingerprint(item)
        if before and before["hash"] == fp:
            version, first, created, status = before["version"], before["firstcreated"], before["versioncreated"], "same"
        else:
            version = before["version"] + 1 if before else 1
            first = before["firstcreated"] if before else stamp(t)
            created, status = stamp(t), "changed" if before else "new"
        item = {"uri": item["uri"], "version": str(version), "firstcreated": first, "versioncreated": created,
                **{k: v for k, v in item.items() if k != "uri"}}
        validate(item)
        new_record[pid] = {"version": version, "hash": fp, "firstcreated": first, "versioncreated": created,
                           "headline": item["headlines"][0]["value"], "pubstatus": item["pubstatus"],
                           "embargoed": item.get("embargoed"), "report": r.id}
        made.items.append(Item(pid, week, item, status, public=emb is None or emb <= t,
                               clip=clip[0] if clip else None, clip_name=clip[1] if clip else None,
                               desk_id=r.id))
        going[r.id] = pid
    publicid.record(station, week, going)  # the press publishes them: their public ids are fixed
    for pid, rec in record.items():  # an item whose report has gone from the desk stays as it went out
        new_record.setdefault(pid, rec)
    if new_record != record:
        fsutil.write_text(record_path(station, week),
                          json.dumps(new_record, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return made

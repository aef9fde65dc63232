"""The week's rundown: planning it from verified reports, reading it back, and timing it against the slot."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from radio import fsutil, media, takes, yamlio
from radio.asrun import AsRun
from radio.config import format_ms, parse_duration_ms
from radio.errors import RadioError, RundownError, from_validation
from radio.i18n import N_, day_month_year, gettext, joined, long_date
from radio.reports.model import PublicReport, Report, check_id, clean, on_air_ready, public
from radio.reports.translations import edition_reports
from radio.withheld import find_withheld, withheld_details
from radio.station import Station
from radio.yamlio import MarkedYAMLError, YAMLError

ItemType = Literal["read", "recorded", "element", "bed"]
SPEECH = ("read", "recorded")
Generated = Literal["headlines", "appeals"]
HEADER = "# Rundown for {week}: made by `radio plan`, yours to edit (order, hosts, text, skip: true).\n"
CHECKSUM = "# plan-checksum: "


def _yaml():
    return yamlio.round_trip()


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: ItemType
    title: str | None = None
    host: str | None = None
    report: str | None = None
    headline: str | None = None  # the producer's headline for this report, read in the generated headlines
    generated: Generated | None = None  # text drawn from the reports on air whenever an output is made
    text: str | None = None
    element: str | None = None
    bed: str | None = None
    duration: str | None = None  # for a bed played on its own
    skip: bool = False
    onair_only: bool = False
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v, "item id")


class RundownFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    week: str
    title: str = Field(min_length=1)
    items: list[Item]


@dataclass(frozen=True)
class Entry:
    """One rundown item, resolved: its public report (never the private one) and what is spoken."""

    item: Item
    report: PublicReport | None
    text: str  # what the host says, empty for elements and beds
    title: str

    @property
    def id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class Rundown:
    week: str
    title: str
    path: Path
    entries: list[Entry]
    dropped: list[str] = field(default_factory=list)  # "dropped ITEM: report ID is held", one line each

    @property
    def live(self) -> list[Entry]:
        return [e for e in self.entries if not e.item.skip]


def rundown_path(station: Station, week: str) -> Path:
    return station.edition_dir(week) / "rundown.yaml"


# --- planning --------------------------------------------------------------------------------------

def words(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def attribution_line(lang: str, r: PublicReport) -> str:
    """'Our correspondent in Kestrel Ridge reports.', in the edition's language."""
    att = r.attribution.rstrip(".:")
    return gettext(lang, "{attribution} reports.").format(attribution=f"{att[:1].upper()}{att[1:]}")


def spoken_text(r: PublicReport, lang: str = "en") -> str:
    """What the host reads for a report: the attribution, then the public text."""
    return f"{attribution_line(lang, r)} {r.text}".strip()


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return " ".join((m.group(1) if m else text).split())


def headline(title: str) -> str:
    """A report's title as a headline: no "Feature:" label, one sentence."""
    h = re.sub(r"^(Feature|Interview):\s*", "", title).rstrip(".")
    return _first_sentence(h[:1].upper() + h[1:] + ".")


HEADLINES_INTRO = N_("The headlines.")
APPEALS_INTRO = N_("Before we go, how you can help.")


def ready_reports(station: Station, week: str) -> tuple[list[Report], dict[str, str]]:
    """The week's reports and, for each one that cannot go on air, why."""
    policy = station.config.verification
    reports = edition_reports(station, week)  # in this edition's language; status and exposure the original's
    why = {r.id: w for r in reports if (w := on_air_ready(r, policy)) is not None}
    return reports, why


def _fresh_plan(station: Station, week: str, notes: list[str] | None = None) -> CommentedMap:
    cfg = station.config
    lang = station.language
    _ = lambda message: gettext(lang, message)  # noqa: E731
    every, why = ready_reports(station, week)
    for r in every:  # a verified report kept off the air for a reason the desk may not expect
        if r.id in why and r.status == "verified" and not r._gap and notes is not None:
            notes.append(f"left out {r.id}: report {r.id} {why[r.id]}")
    reports = [public(r, r._source or r.id) for r in every if r.id not in why]
    # a report made by `report new` has no event date yet: it sorts after the dated ones of its priority
    reports.sort(key=lambda r: (r.priority, r.event_date is None, r.event_date or dt.date.min,
                               "" if r.event_date else r.title, r.id))
    features = [r for r in reports if r.kind in cfg.show.feature_kinds]
    news = [r for r in reports if r.kind not in cfg.show.feature_kinds]
    hosts = [h.id for h in cfg.hosts]
    air = station.air_datetime(week)
    date_words = long_date(lang, air.date())
    first_speech = next(i for i, s in enumerate(cfg.show.format) if not s.startswith("element:")) \
        if any(not s.startswith("element:") for s in cfg.show.format) else len(cfg.show.format)
    items = CommentedSeq()
    used: set[str] = set()
    turn = 0

    def host() -> str:
        nonlocal turn
        h = hosts[turn % len(hosts)]
        turn += 1
        return h

    def add(comment: str | None = None, **fields) -> None:
        item_id = fields["id"]
        base, n = item_id, 2
        while item_id in used:
            item_id = f"{base}-{n}"
            n += 1
        used.add(item_id)
        fields["id"] = item_id
        m = CommentedMap((k, v) for k, v in fields.items() if v is not None)
        items.append(m)
        if comment:
            items.yaml_set_comment_before_after_key(len(items) - 1, before=comment, indent=2)

    for pos, section in enumerate(cfg.show.format):
        if section.startswith("element:"):
            name = section[8:]
            prefix = "open-" if pos < first_speech else ("close-" if pos > first_speech and all(
                s.startswith("element:") for s in cfg.show.format[pos:]) else "")
            el = cfg.elements[name]
            add(id=f"{prefix}{name}", type="element", element=name, title=el.title or name,
                onair_only=True if el.onair_only else None)
        elif section == "welcome":
            names = joined(lang, [h.name for h in cfg.hosts])
            add(comment="welcome", id="welcome", type="read", host=host(), title=_("Welcome"),
                text=_("This is {show}, on {date}. With you this week: {hosts}.").format(
                    show=cfg.show.title, date=date_words, hosts=names))
        elif section == "headlines":
            # no copy of any title: the headlines are drawn from the reports on air whenever an output is made
            add(id="headlines", type="read", host=host(), title=_("Headlines"), generated="headlines",
                bed=cfg.show.bed)
        elif section == "news":
            for i, r in enumerate(news):
                add(comment="news" if i == 0 else None, id=r.id, type="read", host=host(), report=r.id)
        elif section == "features":
            for i, r in enumerate(features):
                add(comment="features" if i == 0 else None, id=r.id, type="recorded", host=host(), report=r.id)
        elif section == "appeals":
            add(comment="appeals", id="appeals", type="read", host=host(), title=_("Solidarity appeals"),
                generated="appeals", bed=cfg.show.bed)
        elif section == "closing":
            add(comment="closing", id="closing", type="read", host=host(), title=_("Closing"),
                text=_("That was {show}. Every report in this programme was checked with a second source before it "
                       "went on air. Send us news from your workplace; we protect our sources. Until next week."
                       ).format(show=cfg.show.title))
    doc = CommentedMap(week=week, title=clean(f"{cfg.show.title}, {day_month_year(lang, air.date())}"), items=items)
    return doc


def _dump(doc: CommentedMap) -> str:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _split_checksum(text: str) -> tuple[str | None, str]:
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(CHECKSUM):
        return lines[0][len(CHECKSUM):].strip(), "".join(lines[1:])
    return None, text


def plan(station: Station, week: str, *, force: bool = False) -> tuple[Path, list[str]]:
    """Write rundown.yaml. Returns the path and what changed, in words.

    An untouched plan is simply rewritten. A hand-edited one is refused without `force`; with it, the
    producer's items, order and comments stay, items of reports no longer on air go, new ones are added.
    """
    path = rundown_path(station, week)
    changes: list[str] = []
    fresh = _fresh_plan(station, week, changes)
    if path.exists():
        stored, body = _split_checksum(path.read_text(encoding="utf-8"))
        edited = stored != _checksum(body)
        if edited and not force:
            raise RundownError("the rundown has been edited by hand", where=path,
                               fix=f"pass --force to merge new reports into it, keeping your edits")
        if edited:
            doc = _load_doc(path, body, editable=True)
            fresh = _merge(station, week, doc, fresh, changes)
    body = HEADER.format(week=week) + _dump(fresh)
    fsutil.write_text(path, f"{CHECKSUM}{_checksum(body)}\n{body}")
    return path, changes


def _merge(station: Station, week: str, doc: CommentedMap, fresh: CommentedMap, changes: list[str]) -> CommentedMap:
    items = doc.get("items")
    if not isinstance(items, CommentedSeq):
        raise RundownError("'items' is not a list", where=rundown_path(station, week), fix="restore the items: list")
    every, why = ready_reports(station, week)
    known = {r.id for r in every}
    removed = []
    for i in reversed(range(len(items))):
        rid = items[i].get("report") if isinstance(items[i], dict) else None
        if rid and rid in why:
            removed.append(f"removed {items[i].get('id')}: report {rid} {why[rid]}")
            del items[i]
        elif rid and rid not in known:
            removed.append(f"removed {items[i].get('id')}: there is no report {rid} in {week}")
            del items[i]
    changes += reversed(removed)
    _migrate_copies(items, changes, station.language)
    have = {it.get("report") for it in items if isinstance(it, dict)}
    ids = {it.get("id") for it in items if isinstance(it, dict)}
    last_report = max((i for i, it in enumerate(items) if isinstance(it, dict) and it.get("report")), default=None)
    at = (last_report + 1) if last_report is not None else len(items)
    for it in fresh["items"]:
        if it.get("report") and it["report"] not in have and it["id"] not in ids:
            items.insert(at, it)
            at += 1
            changes.append(f"added {it['id']}")
    return doc


def _migrate_copies(items: CommentedSeq, changes: list[str], lang: str) -> None:
    """Rundowns planned before the rundown held references kept copies of the headlines and appeals; a copy
    would keep reading a held report or a withheld town, so it becomes a reference again."""
    for it in items:
        if not isinstance(it, dict) or it.get("generated") or not isinstance(it.get("text"), str):
            continue
        for kind, intro in (("headlines", HEADLINES_INTRO), ("appeals", APPEALS_INTRO)):
            if it.get("id") == kind and it["text"].startswith((intro, gettext(lang, intro))):
                keys = list(it)
                it.insert(keys.index("text"), "generated", kind)
                del it["text"]
                changes.append(f"{kind}: now drawn from the reports on air at every build (was a copy)")


# --- reading -----------------------------------------------------------------------------------------

def _load_doc(path: Path, text: str | None = None, *, editable: bool = False) -> CommentedMap:
    try:
        raw = text if text is not None else path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RundownError("not UTF-8 text", where=path, fix="save it as UTF-8") from None
    try:
        doc = (_yaml() if editable else yamlio.safe()).load(raw)
    except MarkedYAMLError as e:
        line = (e.problem_mark.line + 1) if e.problem_mark else 1
        raise RundownError(f"malformed YAML: {e.problem}", where=f"{path}:{line}", fix="fix the YAML on that line") from None
    except (YAMLError, ValueError) as e:
        raise RundownError(f"malformed YAML: {e}", where=path, fix="fix the YAML") from None
    if not isinstance(doc, dict):
        raise RundownError("not a rundown", where=path, fix="run `radio plan WEEK --force` to start again")
    return doc


def load(station: Station, week: str) -> Rundown:
    """Read and validate the rundown; every problem names the item and the fix."""
    path = rundown_path(station, week)
    if not path.is_file():
        raise RundownError(f"no rundown for {week}", where=path, fix=f"run `radio plan {week}`")
    doc = _load_doc(path)
    raw_items = doc.get("items") if isinstance(doc.get("items"), list) else []
    try:
        rf = RundownFile.model_validate(dict(doc))
    except ValidationError as e:
        def item_of(loc: tuple) -> str | None:
            if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and loc[1] < len(raw_items):
                it = raw_items[loc[1]]
                return f"item {(it.get('id') if isinstance(it, dict) else None) or '#' + str(loc[1] + 1)}"
            return None

        raise from_validation(
            e, where=path, cls=RundownError,
            name=lambda loc: ".".join(str(p) for p in (loc[2:] if item_of(loc) else loc)),
            where_at=lambda loc: f"{path}: {item_of(loc)}" if item_of(loc) else path,
            known=lambda loc: list(Item.model_fields if item_of(loc) else RundownFile.model_fields),
            unknown_fix="fields are: {known}", fix="correct the value") from None
    if rf.week != week:
        raise RundownError(f"the rundown is for {rf.week}, not {week}", where=path, fix=f"set week: {week}")
    return _resolve(station, week, path, rf)


PRODUCER_WORDS = ("title", "headline", "text", "notes")


def _check_words(it: Item, details: list[tuple[str, str]], owner: dict[tuple[str, str], str], where: str) -> None:
    """The producer's own words on an item may not name a detail a report withholds (checked on every build)."""
    for key in PRODUCER_WORDS:
        hit = find_withheld(getattr(it, key) or "", details)
        if hit:
            raise RundownError(f"the {key} names the withheld {hit[0]} of report {owner[hit]}", where=where,
                               fix=f"rewrite the {key} without it (see `radio report show {owner[hit]}`), or "
                                   "remove it to use the report's own words")


def _resolve(station: Station, week: str, path: Path, rf: RundownFile) -> Rundown:
    """Items with their public text drawn from the current reports: a report no longer fit for air is dropped
    (with a line saying why), and the headlines and appeals are made from the reports still on."""
    cfg = station.config
    lang = station.language
    host_ids = {h.id for h in cfg.hosts}
    every, why = ready_reports(station, week)
    reports = {r.id: r for r in every}
    owner: dict[tuple[str, str], str] = {}
    for r in every:
        for d in withheld_details(r):
            owner.setdefault(d, r.id)
    seen: set[str] = set()
    resolved: list[tuple[Item, PublicReport | None]] = []
    dropped: list[str] = []
    for it in rf.items:
        where = f"{path}: item {it.id}"
        if it.id in seen:
            raise RundownError("duplicate item id", where=where, fix="give every item its own id")
        seen.add(it.id)
        if it.type in SPEECH:
            if not it.host:
                raise RundownError("no host", where=where, fix=f"set host: one of {', '.join(sorted(host_ids))}")
            if not it.report and not it.generated and not (it.text or "").strip():
                raise RundownError(f"a {it.type} item needs text or a report", where=where,
                                   fix="add text: or report: REPORT-ID")
        if it.generated and (it.report or (it.text or "").strip()):
            raise RundownError(f"generated: {it.generated} is made from the reports; it cannot also have "
                               f"{'report' if it.report else 'text'}:", where=where,
                               fix="remove generated: to read your own text, or remove the text")
        if it.headline is not None and not it.report:
            raise RundownError("headline: belongs on an item with a report", where=where,
                               fix="move it to the report's item, or remove it")
        if it.host is not None and it.host not in host_ids:
            raise RundownError(f"unknown host {it.host!r}", where=where,
                               fix=f"use one of: {', '.join(sorted(host_ids))}")
        for key, name in (("element", it.element), ("bed", it.bed)):
            if name is not None and name not in cfg.elements:
                raise RundownError(f"unknown {key} {name!r}", where=where,
                                   fix=f"use one of: {', '.join(sorted(cfg.elements))}, or add it to radio.toml")
        if it.type == "element" and not it.element:
            raise RundownError("an element item needs element: NAME", where=where, fix="name a station sound")
        if it.type == "bed":
            if not (it.bed or it.element):
                raise RundownError("a bed item needs bed: NAME", where=where, fix="name a bed element")
            if not it.duration:
                raise RundownError("a bed item needs a duration", where=where, fix="add duration: M:SS")
        if it.duration is not None:
            try:
                if parse_duration_ms(it.duration) <= 0:
                    raise ValueError("a duration must be longer than zero")
            except ValueError as e:
                raise RundownError(f"bad duration: {e}", where=where, fix="write it as M:SS, e.g. 0:30") from None
        report = None
        if it.report:
            r = reports.get(it.report)
            if r is None:
                raise RundownError(f"unknown report {it.report!r}", where=where,
                                   fix=f"see `radio report list {week}` for the ids")
            if it.report in why:
                dropped.append(f"dropped {it.id}: report {it.report} {why[it.report]}")
                continue
            # the producer's words on a report's item are held to that report's exposure
            _check_words(it, withheld_details(r), owner, where)
            report = public(r, r._source or reports_path(station, week, r.id))
        else:  # words not tied to one report may name no report's withheld details
            _check_words(it, list(owner), owner, where)
        resolved.append((it, report))
    on_air = [(it, r) for it, r in resolved if r is not None and not it.skip]
    entries: list[Entry] = []
    for it, report in resolved:
        if it.generated == "headlines":
            heads = [it2.headline or headline(r.title) for it2, r in on_air if it2.type in SPEECH]
            text = f"{gettext(lang, HEADLINES_INTRO)} {' '.join(heads)}" if heads else ""
        elif it.generated == "appeals":
            appeals = [r.appeal for _, r in on_air if r.appeal]
            text = f"{gettext(lang, APPEALS_INTRO)} {' '.join(appeals)}" if appeals else ""
        else:
            text = (it.text or "").strip() or (spoken_text(report, lang) if report else "")
        if it.generated and not text:
            continue  # nothing on air to make it from this week
        title = it.title or (report.title if report else (cfg.elements[it.element].title if it.element and
                                                         cfg.elements[it.element].title else it.id))
        entries.append(Entry(it, report, " ".join(clean(text).split()) if it.type in SPEECH else "",
                             " ".join(clean(title).split())))
    return Rundown(week, clean(rf.title), path, entries, dropped)


def refuse_stale_masters(rundown: Rundown, placed: list[dict], as_run: Path) -> None:
    """Masters mixed before a report was held (or dropped for any reason) still hold its voice: they are
    never tagged or published, whatever the order the commands ran in."""
    live = {e.id for e in rundown.live}
    stale = sorted({i["id"] for i in placed if i.get("type") in SPEECH and i["id"] not in live})
    if stale:
        why = {line.split(":")[0].removeprefix("dropped "): line for line in rundown.dropped}
        raise RundownError(f"the masters were mixed with {', '.join(stale)}, no longer in the show"
                           + (f" ({'; '.join(why[s] for s in stale if s in why)})" if set(stale) & set(why) else ""),
                           where=as_run, fix=f"run `radio build {rundown.week}` to mix them again")


def dropped_lines(station: Station, week: str) -> list[str]:
    """What the next output will leave out and why; nothing when there is no readable rundown yet."""
    if not rundown_path(station, week).is_file():
        return []
    try:
        return load(station, week).dropped
    except RadioError:  # the stage that loads it says what is wrong
        return []


def reports_path(station: Station, week: str, rid: str) -> Path:
    return station.week_dir(week) / "reports" / f"{rid}.md"


# --- timing --------------------------------------------------------------------------------------------

def recording(station: Station, week: str, item_id: str) -> Path | None:
    """The take an item uses: the newest `segments/<item-id>.<ext>` (see radio.takes)."""
    return takes.scan(station, week, [item_id]).recordings.get(item_id)


def estimate_ms(station: Station, entry: Entry, wpm: float | None = None) -> int:
    """How long an item takes to read, from its words and the host's rate (the configured one unless given)."""
    if entry.item.type not in SPEECH:
        return 0
    host = next((h for h in station.config.hosts if h.id == entry.item.host), None)
    return round(words(entry.text) * 60000 / (wpm or (host.rate_wpm if host else 165.0)))


def draft_path(station: Station, week: str, item_id: str) -> Path:
    return station.out_dir(week) / "drafts" / f"{item_id}.wav"


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
    """The lowest-priority report items whose removal brings the show within the slot (laid out again, exactly)."""
    pool = sorted((t for t in live if t.entry.report is not None),
                  key=lambda t: (-t.entry.report.priority, -t.number))  # type: ignore[union-attr]
    cut: list[str] = []
    for t in pool:
        keep = [i for i, x in enumerate(live) if x.entry.id not in cut]
        if lay_out([live[i].duration_ms for i in keep], [overlaps[i] for i in keep], gap_ms)[1] <= slot_ms:
            break
        cut.append(t.entry.id)
    return cut


def timing(station: Station, rundown: Rundown, *, actuals: dict[str, int] | None = None,
           as_run: AsRun | None = None, accept_stale: bool = False, decode_takes: bool = True) -> ShowTime:
    """Estimated and actual durations, front and back times, over/under and cut candidates.

    Before assembly, an item's actual time is its take's length. With the week's `as_run` (current: assembled
    from the rundown and takes as they are), actual, front and back times and the total are where the items are
    in the on-air master. `actuals` override durations (assembly's own over-run check). Each recording is checked
    against the text it was recorded with (radio/recorded.py): one made before its words changed is `stale`.
    Without `decode_takes`, takes not measured yet are taken as they are (assembly, about to decode them, checks
    them itself).
    """
    from radio import recorded
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
        why = takes.problem(station, week, e.id, p, estimate_ms(station, e), decode=decode_takes)
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
    stale = recorded.stale(station, rundown, accept=accept_stale)
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
            conf, meas = rates[it.host or ""] if it.host in rates else (165.0, None)
            est = round(n_words * 60000 / (meas or conf))
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


# --- edits through the round-trip editor (the studio's reorder, skip and restore) ---------------------

def digest(data: bytes) -> str:
    """What a page holds to prove it saw the rundown as it is on disk now."""
    return hashlib.sha256(data).hexdigest()[:16]


def _detach_gaps(items: CommentedSeq) -> list:
    """Lift the comment lines between items (held by each item's last key) so they stay between the same
    positions when items move: a "# news" heading stays where the news starts. Same-line comments stay put."""
    gaps = []
    for m in items:
        tok = None
        if isinstance(m, CommentedMap) and m:
            entry = m.ca.items.get(list(m.keys())[-1])
            if entry and len(entry) > 2 and entry[2] is not None:
                tok = entry[2]
                value = tok.value
                if value.lstrip(" ").startswith("#"):  # a comment on the item's own last line
                    eol, _, rest = value.partition("\n")
                    tok.value = eol + "\n"
                    if rest.strip():
                        gap = copy.copy(tok)
                        gap.value = "\n" + rest if not rest.startswith("\n") else rest
                        gaps.append(gap)
                        continue
                    gaps.append(None)
                    continue
                entry[2] = None
        gaps.append(tok)
    return gaps


def _attach_gaps(items: CommentedSeq, gaps: list) -> None:
    for m, tok in zip(items, gaps):
        if tok is None or not isinstance(m, CommentedMap) or not m:
            continue
        entry = m.ca.items.setdefault(list(m.keys())[-1], [None, None, None, None])
        if entry[2] is not None and entry[2].value.lstrip(" ").startswith("#"):
            entry[2].value = entry[2].value.rstrip("\n") + ("\n" if not tok.value.startswith("\n") else "") + tok.value
        else:
            entry[2] = tok


def edit(station: Station, week: str, change, *, expect: str) -> str:
    """Apply `change(items)` to rundown.yaml's items through the round-trip editor (comments, order and
    formatting kept) and write it atomically. Refused if the file is not the one the caller saw (`expect`,
    its digest). Returns the new digest."""
    path = rundown_path(station, week)
    if not path.is_file():
        raise RundownError(f"no rundown for {week}", where=path, fix=f"run `radio plan {week}`")
    data = path.read_bytes()
    if digest(data) != expect:
        raise RundownError("rundown.yaml changed on disk since this page loaded", where=path,
                           fix="nothing was written; the page shows it as it is now: make the change again")
    doc = _load_doc(path, data.decode("utf-8"), editable=True)
    items = doc.get("items")
    if not isinstance(items, CommentedSeq):
        raise RundownError("'items' is not a list", where=path, fix="restore the items: list")
    gaps = _detach_gaps(items)
    change(items)
    _attach_gaps(items, gaps)
    text = _dump(doc)
    fsutil.write_text(path, text)
    return digest(text.encode("utf-8"))


def move_item(items: CommentedSeq, item_id: str, by: int) -> None:
    i = _index(items, item_id)
    j = max(0, min(len(items) - 1, i + by))
    if i != j:
        items.insert(j, items.pop(i))


def set_skip(items: CommentedSeq, item_id: str, skip: bool) -> None:
    m = items[_index(items, item_id)]
    if skip:
        m["skip"] = True
    elif "skip" in m:
        del m["skip"]


def _index(items: CommentedSeq, item_id: str) -> int:
    for i, m in enumerate(items):
        if isinstance(m, dict) and m.get("id") == item_id:
            return i
    raise RundownError(f"no item {item_id!r} in the rundown", fix="reload the page")

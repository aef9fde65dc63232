"""The week's rundown as the stages read it: the file's items, validated, each resolved against the reports as
they are now (a report no longer fit for air is dropped, saying why; the headlines and appeals are drawn from
the reports still on)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml.comments import CommentedMap

from radio import publicid, yamlio
from radio.config import parse_duration_ms
from radio.errors import RadioError, RundownError, from_validation
from radio.i18n import N_, gettext
from radio.publishable import verdicts
from radio.reports.model import PublicReport, Report, check_id, clean, public
from radio.station import Station
from radio.withheld import find_withheld, withheld_details
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
    """The week's reports and, for each one that cannot go on air, why (radio/publishable.py decides)."""
    return verdicts(station, week, retractions=False)


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
    pids = publicid.ids(station, week, every)  # what publishing names them by, never the desk id
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
            report = public(r, r._source or reports_path(station, week, r.id), public_id=pids[r.id])
        else:  # words not tied to one report may name no report's withheld details
            _check_words(it, list(owner), owner, where)
            # nor may its id, which the episode's record publishes (a report's item goes out under the report's
            # public id instead); the message names the item by its place, not by the id
            hit = find_withheld(it.id.replace("-", " "), list(owner))
            if hit:
                raise RundownError(f"the id of item #{rf.items.index(it) + 1} names the withheld {hit[0]} of report "
                                   f"{owner[hit]}", where=path, fix="give the item another id")
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
    return station.reports_dir(week) / f"{rid}.md"

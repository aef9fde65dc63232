"""Planning: the week's rundown.yaml made from the show format and the reports that may go on air; a hand-edited
one is merged (with --force), keeping the producer's items, order and comments."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from radio import fsutil, publicid
from radio.errors import RundownError
from radio.i18n import day_month_year, gettext, joined, long_date
from radio.reports.model import clean, public
from radio.rundown.model import APPEALS_INTRO, CHECKSUM, HEADER, HEADLINES_INTRO, _load_doc, _yaml, ready_reports, rundown_path
from radio.station import Station


def _fresh_plan(station: Station, week: str, notes: list[str] | None = None) -> CommentedMap:
    cfg = station.config
    lang = station.language
    _ = lambda message: gettext(lang, message)  # noqa: E731
    every, why = ready_reports(station, week)
    for r in every:  # a verified report kept off the air for a reason the desk may not expect
        if r.id in why and r.status == "verified" and not r._gap and notes is not None:
            notes.append(f"left out {r.id}: report {r.id} {why[r.id]}")
    pids = publicid.ids(station, week, every)
    reports = [public(r, r._source or r.id, public_id=pids[r.id]) for r in every if r.id not in why]
    desk = {pids[r.id]: r.id for r in every}  # the rundown names reports by their desk ids
    # a report made by `report new` has no event date yet: it sorts after the dated ones of its priority
    reports.sort(key=lambda r: (r.priority, r.event_date is None, r.event_date or dt.date.min,
                               "" if r.event_date else r.title, desk[r.id]))
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
                add(comment="news" if i == 0 else None, id=desk[r.id], type="read", host=host(), report=desk[r.id])
        elif section == "features":
            for i, r in enumerate(features):
                add(comment="features" if i == 0 else None, id=desk[r.id], type="recorded", host=host(), report=desk[r.id])
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

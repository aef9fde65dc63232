"""The broadcast script and the run sheet, from the rundown's public data through jinja2 templates."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from radio import fsutil, index
from radio.config import format_ms
from radio.i18n import gettext, long_date
from radio.render import render
from radio.station import Station
from radio.rundown.model import Rundown, attribution_line
from radio.threads import previously
from radio.timing import ShowTime, against_slot, over_under

RUNSHEET_COLUMNS = ["#", "id", "slug", "type", "host", "in words", "out words", "estimated", "actual", "front time",
                    "back time", "media file", "status", "notes"]


@dataclass(frozen=True)
class Row:
    """One run-sheet line: only public data, already formatted for people."""

    number: str
    id: str
    slug: str
    type: str
    host: str
    host_name: str
    in_words: str
    out_words: str
    estimated: str
    actual: str
    front: str
    back: str
    media: str
    status: str
    notes: str
    cue: str
    attribution: str
    text: str
    title: str
    words: int
    skipped: bool
    paragraphs: list[str]
    hit: str  # the on-air clock time the item starts, e.g. 18:27:17
    pages: list[list[str]]  # the paragraphs as printed, page by page, split only between sentences
    previously: str = ""  # for an item in a running thread: the latest earlier headline and its date


def _cue_words(text: str, first: bool) -> str:
    w = text.split()
    if not w:
        return ""
    return " ".join(w[:4]) + ("…" if len(w) > 4 else "") if first else ("…" if len(w) > 4 else "") + " ".join(w[-4:])


# --- the script on paper ------------------------------------------------------------------------------
# Chromium cannot put "(MORE)" and "(CONT'D)" where it breaks a page, so the script is paginated here, between
# sentences, with a conservative estimate of what fits (the print CSS in script.html sets the matching type).
LETTER_REGIONS = {"US", "CA", "MX", "PH", "CL", "CO", "VE"}
PAPER = {  # characters per line and lines per page at the print type size; first page of an item holds its header
    "A4": {"chars": 52, "first": 17, "more": 25},
    "Letter": {"chars": 54, "first": 15, "more": 22},
}
_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9À-ÖØ-ÞĀ-Ž])")


def paper(station: Station) -> str:
    """A4, unless the station's locale (its language tag's region, e.g. en-US) uses Letter."""
    parts = re.split(r"[-_]", station.config.station.language)
    return "Letter" if any(p.upper() in LETTER_REGIONS for p in parts[1:]) else "A4"


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE.split(paragraph.strip()) if s]


def paginate(paragraphs: list[str], size: str, *, first_page: int | None = None) -> list[list[str]]:
    """Split an item's paragraphs into printed pages, only ever between sentences."""
    fmt = PAPER[size]
    cap = first_page if first_page is not None else fmt["first"]

    def cost(page: list[list[str]]) -> float:  # lines, and half a line between paragraphs
        return sum(math.ceil(len(" ".join(p)) / fmt["chars"]) + 0.5 for p in page)

    pages: list[list[list[str]]] = [[]]
    for para in paragraphs:
        started = False
        for s in sentences(para):
            page = pages[-1]
            trial = [*page[:-1], [*page[-1], s]] if started else [*page, [s]]
            if page and cost(trial) > cap:
                pages.append([[s]])
                cap = fmt["more"]
            else:
                pages[-1] = trial
            started = True
    return [[" ".join(p) for p in page] for page in pages if page] or [[]]


def hit_time(air: dt.datetime, front_ms: int) -> str:
    """The on-air clock time an item starts, rounded to the second as its front time is."""
    return (air + dt.timedelta(seconds=(front_ms + 500) // 1000)).strftime("%H:%M:%S")


def reminders(station: Station, rundown: Rundown) -> dict[str, str]:
    """The host's reminder for each item in a running thread, by item id: read by the stage (or the studio) that
    loads the week, before anything is rendered, and handed to `rows`."""
    out = {}
    with index.batch(station):  # each item's reminder looks at the index: the files are looked at once
        for e in rundown.entries:
            if e.report and (line := previously(station, rundown.week, e.report)):
                out[e.item.id] = line
    return out


def rows(station: Station, week: str, show: ShowTime, reminders: dict[str, str]) -> list[Row]:
    """`reminders`: the thread reminder of each item that has one (radio.threads.reminders), given by the stage
    that loaded the week: rendering reads nothing from disk."""
    cfg = station.config
    _ = lambda message: gettext(station.language, message)  # noqa: E731
    air = station.air_datetime(week)
    size = paper(station)
    out = []
    for t in show.items:
        e, it = t.entry, t.entry.item
        host = cfg.host(it.host) if it.host else None
        if it.type == "element":
            cue = _("play {title} ({duration})").format(title=e.title, duration=format_ms(t.duration_ms))
        elif it.type == "bed":
            cue = _("bed {name} for {duration}").format(name=it.bed or it.element, duration=format_ms(t.duration_ms))
        else:
            cue = (_("read live") if it.type == "read" else _("play recording")) + (
                " " + _("over bed {name}").format(name=cfg.elements[it.bed].title or it.bed) if it.bed else "")
        notes = "; ".join(x for x in [it.notes or "", "on air only" if it.onair_only else "",
                                      "CUT CANDIDATE" if it.id in show.cut else "",
                                      "STALE: recorded before the public text changed, re-record"
                                      if it.id in show.stale else ""] if x)
        text = e.text
        paragraphs = [p.strip() for p in (e.report.text.split("\n") if e.report and not it.text else [text]) if p.strip()]
        if e.report and not it.text:
            paragraphs = [attribution_line(station.language, e.report)] + paragraphs
        out.append(Row(
            number=str(t.number) if t.number else "–", id=it.id, slug=e.title, type=it.type,
            host=it.host or "", host_name=host.name if host else "", in_words=_cue_words(text, True) or ("(music)" if it.type in ("element", "bed") else ""), out_words=_cue_words(text, False),
            estimated=format_ms(t.estimated_ms), actual=format_ms(t.actual_ms) if t.actual_ms is not None else "",
            front=format_ms(t.front_ms) if t.number else "", back=format_ms(t.back_ms) if t.number else "",
            media=t.media or (f"{station.edition_dir(week).relative_to(station.root)}/segments/{it.id}.wav" if it.type in ("read", "recorded") else ""), status=t.state,
            notes=notes, cue=cue, attribution=e.report.attribution if e.report else "", text=text, title=e.title,
            words=t.words, skipped=it.skip, paragraphs=paragraphs,
            hit=hit_time(air, t.front_ms) if t.number else "",
            pages=paginate(paragraphs, size, first_page=PAPER[size]["first"] - 4 if not out else None),
            previously=reminders.get(it.id, "")))
    return out


def context(station: Station, rundown: Rundown, show: ShowTime, reminders: dict[str, str]) -> dict:
    cfg = station.config
    air = station.air_datetime(rundown.week)
    return {
        "show": {"title": cfg.show.title, "station": cfg.station.name, "language": cfg.station.language},
        "week": rundown.week, "title": rundown.title,
        "air": f"{long_date(station.language, air.date())}, {air:%H:%M} {air.tzname()}",
        "rows": rows(station, rundown.week, show, reminders), "slot": format_ms(show.slot_ms), "total": format_ms(show.total_ms),
        "over_under": over_under(show.over_ms), "over": show.over_ms > 0, "cut": show.cut,
        "hosts": [{"id": h.id, "name": h.name} for h in cfg.hosts],
        "paper": paper(station),
        "audio_report": station.audio_report(rundown.week).is_file(),
    }


def runsheet_csv(ctx: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RUNSHEET_COLUMNS)
    for r in ctx["rows"]:
        w.writerow([r.number, r.id, r.slug, r.type, r.host, r.in_words, r.out_words, r.estimated, r.actual, r.front,
                    r.back, r.media, r.status, r.notes])
    w.writerow(["", "TOTAL", "", "", "", "", "", "", "", ctx["total"], "", "", ctx["over_under"],
                ("cut candidates: " + ", ".join(ctx["cut"])) if ctx["cut"] else ""])
    w.writerow(["", "SLOT", "", "", "", "", "", "", "", ctx["slot"], "", "", "", ""])
    return buf.getvalue()


def _write(station: Station, week: str, files: dict[str, str]) -> list[Path]:
    out = station.out_dir(week)
    for name, text in files.items():
        fsutil.write_text(out / name, text)
    return [out / name for name in files]


def write_script(station: Station, rundown: Rundown, show: ShowTime, reminders: dict[str, str]) -> list[Path]:
    """The host's script: estimates, from the rundown and the takes (made before assembly)."""
    ctx = context(station, rundown, show, reminders)
    return _write(station, rundown.week, {"script.html": render(station, "script.html", ctx),
                                          "script.md": render(station, "script.md", ctx)})


def write_runsheet(station: Station, rundown: Rundown, show: ShowTime, reminders: dict[str, str]) -> list[Path]:
    """The run sheet: after assembly, the times as aired (from the as-run); before it, the estimates."""
    ctx = context(station, rundown, show, reminders)
    return _write(station, rundown.week, {"runsheet.html": render(station, "runsheet.html", ctx),
                                          "runsheet.csv": runsheet_csv(ctx)})


def status_table(station: Station, rundown: Rundown, show: ShowTime) -> str:
    from radio.text import table
    rs = rows(station, rundown.week, show, {})  # a table of times: no reminders
    body = [[r.number, r.id, r.type, r.host, r.status, r.estimated, r.actual or "-", r.front or "-", r.back or "-"]
            for r in rs]
    lines = [f"{rundown.title} ({rundown.week})",
             table(["#", "ITEM", "TYPE", "HOST", "STATE", "EST", "ACTUAL", "FRONT", "BACK"], body, widths={1: 36},
                   right={5, 6, 7, 8}),
             "",
             f"total {format_ms(show.total_ms)} of {format_ms(show.slot_ms)}: {against_slot(station, show)}"]
    for host_id, (conf, meas) in show.rates.items():
        lines.append(f"{host_id}: {conf:g} wpm configured" + (f", {meas:g} wpm measured" if meas else ", not yet measured"))
    if show.cut:
        lines.append("cut candidates: " + ", ".join(show.cut))
    rejected = [t for t in show.items if t.state == "rejected" and t.number]
    lines += [f"rejected: {t.problem}" for t in rejected]
    lines += [f"note: {n}" for n in show.notes]
    from radio.recorded import line
    for item_id, why in show.stale.items():
        lines.append(f"stale: {line(item_id, why)}")
    missing = [t.entry.id for t in show.items if t.state == "missing"]
    drafts = [t.entry.id for t in show.items if t.state == "draft"]
    stale = [t.entry.id for t in show.items if t.state == "stale"]
    if rejected:
        nxt = f"record {', '.join(t.entry.id for t in rejected)} again, then radio build {rundown.week}"
    elif stale:
        nxt = (f"re-record {', '.join(stale)} (or build with --allow-stale-take if the change does not touch "
               "what was read)")
    elif show.over_ms > 0:
        nxt = f"cut or shorten {', '.join(show.cut)}, or mark items skip: true in rundown.yaml"
    elif missing:
        nxt = (f"record {len(missing)} items into {station.edition_dir(rundown.week).relative_to(station.root)}/segments/<item>.wav (first: {missing[0]}), "
               f"or hear a draft: radio assemble {rundown.week} --draft")
    elif drafts:
        nxt = f"record {len(drafts)} drafted items (first: {drafts[0]}), then radio build {rundown.week}"
    else:
        nxt = f"radio build {rundown.week}"
    lines.append(f"next: {nxt}")
    return "\n".join(lines)

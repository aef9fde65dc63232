"""The desk's commands that change a report: file a new one, add a check, hold, reject, reopen, start a
translation, record a correction or a retraction. Each writes the report (under its lock) and the history."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from radio import fsutil, history, yamlio
from radio.keys import block as keys_block
from radio.keys import editors as keys_editors
from radio.config import LANG_RE
from radio.errors import ReportError
from radio.reports.files import (FRONT, TEMPLATE_TEXT, ReportFile, _record_digests, _split, _validate, _yaml,
                                 editing, find_report, is_template_text, reports_dir)
from radio.reports.model import KINDS, Check, Status, make_id, policy_counts, policy_holds, public
from radio.reports.translations import read_translation, report_language
from radio.station import Station, Week


NEW_TEMPLATE = """\
---
# FICTIONAL SAMPLE FIELDS: replace with the correspondent's report.
id: {id}
title: {title}
received: {received}
event_date:
place: {place}        # town or city: published only with exposure: named
workplace:            # mine, plant, depot, school: published only with exposure: named
region: {region}       # published unless exposure: none
sector: {sector}
kind: {kind}           # {kinds}
attribution:          # the public line, e.g. "our correspondent in the Urals"; blank = derived from exposure
priority: 3           # 1 (lead) to 5
status: unverified    # set by `radio report verify / hold / reject / reopen`
checks: []
appeal:               # public: where solidarity messages or money can go
exposure: named       # named | regional (region only) | none (no place at all)
thread:               # optional: a story followed across weeks, e.g. kestrel-ridge-strike
private:              # NEVER published: who told us, how to reach them, what they asked
  correspondent:      # pseudonym from private/correspondents.yaml
  contact:
  notes:
---
{text}
"""


def _scalar(v: str | None) -> str:
    if not v:
        return ""
    buf = io.StringIO()
    yamlio.safe(pure=True).dump(v, buf)
    return buf.getvalue().strip().removesuffix("\n...").strip()


def new_report(station: Station, week: str, title: str, *, place: str | None = None, region: str | None = None,
               sector: str | None = None, kind: str = "other", received: dt.date | None = None) -> Path:
    if not title.strip():
        raise ReportError("the title is empty", fix="pass --title with a few words")
    if kind not in KINDS:
        raise ReportError(f"--kind {kind!r} is not a report kind", fix=f"use one of: {', '.join(KINDS)}")
    when = received or Week(week).day(1)
    return _create(station, week, title, lambda rid: NEW_TEMPLATE.format(
        id=rid, title=_scalar(title), received=when.isoformat(), place=_scalar(place), region=_scalar(region),
        sector=_scalar(sector), kind=kind, kinds=" | ".join(KINDS), text=TEMPLATE_TEXT))


def _create(station: Station, week: str, title: str, render: Callable[[str], str]) -> Path:
    """Write a new report under a fresh id from its title. Two commands filing at the same moment get two ids:
    the file is linked into place, which fails rather than overwrite one the other just wrote."""
    folder = reports_dir(station, week)
    taken: set[str] = set()  # ids found taken; the folder is not listed (intake files a thousand in a row)
    while True:
        rid = make_id(title, taken)
        path = folder / f"{rid}.md"
        if path.exists():
            taken.add(rid)
            continue
        text = render(rid)
        front, body = _split(path, text.encode("utf-8"))
        _validate(path, _yaml().load(front), body, station.config.verification)  # what we write must read back
        tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
        try:
            fsutil.write_text(tmp, text, private=keys_editors.sealed(station))
            os.link(tmp, path)
            return path
        except FileExistsError:
            taken.add(rid)
        finally:
            tmp.unlink(missing_ok=True)


def file_report(station: Station, week: str, title: str, *, received: dt.date, body: str,
                attribution: str | None = None, region: str | None = None, sector: str | None = None,
                kind: str = "other", private: dict | None = None) -> Path:
    """A whole report written at once (intake from mail): unverified, no checks, validated before it is written."""
    if not title.strip():
        raise ReportError("the title is empty", fix="give the report a title")
    sealed: list[str] = []

    def render(rid: str) -> str:
        data = CommentedMap()
        for key, value in (("id", rid), ("title", title.strip()), ("received", received), ("region", region),
                           ("sector", sector), ("kind", kind), ("attribution", attribution), ("priority", 3),
                           ("status", "unverified"), ("checks", CommentedSeq()), ("exposure", "named")):
            if value is not None:
                data[key] = value
        data["private"] = CommentedMap(private or {})
        if keys_editors.sealed(station):  # encrypted to the editors before it is written
            sealed[:] = [keys_block.seal_block(station, data["private"])]
            data["private"] = LiteralScalarString(sealed[0])
        data.yaml_set_comment_before_after_key("private", before="NEVER published: who sent it and how it came in")
        buf = io.StringIO()
        _yaml().dump(data, buf)
        return f"{FRONT}\n{buf.getvalue()}{FRONT}\n{body.strip()}\n"

    path = _create(station, week, title, render)
    if sealed:  # its leak-check digests, for a build host without an editor's key
        _record_digests(station.root, None, sealed[0], dict(private or {}))
    return path


def _set(data: CommentedMap, key: str, value: Any, after: str | None = None) -> None:
    """Set a field in place; a new field goes after `after` (keeping the producer's order)."""
    if key in data or after is None or after not in data:
        data[key] = value
    else:
        data.insert(list(data).index(after) + 1, key, value)


def add_check(station: Station, report_id: str, by: str, method: str, note: str | None = None,
              on: dt.date | None = None) -> tuple[ReportFile, int, int]:
    if not by.strip() or not method.strip():
        raise ReportError("a check needs --by and --method", fix="say who checked and how (phone, visit, document)")
    with editing(station, report_id) as rf:
        return _add_check(station, rf, by, method, note, on)


def _add_check(station: Station, rf: ReportFile, by: str, method: str, note: str | None,
               on: dt.date | None) -> tuple[ReportFile, int, int]:
    if is_template_text(rf.body):
        raise ReportError("its text is still the template's, so there is nothing to verify", where=rf.path,
                          fix="write the correspondent's report below the front matter, then verify it")
    entry = CommentedMap(by=by, on=on or dt.date.today(), method=method)
    if note:
        entry["note"] = note
    checks = rf.data.get("checks")
    if not isinstance(checks, CommentedSeq):
        checks = CommentedSeq(list(checks or []))
        _set(rf.data, "checks", checks, after="status")
    checks.append(entry)
    policy = station.config.verification
    report = rf.report.model_copy(update={"checks": [*rf.report.checks, Check.model_validate(dict(entry))]})
    if report.status == "unverified" and policy_holds(report.checks, policy):
        _set(rf.data, "status", "verified", after="priority")
        report = report.model_copy(update={"status": "verified"})
    before = rf.report.status
    rf.report = report
    rf.save()
    week = rf.path.parent.parent.name
    history.append(station, week, rf.report.id, "check", by=by, method=method, note=note)
    if report.status != before:
        history.append(station, week, rf.report.id, "status", **{"from": before, "to": report.status})
    done, need = policy_counts(report.checks, policy)
    return rf, done, need


def set_status(station: Station, report_id: str, status: Status, reason: str | None) -> ReportFile:
    if status in ("held", "rejected") and not (reason or "").strip():
        raise ReportError(f"--reason is required to mark {report_id} {status}", fix="say why, for the desk's record")
    with editing(station, report_id) as rf:
        return _set_status(station, rf, status, reason)


def _set_status(station: Station, rf: ReportFile, status: Status, reason: str | None) -> ReportFile:
    if status == "unverified":  # reopen: back to what the checks allow
        status = "verified" if policy_holds(rf.report.checks, station.config.verification) else "unverified"
        rf.data.pop("reason", None)
    else:
        _set(rf.data, "reason", reason, after="status")
    _set(rf.data, "status", status, after="priority")
    before = rf.report.status
    rf.report = rf.report.model_copy(update={"status": status, "reason": rf.data.get("reason")})
    rf.save()
    history.append(station, rf.path.parent.parent.name, rf.report.id, "status",
                   **{"from": before, "to": status, "reason": reason})
    return rf


TRANSLATE_TEMPLATE = """\
---
# Translation of {id} into {lang}. PUBLIC FIELDS ONLY: no private block here (it is an error).
# Status, exposure and places are the original's: holding it holds every translation.
title:
attribution:          # blank: derived from the exposure, in {lang}
appeal:
translator:
state: draft          # draft | checked: only a checked translation goes on air
#
# The original ({orig_lang}), to work from:
{original}
---
"""


def translate(station: Station, report_id: str, lang: str) -> Path:
    """Create <id>.<lang>.md beside the report, with the original's public text as comments."""
    if not LANG_RE.match(lang):
        raise ReportError(f"--lang {lang!r} is not a BCP 47 language tag", fix="write e.g. fr, ru, es, pt-BR")
    rf = find_report(station, report_id)
    r = rf.report
    orig_lang = report_language(station, r)
    if lang == orig_lang:
        raise ReportError(f"{report_id} is already in {lang}", fix="name another language")
    path = rf.path.with_name(f"{r.id}.{lang}.md")
    if path.exists():
        raise ReportError("the translation exists already", where=path, fix="edit it")
    pub = public(r, rf.path, public_id="")  # the original's public text, for the translator
    lines = [f"title: {pub.title}", f"attribution: {r.attribution or ''}", f"appeal: {pub.appeal or ''}", "text:"]
    lines += pub.text.splitlines()
    original = "\n".join(("# " + x).rstrip() for x in lines)
    fsutil.write_text(path, TRANSLATE_TEMPLATE.format(id=r.id, lang=lang, orig_lang=orig_lang, original=original))
    read_translation(path)  # what we wrote must read back
    return path


def _published_report(station: Station, report_id: str, what: str):
    rf = find_report(station, report_id)
    week = rf.path.parent.parent.name
    if not history.is_published(station, week):
        raise ReportError(f"{week} is not published yet: there is nothing to {what}", where=rf.path,
                          fix="edit the report; corrections and retractions are for what listeners already have")
    if rf.report.status != "verified":
        raise ReportError(f"report {report_id} is {rf.report.status}: it was not published", where=rf.path,
                          fix="only a verified report that went out can be corrected or retracted")
    if history.retraction(history.read(station, week, report_id)):
        raise ReportError(f"report {report_id} is already retracted", where=history.history_path(station, week, report_id),
                          fix="see `radio report history " + report_id + "`")
    return rf, week


def correct(station: Station, report_id: str, note: str) -> tuple[str, dict]:
    """Record a published correction. The report's text is edited as usual; the note says what changed."""
    if not note.strip():
        raise ReportError("the correction note is empty", fix='say what was wrong, e.g. --note "It was two months, '
                                                                'not three."')
    rf, week = _published_report(station, report_id, "correct")
    public(rf.report, rf.path, public_id="")  # the corrected text must still keep withheld details out
    return week, history.append(station, week, report_id, "correction", note=" ".join(note.split()))


def retract(station: Station, report_id: str, reason: str) -> tuple[str, dict]:
    """Record a retraction: the item leaves the podcast and the site at the next publish; the on-air master stays."""
    if not reason.strip():
        raise ReportError("the retraction needs a public reason", fix='say why, e.g. --reason "The second source '
                                                                      'withdrew."')
    rf, week = _published_report(station, report_id, "retract")
    return week, history.append(station, week, report_id, "retraction", reason=" ".join(reason.split()))

"""Translations: one report, several languages. A translation holds only public fields; the edition's view of the
week puts a checked translation's text in place of the original's."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from radio.errors import ReportError
from radio.reports.files import _line_of, _split, _yaml, reports_dir, translation_name, week_reports
from radio.reports.model import Report
from radio.station import Station
from radio.yamlio import YAMLError


TranslationState = Literal["draft", "checked"]


class Translation(BaseModel):
    """A report's public text in another language. It has no private block: status and exposure are the original's."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    attribution: str | None = None
    appeal: str | None = None
    translator: str | None = None
    state: TranslationState = "draft"
    body: str = ""


def translation_path(station: Station, week: str, report_id: str, lang: str) -> Path:
    return reports_dir(station, week) / f"{report_id}.{lang}.md"


def read_translation(path: Path) -> Translation:
    front, body = _split(path, path.read_bytes())
    try:
        data = _yaml().load(front)
    except (YAMLError, ValueError) as e:
        raise ReportError(f"malformed YAML: {e}", where=path, fix="fix the YAML syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ReportError("front matter is not a set of fields", where=f"{path}:2", fix="write one 'field: value' per line")
    if "private" in data:
        raise ReportError("a translation has a private block", where=f"{path}:{_line_of(data, 'private')}",
                          fix="delete it: what was said in confidence stays in the original report's private: block")
    allowed = [k for k in Translation.model_fields if k != "body"]
    for key in data:
        if key not in allowed:
            raise ReportError(f"field {key!r} does not belong in a translation", where=f"{path}:{_line_of(data, key)}",
                              fix=f"a translation holds only {', '.join(allowed)}; status, exposure and places "
                                  "come from the original")
    try:
        t = Translation.model_validate({**{k: v for k, v in data.items()}, "body": body.strip()})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ReportError(f"field {field!r}: {err['msg'].removeprefix('Value error, ')}",
                          where=f"{path}:{_line_of(data, str(err['loc'][0])) or 2}", fix="use draft or checked"
                          if field == "state" else "correct the value") from None
    if t.state == "checked" and not ((t.title or "").strip() and t.body):
        raise ReportError("a checked translation needs a title and the text", where=path,
                          fix="translate them, or set state: draft")
    return t


def week_translations(station: Station, week: str) -> dict[tuple[str, str], Path]:
    """(report id, language) -> translation file, for the week."""
    folder = reports_dir(station, week)
    out = {}
    for path in sorted(folder.glob("*.*.md")) if folder.is_dir() else []:
        m = translation_name(path)
        if m:
            out[(m.group("id"), m.group("lang"))] = path
    return out


def report_language(station: Station, report: Report) -> str:
    return report.lang or station.primary_language


def edition_reports(station: Station, week: str) -> list[Report]:
    """The week's reports as this edition speaks them.

    A report in the edition's language is itself. Otherwise its checked translation's public fields stand in
    for the original's; status, exposure, places and aliases stay the original's, so a hold or a lowered
    exposure reaches every edition, and the withheld-detail check runs on the translated text. Without a
    checked translation the report is listed but cannot go on air in this edition.
    """
    lang = station.language
    originals = week_reports(station, week)
    ids = {r.id for r in originals}
    translations = week_translations(station, week)
    for (rid, tl), path in translations.items():
        if rid not in ids:
            raise ReportError(f"a translation of {rid!r}, but there is no such report", where=path,
                              fix=f"rename it to <report-id>.{tl}.md, or delete it")
    out = []
    for r in originals:
        if report_language(station, r) == lang:
            r = r.model_copy()
            r._source = reports_dir(station, week) / f"{r.id}.md"
            out.append(r)
            continue
        path = translations.get((r.id, lang))
        t = read_translation(path) if path else None
        if t is None or t.state != "checked":
            r = r.model_copy()
            r._gap = (f"has no checked {lang} translation" + (f" ({path.name} is a draft)" if t else
                      f" (`radio report translate {r.id} --lang {lang}`)"))
            out.append(r)
            continue
        tr = r.model_copy(update={"title": t.title, "attribution": t.attribution, "appeal": t.appeal,
                                  "body": t.body, "lang": lang})
        tr._source = path
        tr._original_title = r.title
        out.append(tr)
    return out

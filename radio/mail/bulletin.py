"""The weekly bulletin: the week's publishable reports as e-mail-safe HTML, 72-column text and a PDF.

It is made from the same public reports as the show (verified, not held or retracted, exposure enforced by
`public()`), grouped by region or sector as [mail] group_by says, with the appeals gathered at the end. It
holds only PublicReport values; the private block never reaches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from radio import fsutil
from radio.station import Station
from radio.errors import RadioError
from radio.reports import PublicReport, on_air_ready, public, reports_dir, week_reports
from radio.render import environment

WIDTH = 72


@dataclass
class Bulletin:
    week: str
    language: str
    html: Path
    text: Path
    pdf: Path
    count: int


def languages(station: Station) -> list[str]:
    """The languages a bulletin can be made in: the station's, and any edition's that has translations."""
    langs = [station.config.station.language]
    for ed in getattr(station.config, "editions", None) or []:
        lang = getattr(ed, "language", None)
        if lang and lang not in langs:
            langs.append(lang)
    return langs


def out_paths(station: Station, week: str, language: str) -> tuple[Path, Path, Path]:
    out = station.out_dir(week)
    suffix = "" if language == station.config.station.language else f".{language}"
    return out / f"bulletin{suffix}.html", out / f"bulletin{suffix}.txt", out / f"bulletin{suffix}.pdf"


def _translated(station: Station, week: str, report: PublicReport, language: str) -> PublicReport:
    """The report in another language, from reports/<id>.<lang>.md's public fields when the desk has one."""
    if language == station.config.station.language:
        return report
    path = reports_dir(station, week) / f"{report.id}.{language}.md"
    if not path.is_file():
        raise RadioError(f"no {language} translation of {report.id}", where=path,
                         fix=f"translate it, or make the bulletin without --edition {language}")
    from radio.reports import _split  # the same front-matter reader as the desk's
    from radio import yamlio
    front, body = _split(path, path.read_bytes())
    data = yamlio.safe().load(front) or {}
    if not isinstance(data, dict):
        raise RadioError("front matter is not a set of fields", where=path, fix="write one 'field: value' per line")
    from dataclasses import replace
    return replace(report, title=str(data.get("title") or report.title), text=body.strip() or report.text,
                   appeal=data.get("appeal") if data.get("appeal") else report.appeal)


def stories(station: Station, week: str, language: str | None = None) -> list[PublicReport]:
    language = language or station.config.station.language
    from radio.history import retracted
    gone = retracted(station, week)  # a retraction takes a report out of everything published from then on
    ready = [public(r, reports_dir(station, week) / f"{r.id}.md") for r in week_reports(station, week)
             if on_air_ready(r) is None and r.id not in gone]
    return [_translated(station, week, p, language) for p in ready]


def groups(station: Station, reports: list[PublicReport]) -> list[dict]:
    key = station.config.mail.group_by
    other = "Other news"
    by: dict[str, list[PublicReport]] = {}
    for r in reports:
        by.setdefault(getattr(r, key) or other, []).append(r)
    names = sorted((n for n in by if n != other), key=str.casefold) + ([other] if other in by else [])
    return [{"name": n, "reports": [_story(r) for r in sorted(by[n], key=lambda r: (r.priority, r.title, r.id))]}
            for n in names]


def _story(r: PublicReport) -> dict:
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", r.text) if p.strip()]
    return {"id": r.id, "title": r.title, "dateline": r.dateline, "attribution": r.attribution, "kind": r.kind,
            "event_date": r.event_date.isoformat() if r.event_date else "", "paragraphs": paras,
            "appeal": r.appeal or ""}


def context(station: Station, week: str, language: str) -> dict:
    cfg = station.config
    reports = stories(station, week, language)
    date = station.air_datetime(week).date()
    return {
        "language": language, "week": week, "date": date.isoformat(), "date_long": f"{date:%-d %B %Y}",
        "title": cfg.mail.bulletin_title or f"{cfg.show.title} bulletin", "station": cfg.station.name,
        "website": cfg.station.website, "email": cfg.mail.from_address or cfg.station.email,
        "show": cfg.show.title, "groups": groups(station, reports),
        "appeals": [{"title": r.title, "appeal": r.appeal} for r in sorted(reports, key=lambda r: r.id) if r.appeal],
        "count": len(reports),
    }


def wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(" ".join(str(text).split()), WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _env(station: Station, *, html: bool):
    env = environment(station, html=html)
    env.filters["wrap72"] = wrap
    env.filters["underline"] = lambda s, ch="=": ch * min(len(str(s)), WIDTH)
    return env


def render_html(station: Station, ctx: dict, *, for_print: bool = False) -> str:
    return _env(station, html=True).get_template("bulletin.html").render(**ctx, for_print=for_print)


def render_text(station: Station, ctx: dict) -> str:
    text = _env(station, html=False).get_template("bulletin.txt").render(**ctx)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def inline(html: str) -> str:
    """E-mail clients drop <style>: every rule goes onto its elements' style attributes."""
    import css_inline
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False).inline(html)


def render_pdf(html: str) -> bytes:
    import weasyprint
    return weasyprint.HTML(string=html).write_pdf()


def make(station: Station, week: str, language: str | None = None) -> Bulletin:
    """Write out/bulletin.html, .txt and .pdf for WEEK (and the archive page on the site)."""
    language = language or station.config.station.language
    if language not in languages(station):
        raise RadioError(f"no edition in {language!r}",
                         fix=f"use one of: {', '.join(languages(station))} (editions are set in radio.toml)")
    ctx = context(station, week, language)
    if not ctx["count"]:
        raise RadioError(f"{week} has no verified report to put in a bulletin",
                         fix=f"verify reports first (`radio report list {week}`)")
    html_path, text_path, pdf_path = out_paths(station, week, language)
    try:
        from jinja2 import TemplateError, UndefinedError
        page = render_html(station, ctx)
        printable = render_html(station, ctx, for_print=True)
        text = render_text(station, ctx)
    except UndefinedError as e:
        raise RadioError(f"bulletin template: {e.message}", fix="use only the fields the bulletin context provides") \
            from None
    except TemplateError as e:
        raise RadioError(f"bulletin template: {e}", fix="fix the template") from None
    fsutil.write_text(html_path, inline(page))
    fsutil.write_text(text_path, text)
    fsutil.write_bytes(pdf_path, render_pdf(printable))
    from radio.mail.archive import add_to_archive
    add_to_archive(station, week, language, ctx, page)
    return Bulletin(week, language, html_path, text_path, pdf_path, ctx["count"])


def fingerprint(paths: list[Path]) -> str:
    """What identifies one bulletin's content: a send journal refuses to mix two versions."""
    h = hashlib.sha256()
    for p in paths:
        if p.suffix != ".pdf":  # the PDF follows from the HTML; its bytes carry a build stamp
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def source_date_epoch() -> dt.datetime | None:
    v = os.environ.get("SOURCE_DATE_EPOCH")
    return dt.datetime.fromtimestamp(int(v), dt.timezone.utc) if v and v.isdigit() else None


def record(ctx: dict) -> str:
    return json.dumps({k: ctx[k] for k in ("week", "language", "date", "title", "count")}, indent=1) + "\n"

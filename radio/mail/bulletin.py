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
from radio.i18n import day_month_year, gettext
from radio.publishable import publishable
from radio.reports.model import PublicReport
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


def out_paths(station: Station, week: str) -> tuple[Path, Path, Path]:
    """An edition's bulletin files, in its own out/ (the week's out/ for the station's own edition)."""
    out = station.out_dir(week)
    return out / "bulletin.html", out / "bulletin.txt", out / "bulletin.pdf"


def stories(station: Station, week: str) -> list[PublicReport]:
    """What this edition may publish (radio/publishable.py): verified under the station's policy, not held or
    retracted, in its language (checked translations), in the desk's order, each under its public id, which
    is fixed from here on: the bulletin and the digest publish them."""
    return publishable(station, week, publishing=True)


def groups(station: Station, reports: list[PublicReport]) -> list[dict]:
    key = station.config.mail.group_by
    other = gettext(station.language, "Other news")
    by: dict[str, list[PublicReport]] = {}
    for r in reports:
        by.setdefault(getattr(r, key) or other, []).append(r)
    names = sorted((n for n in by if n != other), key=str.casefold) + ([other] if other in by else [])
    return [{"name": n, "reports": [_story(r) for r in sorted(by[n], key=lambda r: (r.priority, r.title))]}
            for n in names]


def _story(r: PublicReport) -> dict:
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", r.text) if p.strip()]
    return {"id": r.id, "title": r.title, "dateline": r.dateline, "attribution": r.attribution, "kind": r.kind,
            "event_date": r.event_date.isoformat() if r.event_date else "", "paragraphs": paras,
            "appeal": r.appeal or ""}


def title(station: Station) -> str:
    cfg = station.config
    return cfg.mail.bulletin_title or gettext(station.language, "{show} bulletin").format(show=cfg.show.title)


def context(station: Station, week: str) -> dict:
    cfg = station.config
    reports = stories(station, week)
    date = station.air_datetime(week).date()
    return {
        "language": station.language, "week": week, "date": date.isoformat(),
        "date_long": day_month_year(station.language, date), "title": title(station), "station": cfg.station.name,
        "website": cfg.station.website, "email": cfg.mail.from_address or cfg.station.email,
        "show": cfg.show.title, "groups": groups(station, reports),
        "appeals": [{"title": r.title, "appeal": r.appeal} for r in reports if r.appeal],
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


def make(station: Station, week: str, *, required: bool = True) -> Bulletin | None:
    """Write one edition's bulletin.html, .txt and .pdf for WEEK into its out/, and its page on its site.
    With nothing to put in it: an error, or None when not `required` (another language's edition)."""
    ctx = context(station, week)
    if not ctx["count"] and not required:
        return None
    if not ctx["count"]:
        raise RadioError(f"{week} has no verified report to put in a bulletin"
                         + (f" in {station.language}" if station.edition else ""),
                         fix=f"verify reports first (`radio report list {week}`)"
                             + (", and check their translations" if station.edition else ""))
    html_path, text_path, pdf_path = out_paths(station, week)
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
    add_to_archive(station, week, ctx, page)
    return Bulletin(week, station.language, html_path, text_path, pdf_path, ctx["count"])


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

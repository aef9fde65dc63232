"""The monthly digest: a month's verified reports, grouped by region and thread, as e-mail-safe HTML, 72-column
text and a PDF, with an archive page and feed on the edition's site.

A month's weeks are those whose Monday falls in it. Each report comes with its corrections and links to its
episode and its press item. It holds only PublicReport values, chosen as the bulletin chooses them (verified,
not held or retracted, exposure enforced), less any whose embargo has not passed; an edition takes checked
translations only and says which reports it left out. Written to digests/<month>/<edition>/ (the mail copy)
and feeds/<slug>/digest/<month>/ (the public page and PDF).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from feedgen.feed import FeedGenerator

from radio import fsutil
from radio.errors import RadioError
from radio.i18n import gettext
from radio.station import Station, Week

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass
class Digest:
    month: str
    language: str
    html: Path
    text: Path
    pdf: Path
    count: int
    lines: list[str] = field(default_factory=list)


def check_month(text: str) -> str:
    if not MONTH_RE.match(text or ""):
        raise RadioError(f"{text!r} is not a month", fix="write it as YEAR-MM, e.g. 2026-11")
    return text


def weeks_of(month: str) -> list[str]:
    """The ISO weeks whose Monday falls in the month."""
    y, m = (int(x) for x in check_month(month).split("-"))
    day = dt.date(y, m, 1)
    day += dt.timedelta(days=(7 - day.weekday()) % 7)  # the first Monday
    out = []
    while day.month == m:
        iso = day.isocalendar()
        out.append(f"{iso.year}-W{iso.week:02d}")
        day += dt.timedelta(days=7)
    return out


def out_dir(station: Station, month: str) -> Path:
    return station.root / "digests" / month / station.edition_id


def out_paths(station: Station, month: str) -> tuple[Path, Path, Path]:
    d = out_dir(station, month)
    return d / "digest.html", d / "digest.txt", d / "digest.pdf"


def archive_root(station: Station) -> Path:
    return station.root / "feeds" / station.config.show.slug / "digest"


def archive_url(station: Station) -> str:
    return f"{station.show_url}digest/"


def enabled(station: Station) -> bool:
    return station.edition is None or station.edition.digest


def title(station: Station) -> str:
    return gettext(station.language, "{show}: monthly digest").format(show=station.config.show.title)


def month_long(lang: str, month: str) -> str:
    from babel.dates import format_date
    y, m = (int(x) for x in month.split("-"))
    try:
        text = format_date(dt.date(y, m, 1), "LLLL y", locale=lang.replace("-", "_"))
    except Exception:  # an unknown locale: the English name
        text = format_date(dt.date(y, m, 1), "LLLL y", locale="en")
    return text[:1].upper() + text[1:]


def _stories(station: Station, month: str) -> tuple[list[dict], list[str]]:
    from radio import history, publicid
    from radio.press.items import now, paragraphs as paragraphs_of, parse_time
    from radio.publishable import pairs
    from radio.press.site import press_root, press_url
    from radio.publish.corrections import thread_title
    from radio.reports.translations import edition_reports
    t = now()
    out, lines = [], []
    for week in weeks_of(month):
        if not (station.week_dir(week) / "reports").is_dir():
            continue
        for r in edition_reports(station, week):
            if r.status == "verified" and r._gap:
                lines.append(f"left out of the {station.language} digest: {r.id} {r._gap}")
        events = history.week_events(station, week)
        published = history.is_published(station, week)
        included: dict[str, str] = {}
        for rid, r in pairs(station, week):
            if r.embargo and parse_time(station, r.embargo, "embargo") > t:
                lines.append(f"left out of the {station.language} digest: {rid} is under embargo")
                continue
            pid = included[rid] = r.id
            links = []
            if published:
                links.append({"text": gettext(station.language, "Listen"), "href": station.episode_url(week)})
            if (press_root(station) / f"{pid}.html").is_file():
                links.append({"text": gettext(station.language, "Press item"), "href": f"{press_url(station)}{pid}.html"})
            date = r.event_date or Week(week).day(1)
            out.append({"pid": pid, "week": week, "title": r.title, "dateline": r.dateline,
                        "attribution": r.attribution, "date": date.isoformat(), "region": r.region,
                        "thread": thread_title(r.thread) if r.thread else "", "priority": r.priority,
                        "paragraphs": paragraphs_of(r.text),
                        "corrections": [{"date": c["at"][:10], "note": c["note"]}
                                        for c in history.corrections(events.get(rid, []))],
                        "links": links})
        publicid.record(station, week, included)  # the digest publishes them: their public ids are fixed
    return out, lines


def groups(station: Station, stories: list[dict]) -> list[dict]:
    """Regions (alphabetical, 'Other news' last), in each the threads (alphabetical, the unthreaded first)."""
    other = gettext(station.language, "Other news")
    by: dict[str, dict[str, list[dict]]] = {}
    for s in stories:
        by.setdefault(s["region"] or other, {}).setdefault(s["thread"], []).append(s)
    names = sorted((n for n in by if n != other), key=str.casefold) + ([other] if other in by else [])
    return [{"name": n, "threads": [{"name": t, "reports": sorted(by[n][t], key=lambda s: (s["date"], s["priority"],
                                                                                         s["pid"]))}
                                    for t in sorted(by[n], key=lambda t: (t != "", t.casefold()))]}
            for n in names]


def context(station: Station, month: str) -> tuple[dict, list[str]]:
    cfg = station.config
    stories, lines = _stories(station, month)
    return {"language": station.language, "month": month, "month_long": month_long(station.language, month),
            "title": title(station), "station": cfg.station.name, "website": cfg.station.website,
            "show": cfg.show.title, "groups": groups(station, stories), "count": len(stories),
            "stories": [s["title"] for s in stories]}, lines


def make(station: Station, month: str, *, required: bool = True) -> Digest | None:
    """Write one edition's digest for MONTH (HTML, text, PDF) and its page in the archive."""
    from radio.mail.bulletin import inline, render_pdf
    check_month(month)
    ctx, lines = context(station, month)
    if not ctx["count"]:
        if not required:
            return None
        raise RadioError(f"{month} has no verified report to put in a digest"
                         + (f" in {station.language}" if station.edition else ""),
                         fix=f"the digest takes the weeks whose Monday is in {month} "
                             f"({', '.join(weeks_of(month))}): verify their reports first")
    from jinja2 import TemplateError
    from radio.mail.bulletin import _env
    try:
        page = _env(station, html=True).get_template("digest.html").render(**ctx, for_print=False)
        printable = _env(station, html=True).get_template("digest.html").render(**ctx, for_print=True)
        text = _env(station, html=False).get_template("digest.txt").render(**ctx)
    except TemplateError as e:
        raise RadioError(f"digest template: {e}", fix="fix the template") from None
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    html_path, text_path, pdf_path = out_paths(station, month)
    pdf = render_pdf(printable)
    fsutil.write_text(html_path, inline(page))
    fsutil.write_text(text_path, text)
    fsutil.write_bytes(pdf_path, pdf)
    _archive(station, month, ctx, inline(page), pdf)
    return Digest(month, station.language, html_path, text_path, pdf_path, ctx["count"], lines)


def _archive(station: Station, month: str, ctx: dict, page: str, pdf: bytes) -> None:
    root = archive_root(station)
    lock = station.root / "feeds" / f".{station.config.show.slug}.digest.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with fsutil.locked(lock, lambda: RadioError("another digest is being written", where=lock,
                                                fix="wait for it to finish")):
        rec = {"month": month, "language": station.language, "title": f"{ctx['title']}, {ctx['month_long']}",
               "stories": ctx["stories"], "href": f"{month}/"}
        fsutil.write_text(root / month / "index.html", page)
        fsutil.write_bytes(root / month / "digest.pdf", pdf)
        fsutil.write_text(root / month / "digest.json", json.dumps(rec, ensure_ascii=False, indent=1) + "\n")
        records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*/digest.json"))]
        records.sort(key=lambda r: r["month"], reverse=True)
        from radio.render import environment
        index = environment(station, html=True).get_template("digest_archive.html").render(
            language=station.language, title=ctx["title"], show=station.config.show.title, digests=records)
        fsutil.write_text(root / "index.html", index)
        fsutil.write_bytes(root / "feed.xml", _feed(station, ctx["title"], records))


def _feed(station: Station, title: str, records: list[dict]) -> bytes:
    """RSS 2.0: one entry per month, newest first; dates from the month, so a rebuild changes nothing."""
    import uuid
    fg = FeedGenerator()
    fg.title(title)
    fg.description(station.config.show.description)
    fg.language(station.language)
    fg.link(href=f"{archive_url(station)}feed.xml", rel="self", type="application/rss+xml")
    fg.link(href=archive_url(station), rel="alternate")
    fg.generator("radio")
    def first(m: str) -> dt.datetime:
        y, mm = (int(x) for x in m.split("-"))
        return dt.datetime(y, mm, 1, 12, tzinfo=dt.timezone.utc)
    fg.lastBuildDate(max((first(r["month"]) for r in records), default=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    for r in records:
        fe = fg.add_entry(order="append")
        fe.title(r["title"])
        fe.link(href=f"{archive_url(station)}{r['href']}")
        fe.guid(str(uuid.uuid5(station.feed_guid, f"digest/{r['month']}")), permalink=False)
        fe.pubDate(first(r["month"]))
        fe.description("; ".join(r["stories"]))
    return fg.rss_str(pretty=True)


# --- sending ---------------------------------------------------------------------------------------------

def _message(station: Station, month: str, sub) -> "Outgoing":
    from markupsafe import escape
    from radio.mail.outgoing import as_bytes, list_headers, message_id, new_message
    from radio.mail.send import Outgoing
    html_path, text_path, _ = out_paths(station, month)
    mid = message_id(station, "digest", f"{month}.{station.edition_id}", sub.address)
    y, m = (int(x) for x in month.split("-"))
    when = dt.datetime(y, m, 1, 12, tzinfo=dt.timezone.utc)
    msg = new_message(station, sub.address, f"{title(station)}, {month_long(station.language, month)}", mid, when)
    url = list_headers(station, msg, "digest", sub.address)
    stop = gettext(station.language, "To stop receiving the digest: {url}").format(url=url)
    msg.set_content(text_path.read_text(encoding="utf-8") + f"\n-- \n{stop}\n", charset="utf-8",
                    cte="quoted-printable")
    page = html_path.read_text(encoding="utf-8")
    foot = (f'<p style="font-size: 12px; color: #555555; padding: 8px 20px;"><a href="{escape(url)}">'
            f'{escape(gettext(station.language, "Stop receiving the digest"))}</a>.</p>')
    page = page.replace("</body>", foot + "\n</body>", 1) if "</body>" in page else page + foot
    msg.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = station.language
    return Outgoing(sub, mid, as_bytes(msg, mid))


def send(station: Station, month: str, *, dry_run: bool = False, uncertain: str | None = None):
    """MONTH's digest to every confirmed reader of the digest list, in each edition they chose."""
    import hashlib
    from radio.mail.outgoing import send_all
    from radio.mail.send import SendResult
    from radio.mail.subscribers import Subscriber
    from radio.subscriptions import store
    check_month(month)
    total = SendResult()
    made = [s for s in station.editions() if enabled(s) and out_paths(s, month)[0].is_file()]
    if not made:
        raise RadioError(f"no digest for {month} yet", fix=f"run `radio digest {month}` first")
    for ed in made:
        people = [Subscriber(i, e.address, e.address, ed.language, "html")
                  for i, e in enumerate(store.recipients(station, "digest", ed.edition_id), start=1)]
        html_path, text_path, _ = out_paths(ed, month)
        fp = hashlib.sha256(html_path.read_bytes() + text_path.read_bytes()).hexdigest()[:16]
        r = send_all(station, f"digest-{month}-{ed.edition_id}", fp, people,
                     lambda s, ed=ed: _message(ed, month, s), uncertain=uncertain, dry_run=dry_run)
        for name in ("sent", "already", "uncertain", "failed", "written"):
            getattr(total, name).extend(getattr(r, name))
    return total

"""The bulletin on the site: one page per week under feeds/<show>/bulletin/, an archive index paged by year and its
own feed.

A separate corner of the publish tree: it never rewrites the show's feed or pages. Each week keeps a small
public record beside its page; the index and feed.xml are rebuilt from all of them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from feedgen.feed import FeedGenerator

from radio import fsutil
from radio.station import Station
from radio.errors import RadioError
from radio.render import environment


def archive_root(station: Station) -> Path:
    return station.bulletin_root


def archive_url(station: Station) -> str:
    return f"{station.show_url}bulletin/"


def add_to_archive(station: Station, week: str, ctx: dict, page: str) -> Path:
    """The edition's own site gets the page: feeds/<edition slug>/bulletin/WEEK/."""
    root = archive_root(station)
    lock = station.bulletin_lock_path
    with fsutil.locked(lock, lambda: RadioError("another bulletin is being written", where=lock,
                                                fix="wait for it to finish")):
        return _add(station, root, week, ctx, page)


def year(week: str) -> str:
    return week[:4]


def _add(station: Station, root: Path, week: str, ctx: dict, page: str) -> Path:
    """The week's page and record; then the index (the newest year's bulletins, and a page per year once there is
    more than one: bulletin/YYYY/, each rewritten only when its year changes or a year is added) and the feed (the
    newest `[podcast] feed_items`): what a listener downloads stays small however many years the archive holds."""
    slug = week
    rec = {"week": week, "language": station.language, "date": ctx["date"], "title": f"{ctx['title']}, {ctx['date_long']}",
           "stories": [r["title"] for g in ctx["groups"] for r in g["reports"]], "href": f"{slug}/"}
    fsutil.write_text(root / slug / "index.html", page)
    fsutil.write_text(root / slug / "bulletin.json", json.dumps(rec, ensure_ascii=False, indent=1) + "\n")
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*/bulletin.json"))]
    records.sort(key=lambda r: (r["date"], r["week"], r["language"]), reverse=True)
    years = sorted({year(r["week"]) for r in records}, reverse=True)
    many = years if len(years) > 1 else []
    env = environment(station, html=True)  # the archive page needs none of the bulletin's text filters
    cfg = station.config

    def render(listed: list[dict], this: str | None, up: str) -> str:
        return env.get_template("bulletin_archive.html").render(
            language=station.language, title=ctx["title"], station=cfg.station.name, show=cfg.show.title,
            feed=f"{up}feed.xml", bulletins=[{**r, "href": f"{up}{r['href']}"} for r in listed], years=many,
            year=this, up=up)
    newest = [r for r in records if year(r["week"]) == years[0]] if many else records
    fsutil.write_text(root / "index.html", render(newest, None, ""))
    if many:
        new_year = not (root / year(week) / "index.html").is_file() or not (root / years[-1] / "index.html").is_file()
        for y in (many if new_year else [year(week)]):
            fsutil.write_text(root / y / "index.html", render([r for r in records if year(r["week"]) == y], y, "../"))
    fsutil.write_bytes(root / "feed.xml", feed(station, ctx["title"], records[: cfg.podcast.feed_items]))
    # the site's search finds what the bulletins said (bulletin/pagefind/, merged by the search page)
    from radio.publish.search import CORNER, corner_bundle, url_path
    corner_bundle(station, root / CORNER, [(f"{url_path(station)}bulletin/{r['href']}",
                                            (root / r["href"] / "index.html").read_text(encoding="utf-8"))
                                           for r in records])
    return root / slug / "index.html"


def feed(station: Station, title: str, records: list[dict]) -> bytes:
    """RSS 2.0: one entry per bulletin, newest first; stable GUIDs and dates, so a rebuild changes nothing."""
    cfg = station.config
    fg = FeedGenerator()
    fg.title(title)
    fg.description(cfg.show.description)
    fg.language(station.language)
    fg.link(href=f"{archive_url(station)}feed.xml", rel="self", type="application/rss+xml")
    fg.link(href=archive_url(station), rel="alternate")
    fg.generator("radio")
    newest = max((dt.date.fromisoformat(r["date"]) for r in records), default=dt.date(2000, 1, 1))
    fg.lastBuildDate(dt.datetime.combine(newest, dt.time(12), dt.timezone.utc))
    for r in records:  # newest first already
        fe = fg.add_entry(order="append")
        fe.title(r["title"])
        fe.link(href=f"{archive_url(station)}{r['href']}")
        fe.description("; ".join(r["stories"]))
        fe.guid(str(uuid.uuid5(station.feed_guid, f"bulletin/{r['week']}/{r['language']}")), permalink=False)
        fe.pubDate(dt.datetime.combine(dt.date.fromisoformat(r["date"]), dt.time(12), dt.timezone.utc))
    return fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")

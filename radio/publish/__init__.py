"""Publishing a week: media, transcript, chapters, pages and the feed, into feeds/<slug>/ atomically.

Each published week keeps a public record (episodes/<week>/episode.json); the feed and the index are rebuilt
from all of them. Everything is staged in a folder beside the target, then renamed into place with the feed
last, under a lock: a publish that fails or is killed leaves the previous feed and site whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from mutagen.id3 import ID3, ID3NoHeaderError

from radio import asrun, fsutil
from radio.rundown import model as rd
from radio.config import format_ms, text_direction
from radio.errors import PublishError
from radio.hosting import mirrors
from radio.i18n import day_month_year, locale
from radio.publish import corrections, transcript
from radio.publish.feed import CHAPTERS_TYPE, build_feed
from radio.render import render
from radio.reports.model import PublicReport
from radio.station import GUIDS_NAME, Station, guids_text, stored_guids
from radio.tags import cover_image, covering, written


@dataclass
class Published:
    root: Path
    feed: Path
    page: Path
    media: Path
    record: dict


def lock(station: Station, what: str = "publish"):
    path = station.publish_lock_path
    return fsutil.locked(path, lambda: PublishError(f"another {what} of {station.config.show.slug} is running",
                                                     where=path, fix="wait for it to finish, then run this again"))




def records(root: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(root.glob("episodes/*/episode.json")):
        out[p.parent.name] = json.loads(p.read_text(encoding="utf-8"))
    return out


def build_time(records_: list[dict]) -> dt.datetime:
    """lastBuildDate: SOURCE_DATE_EPOCH when set, else the newest episode's date (never the clock)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    dates = [dt.datetime.fromisoformat(r["pub_date"]) for r in records_]
    return max(dates) if dates else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _stories(rundown: rd.Rundown) -> tuple[list[dict], list[str]]:
    stories, appeals = [], []
    for e in rundown.live:
        r = e.report
        if r is None:
            continue
        stories.append({"id": e.id, "title": r.title, "attribution": r.attribution[:1].upper() + r.attribution[1:],
                        "dateline": r.dateline,
                        "paragraphs": [p.strip() for p in r.text.split("\n") if p.strip()]})
        if r.appeal:
            appeals.append(r.appeal)
    return stories, appeals


def location(reports: list[PublicReport]) -> str | None:
    """podcast:location: only a place every included report publishes under its exposure, else nothing.

    The region when all share it, and the town too when all publish the same one; a withheld town is never in
    a PublicReport, so it can never come out here."""
    if not reports:
        return None
    regions = {r.region for r in reports}
    places = {r.place for r in reports}
    if len(regions) != 1 or None in regions:
        return None
    region = regions.pop()
    if len(places) == 1 and None not in places:
        place = places.pop()
        return place if place == region else f"{place}, {region}"
    return region


def _notices(stories: list[dict]) -> list[str]:
    """Corrections and retractions in a line each, for the feed's short description: listeners see them too."""
    out = []
    for s in stories:
        if s.get("retraction"):
            out.append(f"Retraction, {s['retraction']['date']}: {s['title']}. {s['retraction']['reason']}")
        for c in s.get("corrections") or []:
            out.append(f"Correction, {c['date']} ({s['title']}): {c['note']}")
    return out


def make_record(station: Station, week: str, media: Path, old: dict | None, others: dict[str, dict],
                podcast: dict | None = None) -> dict:
    cfg = station.config
    out = station.out_dir(week)
    as_run = _as_run(station, week)
    if podcast is not None:  # the podcast as published (without retracted items); the as-run file stays as aired
        as_run = {**as_run, "podcast": podcast}
    ep = written(station, week)  # what tag wrote into the masters
    rundown = rd.load(station, week)
    # masters mixed before a report was held still hold its voice: never published, whatever ran since
    rd.refuse_stale_masters(rundown, [i for m in ("onair", "podcast") for i in as_run[m]["items"]], out / "as-run.json")
    entries = {e.id: e for e in rundown.entries}
    hosts = {h.id: h.name for h in cfg.hosts}
    cues = transcript.cues(as_run["podcast"]["items"], entries, hosts)
    # the whole file from 0, as in the ID3 chapters (of the master as published, without retracted items)
    chapters = covering(as_run["podcast"]["items"], set(cfg.podcast.chapter_types), {i: e.title for i, e in entries.items()},
                        as_run["podcast"]["samples"] * 1000 // as_run["rate"])
    stories, appeals = _stories(rundown)
    stories, appeals = corrections.amend_stories(station, week, rundown, stories)
    ep = dataclasses.replace(ep, summary=corrections.summary(station, week, rundown, ep.summary))
    notes = render(station, "shownotes.html", {"summary": ep.summary, "stories": stories, "appeals": appeals})
    page_notes = render(station, "shownotes.html", {"summary": ep.summary, "stories": stories, "appeals": []})
    numbers = [r["number"] for w, r in others.items() if w != week]
    air = station.air_datetime(week)
    on_air_hosts = sorted({e.item.host for e in rundown.live if e.item.host and e.item.host in hosts})
    return {
        "week": week, "guid": ep.guid, "number": old["number"] if old else max(numbers, default=0) + 1,
        "title": ep.feed_title, "itunes_title": ep.bare_title, "summary": ep.summary, "notes_html": notes.strip(),
        "page_notes_html": page_notes.strip(), "pub_date": air.isoformat(),
        "date": day_month_year(station.language, air.date()), "duration_s": as_run["podcast"]["seconds"],
        "media": f"media/{media.name}", "length": media.stat().st_size,
        "transcript": f"media/{week}.vtt", "chapters": f"media/{week}.chapters.json",
        "chapters_list": chapters, "cues": cues, "appeals": appeals, "draft": bool(as_run["draft"]),
        "hosts": [hosts[h] for h in on_air_hosts],
        "location": location([e.report for e in rundown.live if e.report is not None]),
        "report_starts": corrections.report_starts(as_run["podcast"], rundown),
        "notices": _notices(stories),
        "reports": corrections.episode_reports(rundown),
        **mirrors.integrity(station, media),  # SRI of the media, when mirrors list it as an alternate
    }


def _page_chapters(rec: dict) -> list[dict]:
    return [{**c, "start_s": round(c["start_ms"] / 1000, 3), "end_s": round(c["end_ms"] / 1000, 3),
             "clock": clock(c["start_ms"] / 1000)} for c in rec["chapters_list"]]


def _page_cues(rec: dict) -> list[dict]:
    return [{**c, "start_s": round(c["start_ms"] / 1000, 3), "end_s": round(c["end_ms"] / 1000, 3)}
            for c in rec["cues"]]


def publish(station: Station, week: str, *, allow_draft: bool = False) -> Published:
    cfg = station.config
    out = station.out_dir(week)
    mp3 = out / "podcast.mp3"
    if not (out / "as-run.json").is_file() or not mp3.is_file():
        raise PublishError(f"nothing to publish for {week} yet", where=out,
                           fix=f"run `radio assemble {week}` and `radio tag {week}` first")
    mp3, podcast = corrections.podcast_master(station, week)  # without retracted items, if any
    try:
        tagged = "TXXX:PODCAST_GUID" in ID3(mp3)
    except ID3NoHeaderError:
        tagged = False
    if not tagged:
        raise PublishError("the podcast master is not tagged", where=mp3, fix=f"run `radio tag {week}` first")
    as_run = _as_run(station, week)
    if as_run["draft"] and not allow_draft:
        raise PublishError(f"{week} is a draft build: synthesized voices stand in for missing recordings",
                           fix="record them and build again, or pass --draft to publish the draft")
    cover_data, mime = cover_image(station)
    root = station.publish_root
    with lock(station):
        for stale in root.parent.glob(f".{cfg.show.slug}.staging-*"):  # left by a publish that was killed
            shutil.rmtree(stale, ignore_errors=True)
        existing = records(root)
        _fix_guid(station)
        staging = Path(tempfile.mkdtemp(prefix=f".{cfg.show.slug}.staging-", dir=root.parent))
        try:
            s_media = staging / "media" / station.media_name(week, _digest(mp3))
            s_media.parent.mkdir(parents=True)
            shutil.copyfile(mp3, s_media)
            rec = make_record(station, week, s_media, existing.get(week), existing, podcast)
            all_records = {**existing, week: rec}
            mirrors.fill_integrity(station, root, all_records)
            cover_name = "cover.jpg" if mime == "image/jpeg" else "cover.png"
            weeks = sorted(all_records)
            files: dict[str, bytes | str] = {
                f"media/{week}.vtt": transcript.vtt(rec["cues"]),
                f"media/{week}.chapters.json": transcript.chapters_json(rec["chapters_list"], rec["title"]),
                cover_name: cover_data,
                f"episodes/{week}/episode.json": json.dumps(rec, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                f"episodes/{week}/index.html": _episode_page(station, rec, cover_name),
                "index.html": _index_page(station, list(all_records.values()), cover_name),
                "_headers": hosting_headers(station, weeks),
                "nginx-headers.conf": nginx_snippet(station),
                "feed.xml": build_feed(station, list(all_records.values()), build_time(list(all_records.values()))),
            }
            files.update(corrections.site_files(station, all_records))  # corrections page and feed, thread pages
            for rel, data in files.items():
                p = staging / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
            fsutil.fault_point("staged")
            _move(s_media, root / "media" / s_media.name)
            fsutil.fault_point("media")
            order = [*[k for k in files if k not in ("index.html", "feed.xml")], "index.html"]
            for rel in order:
                _move(staging / rel, root / rel)
            corrections.remove_stale(root, files)
            fsutil.fault_point("before-feed")
            _move(staging / "feed.xml", root / "feed.xml")  # last: the feed never names what is not there
            _remove_unnamed_media(root, all_records)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Published(root, root / "feed.xml", root / "episodes" / week / "index.html",
                     root / "media" / s_media.name, rec)


def _as_run(station: Station, week: str) -> dict:
    built = asrun.read(station, week)
    if built is None:
        raise PublishError(f"nothing to publish for {week} yet", where=station.out_dir(week),
                           fix=f"run `radio build {week}`")
    return built.as_run.model_dump()


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _remove_unnamed_media(root: Path, all_records: dict[str, dict]) -> None:
    """Once the new feed is in place, the MP3s no episode names any more (older masters) go."""
    named = {Path(r["media"]).name for r in all_records.values()}
    for p in (root / "media").glob("*.mp3"):
        if p.name not in named:
            p.unlink(missing_ok=True)


def _fix_guid(station: Station) -> None:
    """At a feed's first publish its podcast:guid is computed from the feed URL and stored for good."""
    guids = stored_guids(station.root)
    slug = station.config.show.slug
    if slug not in guids:
        guids[slug] = station.url_feed_guid
        fsutil.write_text(station.root / GUIDS_NAME, guids_text(guids))


def _url_path(station: Station) -> str:
    return urllib.parse.urlsplit(station.show_url).path or "/"


def hosting_headers(station: Station, weeks: list[str]) -> str:
    """`_headers` for Netlify and Cloudflare Pages: the same types and CORS headers `radio serve` sends."""
    base = _url_path(station)
    cors = "  Access-Control-Allow-Origin: *\n"
    lines = ["# Response headers for Netlify or Cloudflare Pages: put this file at the root of the site that serves",
             f"# {station.show_url} (written by radio publish; radio serve sends the same headers).",
             f"{base}feed.xml", "  Content-Type: application/rss+xml; charset=utf-8", cors.rstrip("\n"),
             f"{base}media/*", cors.rstrip("\n")]
    for w in weeks:
        lines += [f"{base}media/{w}.chapters.json", f"  Content-Type: {CHAPTERS_TYPE}",
                  f"{base}media/{w}.vtt", "  Content-Type: text/vtt; charset=utf-8"]
    return "\n".join(lines) + "\n"


def nginx_snippet(station: Station) -> str:
    base = _url_path(station)
    cors = "add_header Access-Control-Allow-Origin \"*\" always;"
    return f"""# nginx: include this file inside the server block that serves {station.show_url}
# (written by radio publish; radio serve sends the same headers).
location {base} {{
    autoindex off;
    {cors}
    location ~ /\\. {{ return 404; }}
    location ~ \\.chapters\\.json$ {{ types {{ }} default_type {CHAPTERS_TYPE}; {cors} }}
    location ~ \\.vtt$ {{ types {{ }} default_type "text/vtt; charset=utf-8"; {cors} }}
    location ~ \\.xml$ {{ types {{ }} default_type "application/rss+xml; charset=utf-8"; {cors} }}
    location ~ \\.mp3$ {{ types {{ }} default_type audio/mpeg; {cors} }}
}}
"""


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(src, 0o644)
    os.replace(src, dst)


def clock(seconds: float) -> str:
    """A duration as a browser's audio controls show it: whole seconds, rounded down (M:SS or H:MM:SS)."""
    return format_ms(int(seconds) * 1000)


def subscribe_links(feed_url: str) -> list[dict]:
    """Each app's own subscribe URL for the feed (their documented URL schemes)."""
    bare = re.sub(r"^[a-z]+://", "", feed_url)
    quoted = urllib.parse.quote(feed_url, safe="")
    return [{"app": "Apple Podcasts", "href": f"podcast://{bare}"},
            {"app": "AntennaPod", "href": f"https://antennapod.org/deeplink/subscribe?url={quoted}"},
            {"app": "Pocket Casts", "href": f"pktc://subscribe/{bare}"},
            {"app": "Overcast", "href": f"overcast://x-callback-url/add?url={quoted}"},
            {"app": "gPodder", "href": f"gpodder://{feed_url}"}]


def _site(station: Station, cover_name: str) -> dict:
    """What every page of the site shows: the show, its feed and how to subscribe."""
    cfg = station.config
    p = cfg.podcast
    return {"language": cfg.station.language, "dir": text_direction(cfg.station.language),
            "show": cfg.show.title, "station": cfg.station.name,
            "description": cfg.show.description, "feed_url": station.feed_url, "show_url": station.show_url,
            "cover_url": f"{station.show_url}{cover_name}", "subscribe": subscribe_links(station.feed_url),
            "funding": {"url": p.funding_url, "text": p.funding_text} if p.funding_url else None}


def _episode_page(station: Station, rec: dict, cover_name: str) -> str:
    page = {**rec, "chapters_list": _page_chapters(rec), "cues": _page_cues(rec), "duration": clock(rec["duration_s"]),
            "url": station.episode_url(rec["week"]), "media_url": f"{station.show_url}{rec['media']}",
            "size_mb": f"{rec['length'] / 1e6:.1f}"}
    return render(station, "episode.html", {
        **_site(station, cover_name), "ep": page, "root": "../../", "cover": f"../../{cover_name}",
        "alternates": [{"lang": o.language, "href": o.episode_url(rec["week"]), "name": _language_name(o.language)}
                       for o in station.editions() if o.edition_id != station.edition_id],
        "media": f"../../{rec['media']}", "vtt": f"../../{rec['transcript']}", "chapters": f"../../{rec['chapters']}",
        "notes": Markup(rec["page_notes_html"]),  # our own template made it, escaped
    })


def _index_page(station: Station, recs: list[dict], cover_name: str) -> str:
    eps = [{"href": f"episodes/{r['week']}/", "title": r["title"], "date": r["date"], "summary": r["summary"],
            "duration": clock(r["duration_s"]), "media": r["media"], "draft": r["draft"]}
           for r in sorted(recs, key=lambda r: (r["pub_date"], r["week"]), reverse=True)]
    return render(station, "site_index.html", {
        **_site(station, cover_name), "root": "", "cover": cover_name, "episodes": eps,
        "alternates": [{"lang": o.language, "href": o.show_url, "name": _language_name(o.language),
                        "feed_url": o.feed_url, "show": o.config.show.title}
                       for o in station.editions() if o.edition_id != station.edition_id]})


def _language_name(lang: str) -> str:
    """The language's name in itself ('русский', 'français'), capitalised, for links between editions."""
    name = locale(lang).get_display_name(locale(lang)) or lang
    return name[:1].upper() + name[1:]

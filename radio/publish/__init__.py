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

from radio import asrun, fsutil, publicid
from radio.rundown import model as rd
from radio.config import format_ms, text_direction
from radio.errors import PublishError
from radio.hosting import mirrors
from radio.i18n import day_month_year, locale
from radio.publish import archive, corrections, search, transcript
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
        stories.append({"id": r.id, "title": r.title, "attribution": r.attribution[:1].upper() + r.attribution[1:],
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
    # what goes out names each report by its public id, fixed from now on (radio/publicid.py)
    publicid.record(station, week, {e.item.report: e.report.id for e in rundown.live if e.report is not None})
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


def _checked_master(station: Station, week: str, allow_draft: bool) -> tuple[Path, dict]:
    out = station.out_dir(week)
    mp3 = out / "podcast.mp3"
    if not (out / "as-run.json").is_file() or not mp3.is_file():
        raise PublishError(f"nothing to publish for {week} yet", where=out,
                           fix=f"run `radio assemble {week}` first")
    mp3, podcast = corrections.podcast_master(station, week)  # without retracted items, if any
    try:
        frames = ID3(mp3)
    except ID3NoHeaderError:
        frames = ID3()
    if "TXXX:PODCAST_GUID" not in frames:
        raise PublishError("the podcast master is not tagged", where=mp3, fix=f"run `radio assemble {week}` again")
    if not frames.getall("APIC"):  # assembled before the station had its cover
        raise PublishError("the podcast master has no cover art: the station had no cover when it was assembled",
                           where=mp3, fix=f"add the image podcast.cover names, then run `radio assemble {week}` again")
    as_run = _as_run(station, week)
    if as_run["draft"] and not allow_draft:
        raise PublishError(f"{week} is a draft build: synthesized voices stand in for missing recordings",
                           fix="record them and build again, or pass --draft to publish the draft")
    return mp3, podcast


def publish(station: Station, week: str, *, allow_draft: bool = False) -> Published:
    """Publish one week: its media and pages, and the feeds and pages that list it; nothing else is rewritten."""
    return _publish(station, [week], allow_draft=allow_draft, full=False)


def publish_all(station: Station, *, allow_draft: bool = False) -> Published | None:
    """Publish every published week again and make every page anew, ignoring the record of what was published:
    the same bytes as the publishes made one by one."""
    weeks = sorted(records_weeks(station.publish_root))
    if not weeks:
        return None
    return _publish(station, weeks, allow_draft=allow_draft, full=True)


def records_weeks(root: Path) -> list[str]:
    return [p.parent.name for p in root.glob("episodes/*/episode.json")]


def _publish(station: Station, weeks: list[str], *, allow_draft: bool, full: bool) -> Published:
    cfg = station.config
    cover_data, mime = cover_image(station)
    masters = {w: _checked_master(station, w, allow_draft) for w in weeks}
    root = station.publish_root
    with lock(station):
        for stale in root.parent.glob(f".{cfg.show.slug}.staging-*"):  # left by a publish that was killed
            shutil.rmtree(stale, ignore_errors=True)
        rec = archive.load(station)
        before = rec["files"] if full else dict(rec["files"])  # what is there: a page with the same bytes stays
        if full:
            rec = {**rec, "files": {}, "inputs": {}, "weeks": {}}
        if full or not rec["episodes"]:  # no record: read every published episode once, then keep the record
            rec["episodes"] = {w: archive.summary(r) for w, r in records(root).items()}
        _fix_guid(station)
        staging = Path(tempfile.mkdtemp(prefix=f".{cfg.show.slug}.staging-", dir=root.parent))
        try:
            cover_name = "cover.jpg" if mime == "image/jpeg" else "cover.png"
            files: dict[str, bytes | str] = {cover_name: cover_data}
            made: dict[str, dict] = {}
            media_moves = []
            for week in weeks:
                mp3, podcast = masters[week]
                s_media = staging / "media" / station.media_name(week, _digest(mp3))
                s_media.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(mp3, s_media)
                media_moves.append(s_media)
                r = make_record(station, week, s_media, rec["episodes"].get(week), rec["episodes"], podcast)
                made[week] = r
                rec["episodes"][week] = archive.summary(r)
                files.update({
                    f"media/{week}.vtt": transcript.vtt(r["cues"]),
                    f"media/{week}.chapters.json": transcript.chapters_json(r["chapters_list"], r["title"]),
                    f"episodes/{week}/episode.json": json.dumps(r, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    f"episodes/{week}/index.html": _episode_page(station, r, cover_name),
                })
            for rel in [k for k in files if k.startswith("episodes/") and k.endswith("episode.json")]:
                rec["files"][rel] = archive.digest(files[rel])  # archive pages key on the records they list
            made_pages, collections = _archive_pages(station, root, rec, made, cover_name)
            files.update(made_pages)
            files["_headers"] = hosting_headers(station, sorted(rec["episodes"]))
            files["nginx-headers.conf"] = nginx_snippet(station)
            written = []
            for rel, data in files.items():
                raw = data if isinstance(data, bytes) else data.encode("utf-8")
                h = archive.digest(raw)
                if rec["files"].get(rel) == h and before.get(rel) == h and (root / rel).is_file():
                    continue  # the same bytes are there already
                rec["files"][rel] = h
                p = staging / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(raw)
                written.append(rel)
            # pages of collections no longer made (a thread whose items were all retracted...) go
            gone = [rel for rel in list(rec["files"]) if rel.split("/")[0] in COLLECTIONS and rel not in collections]
            gone += [rel for rel in before if rel.split("/")[0] in COLLECTIONS and rel not in collections
                     and rel not in gone]
            fsutil.fault_point("staged")
            for s_media in media_moves:
                _move(s_media, root / "media" / s_media.name)
            fsutil.fault_point("media")
            order = [*[k for k in written if k not in ("index.html", "feed.xml")],
                     *[k for k in ("index.html",) if k in written]]
            for rel in order:
                _move(staging / rel, root / rel)
            for rel in gone:
                rec["files"].pop(rel, None)
                rec["inputs"].pop(rel, None)
                (root / rel).unlink(missing_ok=True)
                _prune(root, (root / rel).parent)
            corrections.remove_stale(root, {rel: b"" for rel in collections if rel.startswith("threads/")})
            fsutil.fault_point("before-feed")
            if "feed.xml" in written:
                _move(staging / "feed.xml", root / "feed.xml")  # last: the feed never names what is not there
            _remove_unnamed_media(root, rec["episodes"])
            archive.save(station, rec)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    week = weeks[-1]
    return Published(root, root / "feed.xml", root / "episodes" / week / "index.html",
                     root / rec["episodes"][week]["media"], made[week])


COLLECTIONS = ("archive", "threads", "corrections", "search")  # folders of pages made from many weeks


def _prune(root: Path, folder: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _archive_pages(station: Station, root: Path, rec: dict, made: dict[str, dict],
                   cover_name: str) -> tuple[dict[str, bytes | str], set[str]]:
    """The pages that list many weeks: each made again only when what it lists changed.

    Returns the pages made, and every collection page that should exist (made now or kept as it is)."""
    episodes = rec["episodes"]
    full: dict[str, dict] = dict(made)

    def record(week: str) -> dict:
        if week not in full:
            full[week] = json.loads((root / "episodes" / week / "episode.json").read_text(encoding="utf-8"))
            mirrors.fill_integrity(station, root, {week: full[week]})  # published before mirrors were set up
        return full[week]

    out: dict[str, bytes | str] = {}
    keep: set[str] = set()

    def page(rel: str, inputs: object, make) -> None:
        keep.add(rel)
        key = archive.input_key(inputs)
        if rec["inputs"].get(rel) == key and (root / rel).is_file():
            return
        rec["inputs"][rel] = key
        out[rel] = make()

    size = station.config.podcast.feed_items
    pages, recent = archive.feed_pages(archive.ordered(episodes), size)
    out["feed.xml"] = build_feed(station, [record(w) for w in recent], build_time(list(episodes.values())),
                                 links=archive.feed_links(station, 0, len(pages)))
    for n, weeks in enumerate(pages, start=1):
        rel = archive.archive_feed_name(n)
        page(rel, [archive.feed_links(station, n, len(pages)), [(w, rec["files"].get(f"episodes/{w}/episode.json"))
                                                                  for w in weeks]],
             lambda weeks=weeks, n=n, rel=rel: build_feed(
                 station, [record(w) for w in weeks], build_time([episodes[w] for w in weeks]),
                 self_url=f"{station.show_url}{rel}", links=archive.feed_links(station, n, len(pages)), archive=True))
    newest_first = list(reversed(archive.ordered(episodes)))
    years = sorted({archive.year(w) for w in episodes}, reverse=True) if len(episodes) > size else []
    out["index.html"] = _index_page(station, [episodes[w] for w in newest_first[:size]], cover_name,
                                    years=years)
    for y in years:
        listed = [episodes[w] for w in newest_first if archive.year(w) == y]
        page(f"archive/{y}/index.html", [years, listed],
             lambda listed=listed, y=y: _index_page(station, listed, cover_name, years=years, year=y))
    # corrections and threads: each week's own, read again only when its files or its record changed
    for week in sorted(episodes):
        fp = archive.digest(f"{archive.week_fingerprint(station, week)}\0{rec['files'].get(f'episodes/{week}/episode.json')}")
        have = rec["weeks"].get(week)
        if have is None or have["fp"] != fp or week in made:
            r = record(week)
            rec["weeks"][week] = {"fp": fp, "corrections": corrections.week_corrections(station, week, r),
                                  "threads": corrections.week_threads(station, week, r)}
    items = sorted((c for w in sorted(episodes) for c in rec["weeks"][w]["corrections"]),
                   key=lambda c: (c["at"], c["id"]), reverse=True)
    out.update(corrections.corrections_files(station, items))
    keep |= {"corrections/index.html", "corrections/feed.xml"}
    c_years = sorted({c["year"] for c in items}, reverse=True)
    if len(c_years) > 1:
        for y in c_years:
            listed = [c for c in items if c["year"] == y]
            page(f"corrections/{y}/index.html", [c_years, listed],
                 lambda listed=listed, y=y: corrections.corrections_year_page(station, y, listed, c_years))
    threads: dict[str, list[dict]] = {}
    for week in sorted(episodes):
        for thread, entries in rec["weeks"][week]["threads"].items():
            threads.setdefault(thread, []).extend(entries)
    thread_years: dict[str, list[str]] = {}
    for thread, entries in sorted(threads.items()):
        t_years = sorted({archive.year(e["week"]) for e in entries}, reverse=True)
        thread_years[thread] = t_years
        many = t_years if len(t_years) > 1 else []
        shown = [e for e in entries if archive.year(e["week"]) == t_years[0]] if many else entries
        page(f"threads/{thread}/index.html", [many, shown],
             lambda thread=thread, shown=shown, many=many: corrections.thread_page(station, thread, shown, years=many))
        for y in many:
            listed = [e for e in entries if archive.year(e["week"]) == y]
            page(f"threads/{thread}/{y}/index.html", [many, listed],
                 lambda thread=thread, listed=listed, many=many, y=y: corrections.thread_page(
                     station, thread, listed, years=many, year=y))
    # search: a Pagefind bundle per year (its episodes' items and its thread items), made again only when what it
    # indexes changed, and the page that searches them all
    wanted: dict[str, list[dict]] = {}
    in_bundle: dict[str, list[str]] = {}  # each bundle's published files, found in one pass over the record
    for rel in rec["files"]:
        if rel.startswith(search.SEARCH + "/") and rel.count("/") > 1:
            in_bundle.setdefault(rel.rsplit("/", rel.count("/") - 1)[0], []).append(rel)
    base = os.fspath(root)

    def bundle(folder: str, inputs: object, records) -> None:
        key = archive.input_key(inputs)
        have = in_bundle.get(folder, [])
        if rec["inputs"].get(folder + "/") == key and have and set(have) <= _files_under(base, folder):
            keep.update(have)
            return
        rec["inputs"][folder + "/"] = key
        wanted[folder] = records()

    bundles = []
    by_year: dict[str, list[str]] = {}
    for w in archive.ordered(episodes):
        by_year.setdefault(archive.year(w), []).append(w)
    t_by_year: dict[str, dict[str, tuple[bool, list[dict]]]] = {}
    for t, entries in sorted(threads.items()):
        for e in entries:
            t_by_year.setdefault(archive.year(e["week"]), {}).setdefault(t, (len(thread_years[t]) > 1, []))[1].append(e)
    for y in sorted(by_year, reverse=True):
        in_year = by_year[y]
        # the threads' items of the year, found on the thread's page (or its page for the year)
        t_items = t_by_year.get(y, {})
        bundle(f"{search.SEARCH}/{y}", [[(w, rec["files"].get(f"episodes/{w}/episode.json")) for w in in_year],
                                        t_items],
               lambda in_year=in_year, t_items=t_items, y=y: [
                   *[r for w in in_year for r in search.episode_records(station, record(w))],
                   *search.thread_records(station, t_items, y, corrections.thread_title)])
        bundles.append(y)
    made_files = search.bundles(station, wanted)
    out.update(made_files)
    keep.update(made_files)
    if bundles:
        page(f"{search.SEARCH}/index.html", bundles,
             lambda: search.page(station, bundles, {**_site(station, cover_name), "cover_name": cover_name}))
    return out, keep


def _files_under(base: str, folder: str) -> set[str]:
    """Every file under a folder of the publish root, by its path from the root: a listing per folder, not a
    look-up per file (a year's search bundle holds hundreds)."""
    found = set()
    for top, _, names in os.walk(f"{base}/{folder}"):
        rel = top[len(base) + 1:]
        found.update(f"{rel}/{n}" for n in names)
    return found


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
    named = {r["media"].rsplit("/", 1)[-1] for r in all_records.values()}
    try:
        found = [e.path for e in os.scandir(root / "media") if e.name.endswith(".mp3") and e.name not in named]
    except FileNotFoundError:
        return
    for path in found:
        Path(path).unlink(missing_ok=True)


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
             # apps ask again each time (If-None-Match / If-Modified-Since, which the host answers with 304
             # until a publish changes the feed's bytes)
             "  Cache-Control: no-cache",
             f"{base}archive/*", cors.rstrip("\n"),
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
    location ~ \\.xml$ {{ types {{ }} default_type "application/rss+xml; charset=utf-8"; etag on; {cors}
                         add_header Cache-Control "no-cache" always; }}
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


def _index_page(station: Station, recs: list[dict], cover_name: str, *, years: list[str] | None = None,
                year: str | None = None) -> str:
    """The show page (newest episodes, and a link to each year's page once there are more), or a year's page."""
    root = "../../" if year else ""
    eps = [{"href": f"{root}episodes/{r['week']}/", "title": r["title"], "date": r["date"], "summary": r["summary"],
            "duration": clock(r["duration_s"]), "media": f"{root}{r['media']}", "draft": r["draft"]}
           for r in sorted(recs, key=lambda r: (r["pub_date"], r["week"]), reverse=True)]
    return render(station, "site_index.html", {
        **_site(station, cover_name), "root": root, "cover": f"{root}{cover_name}", "episodes": eps,
        "years": years or [], "year": year,
        "press": station.full_config.press is not None,  # the press service's items: radio press
        "alternates": [{"lang": o.language, "href": o.show_url, "name": _language_name(o.language),
                        "feed_url": o.feed_url, "show": o.config.show.title}
                       for o in station.editions() if o.edition_id != station.edition_id]})


def _language_name(lang: str) -> str:
    """The language's name in itself ('русский', 'français'), capitalised, for links between editions."""
    name = locale(lang).get_display_name(locale(lang)) or lang
    return name[:1].upper() + name[1:]

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
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from mutagen.id3 import ID3, ID3NoHeaderError

from radio import asrun, fsutil
from radio import rundown as rd
from radio.config import format_ms, text_direction
from radio.station import Station
from radio.errors import PublishError
from radio.i18n import day_month_year, locale
from radio.publish import corrections, transcript
from radio.publish.feed import build_feed
from radio.render import render
from radio.tags import cover_image, written


@dataclass
class Published:
    root: Path
    feed: Path
    page: Path
    media: Path
    record: dict


def publish_root(station: Station) -> Path:
    return station.root / "feeds" / station.config.show.slug


def lock(station: Station, what: str = "publish"):
    path = station.root / "feeds" / f".{station.config.show.slug}.lock"
    return fsutil.locked(path, lambda: PublishError(f"another {what} of {station.config.show.slug} is running",
                                                     where=path, fix="wait for it to finish, then run this again"))


def fault_point(name: str) -> None:
    """For the reliability tests: with RADIO_FAULT=name, stop here (mark a file, then wait to be killed)."""
    if os.environ.get("RADIO_FAULT") == name:
        marker = os.environ.get("RADIO_FAULT_FILE")
        if marker:
            Path(marker).write_text(name)
        import time
        time.sleep(120)


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


def make_record(station: Station, week: str, media: Path, old: dict | None, others: dict[str, dict],
                podcast: dict | None = None) -> dict:
    cfg = station.config
    out = station.out_dir(week)
    as_run = _as_run(station, week)
    if podcast is not None:  # the podcast as published (without retracted items); the as-run file stays as aired
        as_run = {**as_run, "podcast": podcast}
    ep = written(station, week)  # what tag wrote into the masters
    rundown = rd.load(station, week)
    entries = {e.id: e for e in rundown.entries}
    hosts = {h.id: h.name for h in cfg.hosts}
    cues = transcript.cues(as_run["podcast"]["items"], entries, hosts)
    chapters = [{"title": t, "start_ms": a, "end_ms": b} for t, a, b in (
        ep.chapters if podcast is None else
        asrun.chapters(as_run["podcast"]["items"], {e.id: e.title for e in rundown.entries},
                       set(cfg.podcast.chapter_types)))]
    stories, appeals = _stories(rundown)
    stories, appeals = corrections.amend_stories(station, week, rundown, stories)
    ep = dataclasses.replace(ep, summary=corrections.summary(station, week, rundown, ep.summary))
    notes = render(station, "shownotes.html", {"summary": ep.summary, "stories": stories, "appeals": appeals})
    numbers = [r["number"] for w, r in others.items() if w != week]
    air = station.air_datetime(week)
    return {
        "week": week, "guid": ep.guid, "number": old["number"] if old else max(numbers, default=0) + 1,
        "title": ep.title, "summary": ep.summary, "notes_html": notes.strip(), "pub_date": air.isoformat(),
        "date": day_month_year(station.language, air.date()), "duration_s": as_run["podcast"]["seconds"],
        "media": f"media/{media.name}", "length": media.stat().st_size,
        "transcript": f"media/{week}.vtt", "chapters": f"media/{week}.chapters.json",
        "chapters_list": chapters, "cues": cues, "appeals": appeals, "draft": bool(as_run["draft"]),
        "report_starts": corrections.report_starts(as_run["podcast"], rundown),
        "reports": corrections.episode_reports(rundown),
    }


def _page_chapters(rec: dict) -> list[dict]:
    return [{**c, "start_s": round(c["start_ms"] / 1000, 3), "clock": format_ms(c["start_ms"])}
            for c in rec["chapters_list"]]


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
                           fix="record them and build again, or pass --allow-draft to publish the draft")
    cover_data, mime = cover_image(station)
    root = publish_root(station)
    with lock(station):
        for stale in root.parent.glob(f".{cfg.show.slug}.staging-*"):  # left by a publish that was killed
            shutil.rmtree(stale, ignore_errors=True)
        existing = records(root)
        staging = Path(tempfile.mkdtemp(prefix=f".{cfg.show.slug}.staging-", dir=root.parent))
        try:
            s_media = staging / "media" / station.media_name(week, _digest(mp3))
            s_media.parent.mkdir(parents=True)
            shutil.copyfile(mp3, s_media)
            rec = make_record(station, week, s_media, existing.get(week), existing, podcast)
            all_records = {**existing, week: rec}
            cover_name = "cover.jpg" if mime == "image/jpeg" else "cover.png"
            files: dict[str, bytes | str] = {
                f"media/{week}.vtt": transcript.vtt(rec["cues"]),
                f"media/{week}.chapters.json": transcript.chapters_json(rec["chapters_list"], rec["title"]),
                cover_name: cover_data,
                f"episodes/{week}/episode.json": json.dumps(rec, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                f"episodes/{week}/index.html": _episode_page(station, rec),
                "index.html": _index_page(station, list(all_records.values()), cover_name),
                "feed.xml": build_feed(station, list(all_records.values()), build_time(list(all_records.values()))),
            }
            files.update(corrections.site_files(station, all_records))  # corrections page and feed, thread pages
            for rel, data in files.items():
                p = staging / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
            fault_point("staged")
            _move(s_media, root / "media" / s_media.name)
            fault_point("media")
            order = [*[k for k in files if k not in ("index.html", "feed.xml")], "index.html"]
            for rel in order:
                _move(staging / rel, root / rel)
            corrections.remove_stale(root, files)
            fault_point("before-feed")
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


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(src, 0o644)
    os.replace(src, dst)


def _episode_page(station: Station, rec: dict) -> str:
    cfg = station.config
    page = {**rec, "chapters_list": _page_chapters(rec), "cues": _page_cues(rec),
            "duration": format_ms(round(rec["duration_s"] * 1000))}
    return render(station, "episode.html", {
        "language": cfg.station.language, "dir": text_direction(cfg.station.language),
        "alternates": [{"lang": o.language, "href": o.episode_url(rec["week"]), "name": _language_name(o.language)}
                       for o in station.editions() if o.edition_id != station.edition_id],
        "show": cfg.show.title, "feed_url": station.feed_url, "ep": page,
        "media": f"../../{rec['media']}", "vtt": f"../../{rec['transcript']}", "chapters": f"../../{rec['chapters']}",
        "notes": Markup(rec["notes_html"]),  # our own template made it, escaped
    })


def _index_page(station: Station, recs: list[dict], cover_name: str) -> str:
    cfg = station.config
    eps = [{"href": f"episodes/{r['week']}/", "title": r["title"], "date": r["date"],
            "duration": format_ms(round(r["duration_s"] * 1000))}
           for r in sorted(recs, key=lambda r: (r["pub_date"], r["week"]), reverse=True)]
    return render(station, "site_index.html", {
        "language": cfg.station.language, "dir": text_direction(cfg.station.language),
        "alternates": [{"lang": o.language, "href": o.show_url, "name": _language_name(o.language),
                        "feed_url": o.feed_url, "show": o.config.show.title}
                       for o in station.editions() if o.edition_id != station.edition_id],
        "show": cfg.show.title, "station": cfg.station.name,
        "description": cfg.show.description, "feed_url": station.feed_url, "cover": cover_name, "episodes": eps})


def _language_name(lang: str) -> str:
    """The language's name in itself ('русский', 'français'), capitalised, for links between editions."""
    name = locale(lang).get_display_name(locale(lang)) or lang
    return name[:1].upper() + name[1:]

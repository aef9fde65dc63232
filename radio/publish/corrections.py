"""Published news stays honest over time: corrections, retractions and story threads on the listener's side.

- A correction (in the report's history) is shown under its item in the show notes and on the episode page, and
  listed on the show's corrections page and in its small feed. The episode keeps its GUID and pubDate.
- A retraction takes the item out of the podcast master: the published master is cut from the podcast master
  as assembled, without the item (and the gap after it), re-encoded and tagged with re-timed chapters; the
  transcript and chapters follow the new timing. The on-air master and as-run.json are never touched: they
  record what was broadcast. A retraction note takes the item's place in the show notes.
- A thread page per story thread lists its published items across weeks, linking into each episode at the
  item's chapter (#t=seconds). Only public material: what is held, rejected or retracted follows the same
  rules as everywhere else, and places follow each report's current exposure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from feedgen.feed import FeedGenerator

from radio import asrun, fsutil, history, media
from radio.rundown import model as rd
from radio.station import Station
from radio.errors import PublishError
from radio import publicid, publishable
from radio.reports.model import PublicReport


# --- the podcast master without retracted items -------------------------------------------------------

def _cuts(items: list[dict], gone: set[str]) -> list[tuple[int, int]]:
    """Sample ranges to remove: each retracted item with the gap after it (the gap before it, if it is last)."""
    ranges = []
    for k, it in enumerate(items):
        if it["id"] not in gone:
            continue
        a, b = it["start"], it["end"]
        if k + 1 < len(items):
            nxt = items[k + 1]["start"]
            b = nxt if nxt >= it["end"] else it["end"]
        elif k > 0 and items[k - 1]["end"] <= a:
            a = items[k - 1]["end"]
        ranges.append((a, b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def retimed(podcast: dict, gone: set[str], rate: int) -> tuple[dict, list[tuple[int, int]]]:
    """The podcast as-run without the retracted items, every later item moved up by what was cut before it."""
    cuts = _cuts(podcast["items"], gone)

    def shift(t: int) -> int:
        return t - sum(min(b, t) - a for a, b in cuts if a < t)

    items = []
    for it in podcast["items"]:
        if it["id"] in gone:
            continue
        s, e = shift(it["start"]), shift(it["end"])
        items.append({**it, "start": s, "end": e, "start_ms": s * 1000 // rate, "end_ms": e * 1000 // rate,
                      "start_s": round(s / rate, 3), "end_s": round(e / rate, 3)})
    total = podcast["samples"] - sum(b - a for a, b in cuts)
    return {**podcast, "samples": total, "seconds": round(total / rate, 3), "items": items,
            "retracted": sorted(gone & {i["id"] for i in podcast["items"]})}, cuts


def _measure(path: Path) -> tuple[float | None, float | None]:
    """Integrated loudness and true peak of a file, as ffmpeg's EBU R128 meter reads it."""
    r = subprocess.run([media.need("ffmpeg"), "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                        "-f", "null", "-"], capture_output=True, text=True, errors="replace")
    tail = r.stderr[r.stderr.rfind("Summary:"):]
    i = re.search(r"I:\s+(-?[\d.]+) LUFS", tail)
    tp = re.search(r"Peak:\s+(-?[\d.]+) dBFS", tail)
    return (float(i.group(1)) if i else None), (float(tp.group(1)) if tp else None)


def _cut_and_encode(src: Path, dst: Path, keep: list[tuple[int, int | None]], bitrate: int, rate: int,
                    gain_db: float = 0.0, channels: str = "mono") -> None:
    """ffmpeg trims the kept sample ranges (exact: atrim by sample) and encodes them as one MP3, streaming."""
    from radio.audio.encode import layout
    n = len(keep)
    graph = [f"[0:a]asplit={n}" + "".join(f"[i{k}]" for k in range(n)) if n > 1 else "[0:a]anull[i0]"]
    for k, (a, b) in enumerate(keep):
        end = f":end_sample={b}" if b is not None else ""
        graph.append(f"[i{k}]atrim=start_sample={a}{end},asetpts=N/SR/TB[k{k}]")
    graph.append("".join(f"[k{k}]" for k in range(n)) + f"concat=n={n}:v=0:a=1,volume={gain_db:.2f}dB[out]")
    r = subprocess.run([media.need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(src), "-filter_complex",
                        ";".join(graph), "-map", "[out]", *layout(channels), "-ar", str(rate), "-c:a", "libmp3lame",
                        "-b:a", f"{bitrate}k", "-map_metadata", "-1", "-id3v2_version", "0", "-write_id3v1", "0",
                        "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp3", "-y", str(dst)],
                       capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise PublishError(f"re-assembling the podcast master failed: {r.stderr.strip()[-300:]}", where=src,
                           fix="run `radio build WEEK` again; if it persists, report it")


def _summary(station: Station, week: str, titles: list[str]) -> str:
    cfg = station.config
    air = station.air_datetime(week)
    return f"{cfg.show.title} for {air.day} {air:%B %Y}." + (f" This week: {'; '.join(titles)}." if titles else "")


def podcast_master(station: Station, week: str) -> tuple[Path, dict]:
    """The podcast master to publish and its timing: the one assembled, or, once an item has been retracted,
    one without it (made once, and again only when the master or the retractions change)."""
    out = station.out_dir(week)
    mp3 = out / "podcast.mp3"
    as_run = asrun.read(station, week).as_run.model_dump()  # type: ignore[union-attr]
    podcast = as_run["podcast"]
    gone = set(history.retracted(station, week)) & {i["id"] for i in podcast["items"]}
    if not gone:
        return mp3, podcast
    rate = as_run["rate"]
    folder = station.republished_dir(week)
    target, record = folder / "podcast.mp3", folder / "podcast.json"
    st = mp3.stat()
    source = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "retracted": sorted(gone)}
    if target.is_file() and record.is_file():
        done = json.loads(record.read_text(encoding="utf-8"))
        if done.get("source") == source:
            return target, done["podcast"]
    new, cuts = retimed(podcast, gone, rate)
    keep: list[tuple[int, int | None]] = []
    at = 0
    for a, b in cuts:
        if a > at:
            keep.append((at, a))
        at = b
    keep.append((at, None))
    tmp = fsutil.temp_path(target)
    try:
        keep = [k for k in keep if k[1] is None or k[1] > k[0]]
        _cut_and_encode(mp3, tmp, keep, station.config.podcast.bitrate, rate, channels=station.config.podcast.channels)
        # A second MP3 generation loses a little level (the encoder drops what it cannot hear): bring it back to
        # the master's measured loudness, keeping the true-peak ceiling.
        loud = json.loads((out / "loudness.json").read_text(encoding="utf-8"))["podcast"]
        got, peak = _measure(tmp)
        if got is not None and peak is not None and loud.get("integrated") is not None:
            L = station.config.loudness
            gain = min(loud["integrated"] - got, L.podcast_true_peak - 0.3 - peak)
            if abs(gain) >= 0.1:
                _cut_and_encode(mp3, tmp, keep, station.config.podcast.bitrate, rate, gain,
                                station.config.podcast.channels)
        from radio.tags import cover_image, covering, tag_mp3, written
        ep = written(station, week)  # the tags of the master as broadcast, without what was retracted
        rundown = rd.load(station, week)
        entries = {e.id: e for e in rundown.entries}
        kinds = set(station.config.podcast.chapter_types)
        chapters = [(c["title"], c["start_ms"], c["end_ms"]) for c in covering(  # the whole file, as tag does
            new["items"], kinds, {i: e.title for i, e in entries.items()}, new["samples"] * 1000 // rate)]
        titles = [e.title for e in rundown.live if e.report is not None and e.id not in gone]
        ep = dataclasses.replace(ep, chapters=chapters, summary=_summary(station, week, titles))
        tag_mp3(tmp, ep, cover_image(station), round(new["seconds"] * 1000))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    fsutil.write_text(record, json.dumps({"source": source, "podcast": new}, indent=2, ensure_ascii=False) + "\n")
    return target, new


def summary(station: Station, week: str, rundown: rd.Rundown, default: str) -> str:
    """The episode summary without retracted items' titles."""
    gone = set(history.retracted(station, week))
    if not gone & {e.id for e in rundown.live}:
        return default
    return _summary(station, week, [e.title for e in rundown.live if e.report is not None and e.id not in gone])


# --- show notes ----------------------------------------------------------------------------------------

def thread_title(thread: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in thread.split("-"))


def thread_url(station: Station, thread: str) -> str:
    return f"{station.show_url}threads/{thread}/"


def amend_stories(station: Station, week: str, rundown: rd.Rundown, stories: list[dict]) -> tuple[list[dict], list[str]]:
    """Each story with its corrections, its thread, or in its place a retraction note; appeals without
    those of retracted items."""
    events = history.week_events(station, week)
    on = [e for e in rundown.live if e.report is not None]
    by_pid = {e.report.id: e for e in on}  # a story names its report by the public id; the history, by the desk's
    out = []
    for s in stories:
        e = by_pid.get(s.get("id", ""))
        log = events.get(e.item.report or "", []) if e else []
        gone = history.retraction(log)
        thread = e.report.thread if e and e.report else None
        out.append({**s,
                    "corrections": [{"date": history.day(c["at"]), "note": c["note"]} for c in history.corrections(log)],
                    "retraction": {"date": history.day(gone["at"]), "reason": gone["reason"]} if gone else None,
                    "thread": thread_title(thread) if thread and not gone else None,
                    "thread_url": thread_url(station, thread) if thread and not gone else None})
    gone_ids = set(history.retracted(station, week))
    appeals = [e.report.appeal for e in on if e.report and e.report.appeal and e.item.report not in gone_ids]
    return out, appeals


def report_starts(podcast: dict, rundown: rd.Rundown) -> dict[str, int]:
    """Where each report's item starts in the published podcast (ms): thread pages link there."""
    reports = {e.id: e.report.id for e in rundown.live if e.report is not None}
    return {reports[i["id"]]: i["start_ms"] for i in podcast["items"] if i["id"] in reports}


# --- the corrections page and feed, and the thread pages ---------------------------------------------------

def _reports(station: Station, week: str) -> tuple[dict[str, PublicReport | None], dict[str, str]]:
    """The week's reports by desk id as this edition may publish them now, in its language (None when one may
    not be: held, rejected, no checked translation...), and their public ids by desk id."""
    return publishable.by_id(station, week, retractions=False)  # a retraction is shown here, not hidden


def episode_reports(rundown: rd.Rundown) -> list[str]:
    """The reports in an episode as it was made, retracted ones included, by public id: what its corrections
    are about."""
    return [e.report.id for e in rundown.live if e.report is not None]


def week_corrections(station: Station, week: str, record: dict) -> list[dict]:
    """A published week's public corrections and retractions (of the reports in its episode)."""
    out = []
    reports, pids = _reports(station, week)
    aired = record.get("reports")
    for rid, events in history.week_events(station, week).items():
        pid = pids.get(rid) or publicid.stored(station).get(f"{week}/{rid}")  # gone from the desk since
        if pid is None or (aired is not None and pid not in aired):
            continue  # not in this edition's episode
        r = reports.get(rid)
        for e in events:
            if e["event"] not in history.PUBLIC_EVENTS:
                continue
            text = e.get("note") if e["event"] == "correction" else e.get("reason")
            out.append({"at": e["at"], "date": history.day(e["at"]), "year": e["at"][:4], "week": week,
                        "kind": "Correction" if e["event"] == "correction" else "Retraction",
                        "title": r.title if r else "an item", "text": text or "",
                        "href": f"../episodes/{week}/", "url": station.episode_url(week),
                        "id": str(uuid.uuid5(station.feed_guid, f"{week}/{pid}/{e['event']}/{e['at']}"))})
    return out


def corrections_list(station: Station, records: dict[str, dict]) -> list[dict]:
    """Every public correction and retraction of the reports in the published episodes, newest first, each once."""
    out = [c for week in sorted(records) for c in week_corrections(station, week, records[week])]
    return sorted(out, key=lambda c: (c["at"], c["id"]), reverse=True)


def week_threads(station: Station, week: str, record: dict) -> dict[str, list[dict]]:
    """thread -> a published week's items in it."""
    out: dict[str, list[dict]] = {}
    starts = record.get("report_starts", {})
    reports, _ = _reports(station, week)
    events = history.week_events(station, week)
    for rid, r in sorted(reports.items(), key=lambda kv: (kv[1].priority if kv[1] else 9, kv[0])):
        if r is None or not r.thread:
            continue
        log = events.get(rid, [])
        gone = history.retraction(log)
        aired = record.get("reports")
        pid = r.id
        if (pid not in starts and not gone) or (aired is not None and pid not in aired):
            continue  # not in this edition's episode
        out.setdefault(r.thread, []).append({
            "week": week, "date": record["date"], "title": r.title, "dateline": r.dateline,
            "attribution": r.attribution[:1].upper() + r.attribution[1:], "start": starts.get(pid, -1), "href": f"../../episodes/{week}/#t={starts[pid] / 1000:g}"
            if pid in starts and not gone else None,
            "retraction": {"date": history.day(gone["at"]), "reason": gone["reason"]} if gone else None,
            "corrections": [{"date": history.day(c["at"]), "note": c["note"]} for c in history.corrections(log)]})
    return out


def thread_pages(station: Station, records: dict[str, dict]) -> dict[str, list[dict]]:
    """thread -> its published items across weeks, oldest first."""
    out: dict[str, list[dict]] = {}
    for week in sorted(records):
        for thread, items in week_threads(station, week, records[week]).items():
            out.setdefault(thread, []).extend(items)
    return out


def _corrections_feed(station: Station, items: list[dict]) -> bytes:
    cfg = station.config
    fg = FeedGenerator()
    fg.title(f"{cfg.show.title}: corrections")
    fg.description(f"Corrections and retractions of {cfg.show.title}, newest first.")
    fg.language(cfg.station.language)
    fg.link(href=f"{station.show_url}corrections/feed.xml", rel="self", type="application/rss+xml")
    fg.link(href=f"{station.show_url}corrections/", rel="alternate")
    fg.generator("radio")
    newest = max((dt.datetime.fromisoformat(c["at"]) for c in items),
                 default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
    fg.lastBuildDate(newest)
    for c in items:
        fe = fg.add_entry(order="append")
        fe.title(f"{c['kind']}, {c['date']} {c['year']}: {c['title']}")
        fe.link(href=c["url"])
        fe.description(c["text"])
        fe.guid(c["id"], permalink=False)
        fe.pubDate(dt.datetime.fromisoformat(c["at"]))
    return fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")


CORRECTIONS_IN_FEED = 50  # the corrections feed carries the newest ones; the pages keep them all, by year


def _base(station: Station) -> dict:
    cfg = station.config
    funding = {"url": cfg.podcast.funding_url, "text": cfg.podcast.funding_text} if cfg.podcast.funding_url else None
    return {"language": cfg.station.language, "show": cfg.show.title, "feed_url": station.feed_url,
            "station": cfg.station.name, "funding": funding}


def corrections_files(station: Station, items: list[dict]) -> dict[str, str | bytes]:
    """The corrections page and its feed. With corrections in more than one year, the page shows the newest
    year's and links a page per year (corrections/<year>/), whose address never changes."""
    from radio.render import render
    years = sorted({c["year"] for c in items}, reverse=True)
    shown = [c for c in items if c["year"] == years[0]] if len(years) > 1 else items
    return {
        "corrections/index.html": render(station, "corrections.html", {
            **_base(station), "root": "../", "items": shown, "years": years if len(years) > 1 else [],
            "year": None, "up": ""}),
        "corrections/feed.xml": _corrections_feed(station, items[:CORRECTIONS_IN_FEED]),
    }


def corrections_year_page(station: Station, year: str, items: list[dict], years: list[str]) -> str:
    from radio.render import render
    return render(station, "corrections.html", {
        **_base(station), "root": "../../", "up": "../",
        "items": [{**c, "href": "../" + c["href"]} for c in items], "years": years, "year": year})


def thread_page(station: Station, thread: str, entries: list[dict], *, years: list[str] | None = None,
                year: str | None = None) -> str:
    """A thread's page: its items newest first. A thread that spans years shows its newest year's items and links
    a page per year (threads/NAME/<year>/), whose address never changes."""
    from radio.render import render
    up = "../" if year else ""
    return render(station, "thread.html", {
        # newest week first; within a week, in the episode's order
        **_base(station), "root": f"../../{up}", "thread": thread_title(thread), "years": years or [],
        "year": year, "up": up,
        "items": [{**i, "href": f"{up}{i['href']}" if i["href"] else None}
                  for i in sorted(sorted(entries, key=lambda i: i["start"]), key=lambda i: i["week"], reverse=True)]})


def site_files(station: Station, records: dict[str, dict]) -> dict[str, str | bytes]:
    """The corrections page, its feed and one page per thread, from every published week."""
    items = corrections_list(station, records)
    files = corrections_files(station, items)
    for thread, entries in sorted(thread_pages(station, records).items()):
        files[f"threads/{thread}/index.html"] = thread_page(station, thread, entries)
    return files


def stale_threads(root: Path, keep: set[str]) -> list[Path]:
    """Thread pages no longer made (every item of the thread retracted or withdrawn): removed at publish."""
    folder = root / "threads"
    return [p for p in sorted(folder.iterdir()) if p.is_dir() and p.name not in keep] if folder.is_dir() else []


def remove_stale(root: Path, files: dict[str, str | bytes]) -> None:
    keep = {rel.split("/")[1] for rel in files if rel.startswith("threads/")}
    for p in stale_threads(root, keep):
        shutil.rmtree(p, ignore_errors=True)

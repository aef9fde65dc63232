"""The published archive, kept O(changed): a record of what was published, paged feeds, and pages by year.

A publish keeps a record beside the publish root (`feeds/.<slug>.published.json`, not served):
- every file it wrote, by SHA-256: a page whose bytes come out the same is not written again, and a file a
  later publish no longer makes (and only such a file) is removed;
- for every page made from many weeks (an archive feed page, a year's page, a thread, a year of
  corrections), a hash of what went into it: a page whose input did not change is not made again;
- a short summary of every published episode (what the index pages and the paging need), so a publish reads
  the full record only of the episodes on the pages it makes;
- for every published week, its corrections and thread items and a fingerprint of its report and history
  files: only weeks whose files changed are read again.
The record holds only what the public pages already show. Lose it and the next publish rebuilds it;
`radio publish --all` ignores it and makes everything again, byte for byte what the publishes made one by one.

Paging (RFC 5005 archived feeds): the feed carries the newest episodes, at least `feed_items` and fewer than
twice that; older ones sit in archive pages of exactly `feed_items` episodes (`archive/feed-1.xml` is the
oldest), which never change once full. The feed links the newest archive page with
`<atom:link rel="prev-archive">` and `rel="next"` (paged feeds, which gPodder follows), each archive page the
one before it the same way, and the next newer one with `rel="next-archive"`. GUIDs, podcast:guid and
enclosures are the same wherever an episode is listed, and every episode is listed exactly once.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import gc
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from radio import fsutil
from radio.station import Station

FORMAT = 2  # bump when what the record holds changes: an older record is ignored (a full rebuild)
SUMMARY_KEYS = ("week", "guid", "number", "title", "summary", "pub_date", "date", "duration_s", "media", "draft")
CODE = [Path(__file__).parent / n for n in ("__init__.py", "archive.py", "corrections.py", "feed.py", "transcript.py")]
TEMPLATES = Path(__file__).parent.parent / "templates"


def record_path(station: Station) -> Path:
    return station.root / "feeds" / f".{station.config.show.slug}.published.json"


def load(station: Station) -> dict:
    """The record of what was published, or an empty one (missing, unreadable or of another format or build)."""
    build = build_key(station)
    empty = {"format": FORMAT, "build": build, "files": {}, "inputs": {}, "episodes": {}, "weeks": {}}
    try:
        text = record_path(station).read_text(encoding="utf-8")
        gc.disable()  # thousands of small dicts at once, none of them garbage: no collection pass meanwhile
        try:
            rec = json.loads(text)
        finally:
            gc.enable()
    except (OSError, ValueError):
        return empty
    if not isinstance(rec, dict) or rec.get("format") != FORMAT or rec.get("build") != build:
        return empty
    return rec


def save(station: Station, rec: dict) -> None:
    # read and written by every publish: compact, in the order it was made (the same inputs, the same order)
    with fsutil.atomic_open(record_path(station), "w") as f:
        f.write("{")
        for n, (key, value) in enumerate(rec.items()):
            f.write(("," if n else "") + _json(key) + ":")
            if not isinstance(value, dict):
                f.write(_json(value))
                continue
            # a few hundred entries at a time: never the text of the whole record in memory at once
            items = list(value.items())
            f.write("{")
            for i in range(0, len(items), 256):
                f.write(("," if i else "") + _json(dict(items[i:i + 256]))[1:-1])
            f.write("}")
        f.write("}\n")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def build_key(station: Station) -> str:
    """What every page depends on besides the episodes: the code and templates that make pages, the station's
    own templates and its configuration. When it changes, every page is made again."""
    h = hashlib.sha256()
    for p in CODE + sorted(TEMPLATES.glob("*")) + sorted((station.root / "templates").glob("*")):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(station.config.model_dump_json().encode())
    h.update(station.full_config.model_dump_json().encode())  # mirrors, a WebSub hub: what the feed names
    h.update(json.dumps([(o.edition_id, o.language, o.show_url) for o in station.editions()]).encode())
    h.update((os.environ.get("SOURCE_DATE_EPOCH") or "").encode())
    return h.hexdigest()


def digest(data: bytes | str) -> str:
    """What the record keeps of a file or an input: 128 bits of its SHA-256, enough to tell a change, half the
    size of the record of a ten-year archive that every publish reads."""
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()[:32]


def input_key(value: object) -> str:
    return digest(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def summary(rec: dict) -> dict:
    return {k: rec[k] for k in SUMMARY_KEYS}


def ordered(episodes: dict[str, dict]) -> list[str]:
    """Weeks oldest first, as the feed orders episodes (by date, then week)."""
    return [e["week"] for e in sorted(episodes.values(), key=lambda e: (e["pub_date"], e["week"]))]


def feed_pages(weeks: list[str], size: int) -> tuple[list[list[str]], list[str]]:
    """(full archive pages, oldest first; the weeks in the feed itself). Archive pages hold exactly `size`
    episodes each and never change once made; the feed holds the rest, from `size` to 2 × `size` − 1."""
    k = max(0, len(weeks) // size - 1)
    return [weeks[i * size:(i + 1) * size] for i in range(k)], weeks[k * size:]


def archive_feed_name(n: int) -> str:
    return f"archive/feed-{n}.xml"


def feed_links(station: Station, n: int, pages: int) -> list[tuple[str, str]]:
    """The RFC 5005 links of archive page n (1 = oldest) of `pages`, or of the feed itself (n = 0)."""
    url = station.show_url
    if n == 0:
        return [("prev-archive", url + archive_feed_name(pages)), ("next", url + archive_feed_name(pages))] \
            if pages else []
    links = [("current", station.feed_url)]
    if n > 1:
        links += [("prev-archive", url + archive_feed_name(n - 1)), ("next", url + archive_feed_name(n - 1))]
    if n < pages:
        links.append(("next-archive", url + archive_feed_name(n + 1)))
    return links


def year(week: str) -> str:
    return week[:4]


_SCANS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("week_scans", default=None)


@contextmanager
def one_scan() -> Iterator[None]:
    """One command publishing several editions looks at each week's desk files once: the editions share the
    station's reports and history, and nothing a publish does changes them. Scoped to the command (and to its
    thread), so a later publish in a long-running process looks again."""
    token = _SCANS.set({}) if _SCANS.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _SCANS.reset(token)


def week_fingerprint(station: Station, week: str) -> str:
    """Names, sizes and times of a week's report and history files (translations too): what its corrections and
    thread items are made from, besides its published record."""
    scans = _SCANS.get()
    key = f"{station.root}\0{week}"
    if scans is not None and key in scans:
        return scans[key]
    got = _week_fingerprint(station, week)
    if scans is not None:
        scans[key] = got
    return got


def _week_fingerprint(station: Station, week: str) -> str:
    parts = []
    base = os.fspath(station.root / "episodes")  # plain strings: this runs for every week of the archive
    for folder in ("reports", "history"):
        try:
            entries = sorted(os.scandir(f"{base}/{week}/{folder}"), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            parts.append(f"{folder}/{e.name}\0{st.st_size}\0{st.st_mtime_ns}\0")
    return digest("".join(parts))  # no name holds a NUL: one string, hashed once


def newest(episodes: dict[str, dict]) -> dt.datetime:
    dates = [dt.datetime.fromisoformat(e["pub_date"]) for e in episodes.values()]
    return max(dates) if dates else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

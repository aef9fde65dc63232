"""The upload of feeds/ to a target: only what changed, in an order no listener can catch half-done.

Order: content-named media first (immutable, cached for a year), then everything else a feed or page points
to (transcripts, chapters, pages, cover), then the feeds and show pages last (cached for a minute). A file the
target already holds with the same content is not sent (S3: its ETag is the MD5; elsewhere: the size and the
SHA-256 recorded when it was sent). Nothing is deleted before the new feeds are up, nothing any live feed names
is deleted, and a file no feed names any more stays `retention` before it goes.

State per target lives in feeds/.hosting/<name>.json (what each file on the target holds, and since when a file
has been unnamed); a journal beside it is open while an upload runs, so a rerun after a kill or a network fault
says what it is finishing. Reruns are always safe: the plan is made again from the target's own listing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from radio import fsutil
from radio.errors import RadioError
from radio.hosting.settings import Target
from radio.hosting.targets import Base, Remote, open_target
from radio.publish.serve import content_type
from radio.station import Station

IMMUTABLE = "public, max-age=31536000, immutable"
PAGE = "public, max-age=300"
FEED = "public, max-age=60"
MEDIA_RE = re.compile(r"media/[^/]+-[0-9a-f]{12}\.mp3")  # content-named: a new master is a new name


@dataclass(frozen=True)
class Local:
    path: Path
    size: int
    sha256: str
    md5: str
    tier: int  # 0 media, 1 pages and the rest, 2 feeds and show pages (the order they are sent in)
    cache: str


@dataclass
class Outcome:
    label: str
    sent: list[str] = field(default_factory=list)
    sent_bytes: int = 0
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    kept: dict[str, float] = field(default_factory=dict)  # unnamed file -> when it may go
    resumed: str | None = None
    feeds_changed: list[str] = field(default_factory=list)  # feed URLs whose bytes changed on the target
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.resumed:
            out.append(f"{self.label}: {self.resumed}")
        if not self.sent and not self.removed:
            out.append(f"{self.label}: nothing changed, sent nothing ({self.unchanged} files already there)")
        else:
            out.append(f"{self.label}: sent {len(self.sent)} files ({_mb(self.sent_bytes)}), "
                       f"{self.unchanged} unchanged" + (f", removed {len(self.removed)}" if self.removed else ""))
            for k in self.removed:
                out.append(f"  removed {k} (no feed names it, retention over)")
        for k, when in sorted(self.kept.items()):
            out.append(f"  kept {k} until {_when(when)} (no feed names it; retention)")
        out += [f"{self.label}: warning: {w}" for w in self.warnings]
        return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _hashes(path: Path) -> tuple[str, str]:
    s, m = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            s.update(chunk)
            m.update(chunk)
    return s.hexdigest(), m.hexdigest()


def tier(rel: str) -> tuple[int, str]:
    """(tier, Cache-Control) of a file by its place in the show's tree (rel: path inside feeds/<slug>/)."""
    if MEDIA_RE.fullmatch(rel):
        return 0, IMMUTABLE
    if rel.endswith("feed.xml") or rel == "index.html":
        return 2, FEED
    return 1, PAGE


def _order(key: str, local: Local) -> tuple:
    rel = key.split("/", 1)[1] if "/" in key else key
    # within the last tier: other feeds and pages, then the show page, then the show's feed at the very end
    last = 2 if rel == "feed.xml" else 1 if rel == "index.html" else 0
    return local.tier, last, key


def collect(stations: list[Station]) -> dict[str, Local]:
    """Every public file of every edition's feeds/<slug>/, keyed by its path inside feeds/ (dotfiles never)."""
    out = {}
    for s in stations:
        root = s.root / "feeds" / s.config.show.slug
        if not (root / "feed.xml").is_file():
            continue
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root).as_posix()
            if not p.is_file() or p.is_symlink() or any(part.startswith(".") for part in rel.split("/")):
                continue
            sha, md5 = _hashes(p)
            t, cache = tier(rel)
            out[f"{s.config.show.slug}/{rel}"] = Local(p, p.stat().st_size, sha, md5, t, cache)
    return out


def named_by_feeds(stations: list[Station]) -> set[str]:
    """Keys (paths inside feeds/) that any edition's current feed points at: never deleted."""
    keys: set[str] = set()
    for s in stations:
        feed = s.root / "feeds" / s.config.show.slug / "feed.xml"
        if not feed.is_file():
            continue
        base = s.config.podcast.base_url
        doc = etree.parse(str(feed), etree.XMLParser(resolve_entities=False, no_network=True))
        for el in doc.iter():
            for attr in ("url", "uri", "href"):
                v = el.get(attr)
                if v and v.startswith(base):
                    keys.add(urllib.parse.unquote(v[len(base):]))
    return keys


def _state_path(station: Station, name: str) -> Path:
    return station.root / "feeds" / ".hosting" / f"{name}.json"


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(path: Path, data: dict) -> None:
    fsutil.write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _same(local: Local, remote: Remote | None, known: dict | None, target: Base) -> bool:
    if remote is None or remote.size != local.size:
        return False
    if target.keeps_etag and remote.etag and "-" not in remote.etag:
        return remote.etag == local.md5
    return bool(known) and known.get("sha256") == local.sha256


def upload(station: Station, target: Target, *, retention: int | None = None, say=lambda line: None,
           now: float | None = None) -> Outcome:
    """Send every edition's publish tree to one target; see the module's docstring for the guarantees."""
    from radio.publish import lock
    stations = station.editions()
    state_path = _state_path(station, target.name)
    journal_path = state_path.with_suffix(".journal")
    retention = station.full_config.publish.retention if retention is None else retention
    with contextlib.ExitStack() as stack:
        stack.enter_context(fsutil.locked(state_path.with_suffix(".lock"), lambda: RadioError(
            f"another upload to {target.name} is running", fix="wait for it to finish, then run this again")))
        for s in stations:  # no local publish may change the tree while it is being sent
            stack.enter_context(lock(s, "upload"))
        local = collect(stations)
        if not any(k.endswith("/feed.xml") and k.count("/") == 1 for k in local):
            raise RadioError("nothing is published yet", where=station.root / "feeds",
                             fix="run `radio publish WEEK` first")
        conn = open_target(station, target)
        stack.callback(conn.close)
        out = Outcome(conn.label)
        state = _load(state_path)
        files: dict[str, dict] = state.setdefault("files", {})
        orphans: dict[str, float] = state.setdefault("orphans", {})
        journal = _load(journal_path)
        if journal:
            out.resumed = (f"finishing an upload that stopped after {journal.get('done', 0)} of "
                           f"{journal.get('todo', '?')} files (started {journal.get('started', '?')})")
        remote = conn.list()
        todo = sorted((k for k in local if not _same(local[k], remote.get(k), files.get(k), conn)),
                      key=lambda k: _order(k, local[k]))
        out.unchanged = len(local) - len(todo)
        if todo:
            _save(journal_path, {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                 "todo": len(todo), "done": 0, "target": conn.label})
            if getattr(conn, "allow_cors", None) and not files:
                why = conn.allow_cors()
                if why:
                    out.warnings.append(f"could not set CORS on the bucket ({why}); browsers' players may refuse")
        tier_done = -1
        for i, key in enumerate(todo):
            f = local[key]
            if f.tier != tier_done:
                fsutil.fault_point(f"upload-tier-{f.tier}")
                tier_done = f.tier
            conn.put(key, f.path, content_type(key), f.cache)
            files[key] = {"sha256": f.sha256, "size": f.size}
            orphans.pop(key, None)
            out.sent.append(key)
            out.sent_bytes += f.size
            if key.endswith("feed.xml"):
                out.feeds_changed.append(key)
            _save(state_path, state)
            _save(journal_path, {**_load(journal_path), "done": i + 1})
            say(f"{conn.label}: sent {key}")
        fsutil.fault_point("upload-before-cleanup")
        # only now, with the new feeds up: what no feed names waits out the retention, then goes
        live = named_by_feeds(stations) | set(local)
        clock = time.time() if now is None else now
        for key in sorted(set(files) | set(orphans)):
            if key in live:
                orphans.pop(key, None)
                continue
            since = orphans.setdefault(key, clock)
            if clock - since >= retention:
                conn.delete(key)
                files.pop(key, None)
                orphans.pop(key, None)
                out.removed.append(key)
            elif key in remote or key in files:
                out.kept[key] = since + retention
            else:
                orphans.pop(key, None)
        _save(state_path, state)
        journal_path.unlink(missing_ok=True)
    return out


def ping_hub(hub: str, feed_urls: list[str]) -> list[str]:
    """WebSub: tell the hub each changed feed has new content. Returns warnings (a failed ping fails nothing)."""
    warnings = []
    for url in feed_urls:
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        req = urllib.request.Request(hub, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                if r.status >= 300:
                    warnings.append(f"the hub {hub} answered {r.status} for {url}")
        except (OSError, ValueError) as e:
            warnings.append(f"the hub {hub} could not be told about {url} ({getattr(e, 'reason', None) or e}); "
                            "apps will see the new episode at their next poll")
    return warnings

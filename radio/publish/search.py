"""Search without a server: a Pagefind index of every episode's items, with a search page.

Each rundown item that is a chapter (a story read or recorded) becomes one search record: its title, the
episode's title and date, and what was said in it (the transcript's cues within the item), linking into the
episode at the item (`episodes/W/#t=SECONDS`). Each thread page is one record too. Everything comes from the
published episode records and thread items, which hold only public material: nothing private can be found.

The index comes in bundles, one per year (`search/2026/`: that year's episodes and thread items): publishing a
week makes again only its year's bundle, and the search page merges them all. Pagefind indexes in the edition's language (stemming, and
its own word splitting for languages without spaces).

The bulletin's pages and the press items are indexed as whole pages (Pagefind reads each in its own language),
each corner in a bundle of its own (`bulletin/pagefind/`, `press/pagefind/`) made again by the command that writes
the corner; the search page merges each one the site has.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

from radio.errors import PublishError
from radio.station import Station

SEARCH = "search"


def url_path(station: Station) -> str:
    return urllib.parse.urlsplit(station.show_url).path or "/"


def episode_records(station: Station, rec: dict) -> list[dict]:
    """One record per chapter of an episode: what was said in it, linking to where it starts."""
    base = url_path(station)
    out = []
    for ch in rec["chapters_list"]:
        said = [c["text"] for c in rec["cues"] if ch["start_ms"] <= c["start_ms"] < ch["end_ms"]]
        if not said:
            continue  # music, a bed: nothing to find
        out.append({"url": f"{base}episodes/{rec['week']}/#t={ch['start_ms'] / 1000:g}",
                    "content": f"{ch['title']}. {' '.join(said)}",
                    "meta": {"title": ch["title"], "episode": rec["title"], "date": rec["date"]}})
    return out


def thread_records(station: Station, threads: dict[str, tuple[bool, list[dict]]], year: str, title) -> list[dict]:
    """One record per thread with items in the year: on the thread's page, or its year's page when it has one."""
    base = url_path(station)
    out = []
    for thread, (by_year, items) in sorted(threads.items()):
        words = [f"{i['title']} {i['dateline'] or ''} {i['date']}" for i in items]
        out.append({"url": f"{base}threads/{thread}/" + (f"{year}/" if by_year else ""),
                    "content": f"{title(thread)}. {' '.join(words)}", "meta": {"title": title(thread)}})
    return out


class _Service:
    """Pagefind's indexing service (`pagefind --service`), spoken to one request at a time: each request and each
    answer is base64 JSON ended by a comma on its standard input and output."""

    def __init__(self, cwd: str):
        from pagefind_bin import get_executable
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(get_executable()), "--service"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)
        self.buf = b""
        self.n = 0

    def send(self, payload: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.n += 1
        msg = {"message_id": self.n, "payload": payload}
        self.proc.stdin.write(base64.b64encode(json.dumps(msg).encode("utf-8")) + b",")
        self.proc.stdin.flush()
        while b"," not in self.buf:
            chunk = self.proc.stdout.read1(1 << 16)
            if not chunk:
                self.log.seek(0)
                raise OSError(f"pagefind stopped: {self.log.read().decode('utf-8', 'replace')[-300:]}")
            self.buf += chunk
        answer, self.buf = self.buf.split(b",", 1)
        got = json.loads(base64.b64decode(answer))["payload"]
        if got.get("type") == "Error":
            raise OSError(f"pagefind: {got.get('message')}")
        return got

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def bundles(station: Station, wanted: dict[str, list[dict]]) -> dict[str, bytes]:
    """A Pagefind bundle of each folder's records (folders relative to the publish root), made by one service."""
    if not wanted:
        return {}
    with tempfile.TemporaryDirectory(prefix="radio-search-") as tmp:
        try:
            service = _Service(tmp)
        except (OSError, ImportError) as e:
            raise PublishError(f"the search indexer (pagefind) does not start: {e}",
                               fix="reinstall the Python package pagefind-bin (`pip install -e .`)") from None
        files = {}
        try:
            for folder, records in sorted(wanted.items()):
                index = service.send({"type": "NewIndex", "config": None})["index_id"]
                for r in records:
                    if "html" in r:  # a whole page: Pagefind reads it as a browser shows it, in its own language
                        service.send({"type": "AddFile", "index_id": index, "file_path": None, "url": r["url"],
                                      "file_contents": r["html"]})
                        continue
                    service.send({"type": "AddRecord", "index_id": index, "url": r["url"], "content": r["content"],
                                  "language": station.language, "meta": r["meta"], "filters": None, "sort": None})
                # the files come back in the answer: nothing is read from a disk the service may still write
                for f in service.send({"type": "GetFiles", "index_id": index})["files"]:
                    data = base64.b64decode(f["content"])
                    name = Path(f["path"]).as_posix().lstrip("/")
                    if name.rsplit("/", 1)[-1] == "pagefind-entry.json":  # its language map in any order: made stable
                        data = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
                    files[f"{folder}/{name}"] = data
        except (OSError, ValueError, KeyError) as e:
            raise PublishError(f"the search index could not be made: {e}",
                               fix="reinstall the Python package pagefind-bin (`pip install -e .`)") from None
        finally:
            service.close()
        return files


def page(station: Station, bundles: list[str], site: dict) -> str:
    """The search page: Pagefind's own interface over every bundle, the newest year's first, and the bulletin's
    and the press service's when the site has them (looked for by the page itself: other commands make them)."""
    from radio.render import render
    base = url_path(station)
    paths = [f"{base}{SEARCH}/{b}/" for b in bundles]
    return render(station, "search.html", {**site, "root": "../", "cover": f"../{site['cover_name']}",
                                           "bundle": paths[0], "merge": paths[1:],
                                           "corners": [f"{base}{c}/{CORNER}/" for c in CORNERS]})


CORNER = "pagefind"  # the bundle's folder in a corner of the site (a public id never takes the name)
CORNERS = ("bulletin", "press")  # corners of the site that index their own pages


def corner_bundle(station: Station, folder: Path, pages: list[tuple[str, str]]) -> None:
    """The bundle of a corner of the site (the bulletin's pages, the press items), made from its whole HTML pages
    (url path, html) into `folder`: new files first, the entry that names them next, then what it no longer
    names goes, so a search running meanwhile finds the old index or the new one."""
    from radio import fsutil
    if not pages:
        return
    files = bundles(station, {"": [{"url": url, "html": html} for url, html in pages]})
    files = {rel.lstrip("/"): data for rel, data in files.items()}
    entry = "pagefind-entry.json"
    for rel in sorted(files, key=lambda r: r == entry):
        target = folder / rel
        if not target.is_file() or target.read_bytes() != files[rel]:
            fsutil.write_bytes(target, files[rel])
    for p in sorted(folder.rglob("*"), reverse=True):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel not in files:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()

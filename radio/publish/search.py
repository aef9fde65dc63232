"""Search without a server: a Pagefind index of every episode's items, with a search page.

Each rundown item that is a chapter (a story read or recorded) becomes one search record: its title, the
episode's title and date, and what was said in it (the transcript's cues within the item), linking into the
episode at the item (`episodes/W/#t=SECONDS`). Each thread page is one record too. Everything comes from the
published episode records and thread items, which hold only public material: nothing private can be found.

The index comes in bundles, one per year (`search/2026/`: that year's episodes and thread items): publishing a
week makes again only its year's bundle, and the search page merges them all. Pagefind indexes in the edition's language (stemming, and
its own word splitting for languages without spaces).
"""

from __future__ import annotations

import asyncio
import json
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


def bundles(station: Station, wanted: dict[str, list[dict]]) -> dict[str, bytes]:
    """A Pagefind bundle of each folder's records (folders relative to the publish root), made by one service."""
    if not wanted:
        return {}
    from pagefind.service import PagefindService

    async def make(tmp: Path) -> None:
        service = await PagefindService().launch()
        try:
            for n, (folder, records) in enumerate(sorted(wanted.items())):
                index = await service.create_index(None)
                for r in records:
                    await index.add_custom_record(url=r["url"], content=r["content"], language=station.language,
                                                  meta=r["meta"])
                await index.write_files(output_path=str(tmp / str(n)))
        finally:
            await service.close()

    with tempfile.TemporaryDirectory(prefix="radio-search-") as tmp:
        try:
            asyncio.run(make(Path(tmp)))
        except Exception as e:  # the service is a separate program: say what failed, not where
            raise PublishError(f"the search index could not be made: {e}",
                               fix="reinstall the Python package pagefind-bin (`pip install -e .`)") from None
        files = {}
        for n, folder in enumerate(sorted(wanted)):
            out = Path(tmp) / str(n)
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    data = p.read_bytes()
                    if p.name == "pagefind-entry.json":  # its language map comes in any order: made stable
                        data = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
                    files[f"{folder}/{p.relative_to(out).as_posix()}"] = data
        return files


def page(station: Station, bundles: list[str], site: dict) -> str:
    """The search page: Pagefind's own interface over every bundle, the newest year's first."""
    from radio.render import render
    base = url_path(station)
    paths = [f"{base}{SEARCH}/{b}/" for b in bundles]
    return render(station, "search.html", {**site, "root": "../", "cover": f"../{site['cover_name']}",
                                           "bundle": paths[0], "merge": paths[1:]})

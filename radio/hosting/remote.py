"""`radio check --remote`: the live feed and its files, fetched through the public base URL as an app does."""

from __future__ import annotations

import urllib.error
import urllib.request

from lxml import etree

from radio.publish.feed import PODCAST_NS
from radio.station import Station

HEAD_BYTES = 16
TIMEOUT = 20


def _get(url: str, first: int | None = None):
    headers = {"User-Agent": "radio-check"}
    if first is not None:
        headers["Range"] = f"bytes=0-{first - 1}"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)


def _total(resp, got: int) -> int | None:
    rng = resp.headers.get("Content-Range") or ""
    if resp.status == 206 and "/" in rng:
        tail = rng.rsplit("/", 1)[1]
        return int(tail) if tail.isdigit() else None
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else got


def _looks_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def check_remote(station: Station) -> list[tuple[bool | None, str]]:
    results: list[tuple[bool | None, str]] = []

    def ok(cond, what: str) -> bool:
        results.append((bool(cond), what))
        return bool(cond)

    url = station.feed_url
    try:
        with _get(url) as r:
            body = r.read()
            ctype = r.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError, ValueError) as e:
        ok(False, f"{url} answers ({getattr(e, 'code', None) or getattr(e, 'reason', None) or e})")
        return results
    ok(True, f"{url} answers")
    ok("xml" in ctype, f"feed is served as XML ({ctype or 'no Content-Type'})")
    try:
        doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as e:
        ok(False, f"the live feed is well-formed XML ({e})")
        return results
    ok(True, "the live feed is well-formed XML")
    local = station.root / "feeds" / station.config.show.slug / "feed.xml"
    if local.is_file():
        results.append((True if local.read_bytes() == body else None,
                        "the live feed is the one in feeds/" if local.read_bytes() == body else
                        "the live feed differs from the one in feeds/ (publish --to uploads it)"))
    for item in doc.iter("item"):
        title = (item.findtext("title") or "?")[:60]
        enc = item.find("enclosure")
        if not ok(enc is not None, f"{title}: has an enclosure"):
            continue
        sources = [enc.get("url")]
        alt = item.find(f"{{{PODCAST_NS}}}alternateEnclosure")
        if alt is not None:
            sources += [s.get("uri") for s in alt.findall(f"{{{PODCAST_NS}}}source") if s.get("uri") not in sources]
        for src in sources:
            try:
                with _get(src, HEAD_BYTES) as r:
                    head = r.read(HEAD_BYTES)
                    total = _total(r, len(head))
                    etype = r.headers.get("Content-Type", "")
            except (urllib.error.URLError, OSError, ValueError) as e:
                ok(False, f"{src} answers ({getattr(e, 'code', None) or getattr(e, 'reason', None) or e})")
                continue
            ok(_looks_mp3(head) and etype.startswith("audio/mpeg"),
               f"{src}: starts as an MP3 and is served as audio/mpeg ({etype or 'no Content-Type'})")
            ok(str(total) == enc.get("length"), f"{src}: {total} bytes, as the feed says ({enc.get('length')})")
        for tag in ("transcript", "chapters"):
            el = item.find(f"{{{PODCAST_NS}}}{tag}")
            if el is not None:
                try:
                    with _get(el.get("url")) as r:
                        ok(r.status == 200, f"{el.get('url')} answers")
                except (urllib.error.URLError, OSError, ValueError) as e:
                    ok(False, f"{el.get('url')} answers ({getattr(e, 'code', None) or e})")
    return results

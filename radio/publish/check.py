"""Checking the publish tree as podcast directories do: each check printed as it passes or fails."""

from __future__ import annotations

import email.utils
import json
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

from lxml import etree

from radio.config import APPLE_CATEGORIES
from radio.station import Station
from radio.publish import publish_root
from radio.publish.feed import ITUNES_NS, PODCAST_NS
from radio.tags import image_size

NS = {"itunes": ITUNES_NS, "podcast": PODCAST_NS, "atom": "http://www.w3.org/2005/Atom"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Balance(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} closes <{self.stack[-1] if self.stack else '-'}>")
        else:
            self.stack.pop()


def html_problem(text: str) -> str | None:
    p = _Balance()
    p.feed(text)
    p.close()
    if p.errors:
        return p.errors[0]
    if p.stack:
        return f"<{p.stack[-1]}> is never closed"
    if not text.lstrip().lower().startswith("<!doctype html>"):
        return "no <!doctype html>"
    return None


def check(station: Station) -> list[tuple[bool, str]]:
    root = publish_root(station)
    results: list[tuple[bool, str]] = []

    def ok(cond: bool, what: str) -> bool:
        results.append((bool(cond), what))
        return bool(cond)

    feed_path = root / "feed.xml"
    if not ok(feed_path.is_file(), f"{feed_path.relative_to(station.root)} exists"):
        return results
    try:
        doc = etree.parse(str(feed_path))
        ok(True, "feed.xml is well-formed XML")
    except etree.XMLSyntaxError as e:
        ok(False, f"feed.xml is well-formed XML ({e})")
        return results
    ch = doc.find("channel")
    if not ok(doc.getroot().tag == "rss" and doc.getroot().get("version") == "2.0" and ch is not None,
              "RSS 2.0 with a channel"):
        return results
    base = station.show_url

    def local(url: str | None) -> Path | None:
        if not url or not url.startswith(base):
            return None
        p = (root / url[len(base):]).resolve()
        return p if p.is_relative_to(root.resolve()) else None

    for tag in ("title", "link", "description", "language"):
        ok(bool((ch.findtext(tag) or "").strip()), f"channel has <{tag}>")
    if station.full_config.editions:
        ok(ch.findtext("language") == station.language,
           f"<language> is the edition's ({ch.findtext('language')}, {station.edition_id})")
    ok(bool(ch.findtext("itunes:author", namespaces=NS)), "itunes:author")
    email = ch.findtext("itunes:owner/itunes:email", namespaces=NS) or ""
    ok(bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)), f"itunes:owner has an e-mail ({email or 'none'})")
    img = ch.find("itunes:image", NS)
    href = img.get("href") if img is not None else None
    ipath = local(href)
    if ok(ipath is not None and ipath.is_file(), f"itunes:image resolves in the tree ({href})"):
        size = image_size(ipath.read_bytes())
        good = size is not None and size[0][0] == size[0][1] and 1400 <= size[0][0] <= 3000
        ok(good, f"cover is a square JPEG or PNG of 1400-3000 px ({size[0] if size else 'not an image'})")
    cats = ch.findall("itunes:category", NS)
    names = [(c.get("text"), [s.get("text") for s in c.findall("itunes:category", NS)]) for c in cats]
    ok(bool(names) and all(n in APPLE_CATEGORIES and all(s in APPLE_CATEGORIES[n] for s in subs)
                           for n, subs in names), f"itunes:category is Apple's ({names})")
    explicit = [e.text for e in ch.findall("itunes:explicit", NS)]
    ok(explicit in (["true"], ["false"]), f"itunes:explicit is true or false, once ({explicit})")
    ok(ch.findtext("itunes:type", namespaces=NS) in ("episodic", "serial"), "itunes:type is episodic or serial")
    guid = ch.findtext("podcast:guid", namespaces=NS) or ""
    ok(guid == str(station.feed_guid), f"podcast:guid is the UUIDv5 of the feed URL ({guid})")
    try:
        ok(uuid.UUID(guid).version == 5, "podcast:guid is a version 5 UUID")
    except ValueError:
        ok(False, "podcast:guid is a version 5 UUID")
    locked = ch.find("podcast:locked", NS)
    ok(locked is not None and locked.text in ("yes", "no") and bool(locked.get("owner")),
       "podcast:locked with an owner")
    selfs = [a.get("href") for a in ch.findall("atom:link", NS) if a.get("rel") == "self"]
    ok(selfs == [station.feed_url], f"atom:link rel=self is the feed URL ({selfs})")
    items = ch.findall("item")
    ok(bool(items), f"the feed has episodes ({len(items)})")
    guids = [i.findtext("guid") for i in items]
    ok(len(set(guids)) == len(guids), "episode GUIDs are unique")
    for it in items:
        t = it.findtext("title") or "?"
        g = it.find("guid")
        ok(g is not None and g.get("isPermaLink") == "false" and bool(g.text), f"{t}: guid, isPermaLink=false")
        ok(email_date(it.findtext("pubDate")), f"{t}: pubDate is RFC 2822 ({it.findtext('pubDate')})")
        enc = it.find("enclosure")
        url = enc.get("url") if enc is not None else None
        path = local(url)
        if ok(path is not None and path.is_file(), f"{t}: enclosure resolves in the tree ({url})"):
            ok(enc.get("length") == str(path.stat().st_size),
               f"{t}: enclosure length {enc.get('length')} equals the file ({path.stat().st_size} bytes)")
        ok(enc is not None and enc.get("type") == "audio/mpeg", f"{t}: enclosure type audio/mpeg")
        dur = it.findtext("itunes:duration", namespaces=NS) or ""
        ok(dur.isdigit() and int(dur) > 0, f"{t}: itunes:duration in seconds ({dur})")
        ok(it.findtext("itunes:explicit", namespaces=NS) in ("true", "false"), f"{t}: itunes:explicit")
        for tag, typ in (("transcript", "text/vtt"), ("chapters", "application/json+chapters")):
            e = it.find(f"podcast:{tag}", NS)
            p = local(e.get("url")) if e is not None else None
            if ok(p is not None and p.is_file() and e.get("type") == typ, f"{t}: podcast:{tag} ({typ}) resolves"):
                text = p.read_text(encoding="utf-8")
                if tag == "transcript":
                    ok(text.startswith("WEBVTT"), f"{t}: transcript is WebVTT")
                else:
                    try:
                        ok(json.loads(text).get("version", "").startswith("1.2"), f"{t}: chapters JSON 1.2")
                    except ValueError:
                        ok(False, f"{t}: chapters JSON 1.2")
        link = it.findtext("link")
        lp = local(link)
        ok(lp is not None and (lp / "index.html").is_file(), f"{t}: episode page resolves ({link})")
    for page in sorted(root.rglob("*.html")):
        problem = html_problem(page.read_text(encoding="utf-8"))
        ok(problem is None, f"{page.relative_to(root)} is well-formed HTML" + (f" ({problem})" if problem else ""))
    return results


def email_date(text: str | None) -> bool:
    try:
        return text is not None and email.utils.parsedate_to_datetime(text) is not None
    except (TypeError, ValueError):
        return False

"""The podcast feed: feedgen, extended through its extension API for what it lacks.

feedgen writes the RSS and iTunes elements; our extensions add the podcast: namespace (guid, locked, funding,
person, location, txt, medium, transcript, chapters), itunes:explicit as Apple spells it (true/false), and put
the episode description in CDATA, as Apple asks. Apple's limits are enforced here: an episode description of at
most 4,000 bytes using only the tags Apple allows; the full show notes go in content:encoded.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import Markup

from radio.hosting.mirrors import alternate
from radio.i18n import gettext
from radio.station import Station

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM_NS = "http://www.w3.org/2005/Atom"
CHAPTERS_TYPE = "application/json+chapters"
DESCRIPTION_BYTES = 4000  # Apple's limit for an episode description
APPLE_TAGS = {"p", "ol", "ul", "li", "a"}  # the only tags Apple keeps in a description


def _el(parent, ns: str, name: str, text: str | None = None, **attrs: str):
    e = etree.SubElement(parent, f"{{{ns}}}{name}", {k.replace("_", "-") if k != "type_" else "type": v
                                                     for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def _people(parent, people: list[str]) -> None:
    for name in people:
        _el(parent, PODCAST_NS, "person", name, role="host", group="cast")


class PodcastIndex(BaseExtension):
    """Channel: guid, locked, funding, person (hosts), txt, medium, and itunes:explicit true/false."""

    def __init__(self):
        self.guid: str | None = None
        self.locked_owner: str | None = None
        self.explicit: bool | None = None
        self.funding: tuple[str, str] | None = None  # (url, text)
        self.people: list[str] = []
        self.txt: dict[str, str] = {}
        self.medium: str | None = None
        self.hub: str | None = None  # a WebSub hub (radio/hosting pings it after an upload)

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS, "atom": ATOM_NS}

    def extend_rss(self, rss):
        channel = rss[0]
        if self.hub:
            _el(channel, ATOM_NS, "link", rel="hub", href=self.hub)
        if self.explicit is not None:
            _el(channel, ITUNES_NS, "explicit", "true" if self.explicit else "false")
        if self.locked_owner:
            _el(channel, PODCAST_NS, "locked", "yes", owner=self.locked_owner)
        if self.guid:
            _el(channel, PODCAST_NS, "guid", self.guid)
        if self.medium:
            _el(channel, PODCAST_NS, "medium", self.medium)
        if self.funding:
            _el(channel, PODCAST_NS, "funding", self.funding[1], url=self.funding[0])
        _people(channel, self.people)
        for purpose, text in sorted(self.txt.items()):
            _el(channel, PODCAST_NS, "txt", text, purpose=purpose)
        return rss


class PodcastIndexEntry(BaseEntryExtension):
    """Item: transcript, chapters, person, location, itunes:explicit true/false; the description in CDATA."""

    def __init__(self):
        self.transcript: str | None = None
        self.transcript_language: str | None = None
        self.chapters: str | None = None
        self.explicit: bool | None = None
        self.people: list[str] = []
        self.location: str | None = None
        self.alternate: dict | None = None  # the media's copies at mirrors (radio/hosting/mirrors.py)

    def extend_rss(self, item):
        desc = item.find("description")
        if desc is not None and desc.text:
            desc.text = etree.CDATA(desc.text)
        if self.explicit is not None:
            _el(item, ITUNES_NS, "explicit", "true" if self.explicit else "false")
        if self.transcript:
            # no rel="captions": cue times inside an item are shared out by length, not exact
            attrs = {"language": self.transcript_language} if self.transcript_language else {}
            _el(item, PODCAST_NS, "transcript", url=self.transcript, type_="text/vtt", **attrs)
        if self.chapters:
            _el(item, PODCAST_NS, "chapters", url=self.chapters, type_=CHAPTERS_TYPE)
        _people(item, self.people)
        if self.location:
            _el(item, PODCAST_NS, "location", self.location)
        if self.alternate:
            a = self.alternate
            alt = _el(item, PODCAST_NS, "alternateEnclosure", type_=a["type"], length=a["length"], default="true")
            for uri in a["sources"]:
                _el(alt, PODCAST_NS, "source", uri=uri)
            _el(alt, PODCAST_NS, "integrity", type_="sri", value=a["integrity"])
        return item


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def html_tags(html: str) -> set[str]:
    p = _Tags()
    p.feed(html)
    p.close()
    return p.tags


def description(rec: dict, page_url: str, funding: tuple[str, str] | None, lang: str = "en") -> str:
    """The episode description Apple accepts: p, ul, li and a only, at most 4,000 bytes (UTF-8).

    The summary, any correction or retraction, how to help, and links to the page and the support page. When it
    is too long, appeals go first (the page has them all), then the summary is shortened."""
    def build(summary: str, notices: list[str], appeals: list[str]) -> str:
        parts = []
        if rec["draft"]:
            parts.append(Markup("<p>{}</p>").format(
                gettext(lang, "This is a draft: synthesized voices stand in for recordings not yet made.")))
        parts.append(Markup("<p>{}</p>").format(summary))
        parts.extend(Markup("<p>{}</p>").format(n) for n in notices)
        if appeals:
            parts.append(Markup("<p>{}:</p><ul>{}</ul>").format(gettext(lang, "How to help"),
                Markup("").join(Markup("<li>{}</li>").format(a) for a in appeals)))
        parts.append(Markup('<p><a href="{}">{}</a></p>').format(page_url, gettext(lang, "Show notes")))
        if funding:
            parts.append(Markup('<p><a href="{}">{}</a></p>').format(*funding))
        return "\n".join(parts)

    summary, notices, appeals = rec["summary"], list(rec.get("notices", [])), list(rec["appeals"])

    def fits() -> bool:
        return len(build(summary, notices, appeals).encode("utf-8")) <= DESCRIPTION_BYTES

    while not fits() and appeals:
        appeals.pop()
    while not fits() and len(summary) > 1:
        bare = summary.rstrip("…")
        words = bare.split()
        summary = (" ".join(words[:len(words) - max(1, len(words) // 8)]) if len(words) > 1
                   else bare[:len(bare) // 2]) + "…"
    while not fits() and notices:
        notices.pop()
    text = build(summary, notices, appeals)
    assert html_tags(text) <= APPLE_TAGS, html_tags(text)
    return text


def build_feed(station: Station, episodes: list[dict], build_time: dt.datetime) -> bytes:
    """RSS 2.0 from every published episode record, newest first. Same records, same time: same bytes."""
    cfg = station.config
    p = cfg.podcast
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", PodcastIndex, PodcastIndexEntry, atom=False)
    fg.title(cfg.show.title)
    fg.description(cfg.show.description)
    fg.language(cfg.station.language)
    fg.link(href=station.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=station.show_url, rel="alternate")  # last: feedgen makes the last link the channel <link>
    fg.generator("radio")
    fg.lastBuildDate(build_time)
    fg.copyright(f"{cfg.station.name}")
    cover = f"{station.show_url}cover{_ext(p.cover)}"
    fg.image(url=cover, title=cfg.show.title, link=station.show_url)
    fg.podcast.itunes_author(p.author)
    fg.podcast.itunes_owner(name=cfg.station.owner, email=cfg.station.email)
    fg.podcast.itunes_image(cover)
    fg.podcast.itunes_category([{"cat": p.category, "sub": p.subcategory}] if p.subcategory else
                               [{"cat": p.category}])
    fg.podcast.itunes_type(p.type)
    fg.podcast.itunes_summary(cfg.show.description)
    ext = fg.podcastindex
    ext.guid = str(station.feed_guid)
    ext.locked_owner = cfg.station.email
    ext.explicit = p.explicit
    ext.medium = "podcast"
    ext.funding = (p.funding_url, p.funding_text) if p.funding_url else None
    ext.people = [h.name for h in cfg.hosts]
    ext.txt = dict(p.txt)
    ext.hub = station.full_config.publish.hub
    funding = (p.funding_url, p.funding_text) if p.funding_url else None
    for ep in sorted(episodes, key=lambda e: (e["pub_date"], e["week"]), reverse=True):
        fe = fg.add_entry(order="append")
        page = station.episode_url(ep["week"])
        draft = f"{gettext(cfg.station.language, 'Draft')}: " if ep["draft"] else ""
        fe.title(draft + ep["title"])
        fe.link(href=page)
        fe.description(description(ep, page, funding, cfg.station.language))
        fe.content(ep["notes_html"], type="CDATA")
        fe.guid(ep["guid"], permalink=False)
        fe.pubDate(dt.datetime.fromisoformat(ep["pub_date"]))
        fe.enclosure(f"{station.show_url}{ep['media']}", str(ep["length"]), "audio/mpeg")
        fe.podcast.itunes_title(draft + ep["itunes_title"])
        fe.podcast.itunes_image(cover)
        fe.podcast.itunes_duration(int(round(ep["duration_s"])))
        fe.podcast.itunes_episode(ep["number"])
        fe.podcast.itunes_episode_type("full")
        fe.podcastindex.explicit = p.explicit
        fe.podcastindex.transcript = f"{station.show_url}{ep['transcript']}"
        if station.full_config.editions:  # a station of several languages says which each transcript is in
            fe.podcastindex.transcript_language = cfg.station.language
        fe.podcastindex.chapters = f"{station.show_url}{ep['chapters']}"
        fe.podcastindex.people = list(ep["hosts"])
        fe.podcastindex.location = ep["location"]
        fe.podcastindex.alternate = alternate(station, ep)
    return fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")


def _ext(cover: str) -> str:
    return ".jpg" if cover.lower().endswith((".jpg", ".jpeg")) else ".png"


__all__ = ["build_feed", "description", "html_tags", "APPLE_TAGS", "DESCRIPTION_BYTES", "CHAPTERS_TYPE"]

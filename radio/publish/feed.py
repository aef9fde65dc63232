"""The podcast feed: feedgen, extended for what it lacks (the podcast: namespace, itunes:explicit true/false)."""

from __future__ import annotations

import datetime as dt

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from radio.station import Station

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"


def _el(parent, ns: str, name: str, text: str | None = None, **attrs: str):
    e = etree.SubElement(parent, f"{{{ns}}}{name}", {k.replace("_", "-") if k != "type_" else "type": v
                                                     for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


class PodcastIndex(BaseExtension):
    """Channel: podcast:guid, podcast:locked and itunes:explicit as Apple spells it (true/false)."""

    def __init__(self):
        self.guid: str | None = None
        self.locked_owner: str | None = None
        self.explicit: bool | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss):
        channel = rss[0]
        if self.explicit is not None:
            _el(channel, ITUNES_NS, "explicit", "true" if self.explicit else "false")
        if self.locked_owner:
            _el(channel, PODCAST_NS, "locked", "yes", owner=self.locked_owner)
        if self.guid:
            _el(channel, PODCAST_NS, "guid", self.guid)
        return rss


class PodcastIndexEntry(BaseEntryExtension):
    """Item: podcast:transcript, podcast:chapters, itunes:explicit true/false."""

    def __init__(self):
        self.transcript: str | None = None
        self.transcript_language: str | None = None
        self.chapters: str | None = None
        self.explicit: bool | None = None

    def extend_rss(self, item):
        if self.explicit is not None:
            _el(item, ITUNES_NS, "explicit", "true" if self.explicit else "false")
        if self.transcript:
            attrs = {"language": self.transcript_language} if self.transcript_language else {}
            _el(item, PODCAST_NS, "transcript", url=self.transcript, type_="text/vtt", **attrs)
        if self.chapters:
            _el(item, PODCAST_NS, "chapters", url=self.chapters, type_="application/json+chapters")
        return item


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
    fg.image(url=f"{station.show_url}cover{_ext(p.cover)}", title=cfg.show.title, link=station.show_url)
    fg.podcast.itunes_author(p.author)
    fg.podcast.itunes_owner(name=cfg.station.owner, email=cfg.station.email)
    fg.podcast.itunes_image(f"{station.show_url}cover{_ext(p.cover)}")
    fg.podcast.itunes_category([{"cat": p.category, "sub": p.subcategory}] if p.subcategory else
                               [{"cat": p.category}])
    fg.podcast.itunes_type(p.type)
    fg.podcast.itunes_summary(cfg.show.description)
    fg.podcastindex.guid = str(station.feed_guid)
    fg.podcastindex.locked_owner = cfg.station.email
    fg.podcastindex.explicit = p.explicit
    for ep in sorted(episodes, key=lambda e: (e["pub_date"], e["week"]), reverse=True):
        fe = fg.add_entry(order="append")
        fe.title(ep["title"])
        fe.link(href=station.episode_url(ep["week"]))
        fe.description(ep["notes_html"])
        fe.guid(ep["guid"], permalink=False)
        fe.pubDate(dt.datetime.fromisoformat(ep["pub_date"]))
        fe.enclosure(f"{station.show_url}{ep['media']}", str(ep["length"]), "audio/mpeg")
        fe.podcast.itunes_duration(int(round(ep["duration_s"])))
        fe.podcast.itunes_episode(ep["number"])
        fe.podcast.itunes_episode_type("full")
        fe.podcast.itunes_summary(ep["summary"])
        fe.podcastindex.explicit = p.explicit
        fe.podcastindex.transcript = f"{station.show_url}{ep['transcript']}"
        if station.full_config.editions:  # a station of several languages says which each transcript is in
            fe.podcastindex.transcript_language = cfg.station.language
        fe.podcastindex.chapters = f"{station.show_url}{ep['chapters']}"
    return fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")


def _ext(cover: str) -> str:
    return ".jpg" if cover.lower().endswith((".jpg", ".jpeg")) else ".png"

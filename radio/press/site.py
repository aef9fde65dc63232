"""The press service on the web: feeds/<slug>/press/, and the desk's copy of every item in out/press/.

  press/<public id>.json     the item as ninjs (only items whose embargo has passed)
  press/<public id>.html     a plain page a newsroom can read and copy: headline, dateline, body, terms, clip
  press/media/<id>-<hash>.mp3  the item's clip
  press/index.json           every public item's uri, version, status and links, newest first
  press/feed.atom            the same as an Atom feed (an entry's id is the item's uri; a new version updates it)
  press/index.html           the list, linked from the show page

out/press/<public id>.json holds every item of the week, embargoed ones included: `radio send --to press` sends
from there, and nothing there is served.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from radio import fsutil
from radio.errors import RadioError
from radio.press.items import NINJS_VERSION, Made, make
from radio.render import environment
from radio.station import Station

ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class Written:
    made: Made
    public: list[str] = field(default_factory=list)  # public ids on the public pages now
    embargoed: list[str] = field(default_factory=list)

    def lines(self, root: Path) -> list[str]:
        out = list(self.made.lines)
        for i in self.made.items:
            state = {"new": "new", "changed": "new version", "same": "unchanged"}[i.status]
            where = "embargoed until " + i.ninjs["embargoed"] if i.pid in self.embargoed else "public"
            out.append(f"{i.desk_id}: version {i.ninjs['version']} ({state}), {i.ninjs['pubstatus']}, {where}")
        out.append(f"{len(self.public)} public, {len(self.embargoed)} embargoed item(s) in "
                   f"{press_root(self.made.station).relative_to(root)}/")
        return out


def press_root(station: Station) -> Path:
    return station.root / "feeds" / station.config.show.slug / "press"


def press_url(station: Station) -> str:
    return f"{station.show_url}press/"


def desk_dir(station: Station, week: str) -> Path:
    return station.out_dir(week) / "press"


def _dump(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, indent=2) + "\n"


def publish(station: Station, week: str, *, embargo: str | None = None) -> Written:
    """Make the week's items, keep the desk's copy of all of them, and put the public ones on the site."""
    root = press_root(station)
    lock = station.root / "feeds" / f".{station.config.show.slug}.press.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with fsutil.locked(lock, lambda: RadioError("another press run is writing", where=lock,
                                                fix="wait for it to finish")):
        made = make(station, week, embargo=embargo)
        written = Written(made)
        desk = desk_dir(station, week)
        for i in made.items:
            fsutil.write_text(desk / f"{i.pid}.json", _dump(i.ninjs))
            if i.clip is not None and i.clip_name:
                clip = root / "media" / i.clip_name
                if i.public and not clip.is_file():
                    clip.parent.mkdir(parents=True, exist_ok=True)
                    fsutil.write_bytes(clip, i.clip.read_bytes())
                fsutil.write_bytes(desk / "media" / i.clip_name, i.clip.read_bytes())
            if not i.public:
                written.embargoed.append(i.pid)
                continue
            written.public.append(i.pid)
            fsutil.write_text(root / f"{i.pid}.html", page(station, i.ninjs))
            fsutil.write_text(root / f"{i.pid}.json", _dump(i.ninjs))  # the JSON last: the index is made from it
        shutil.rmtree(desk / ".clips", ignore_errors=True)
        rebuild(station)
    return written


def _body_html(item: dict) -> str:
    return next((b["value"] for b in item.get("bodies", []) if b.get("contenttype") == "text/html"), "")


def _audio(item: dict) -> dict | None:
    r = next((r for r in item.get("renditions", []) if r.get("name") == "audio"), None)
    if r is None:
        return None
    return {"href": f"media/{r['href'].rsplit('/', 1)[1]}", "seconds": f"{r['duration']:.0f}",
            "kb": f"{r['sizeinbytes'] / 1000:.0f}"}


def page(station: Station, item: dict) -> str:
    env = environment(station, html=True)
    return env.get_template("press_item.html").render(
        language=item["language"], show=station.config.show.title, headline=item["headlines"][0]["value"],
        located=item.get("located", ""), by=item.get("by", ""), version=item["version"],
        versioncreated=item["versioncreated"], pubstatus=item["pubstatus"], ednote=item.get("ednote", ""),
        body=Markup(_body_html(item)),  # made by items.py from escaped paragraphs
        audio=_audio(item), usageterms=item["usageterms"], copyrightnotice=item.get("copyrightnotice", ""),
        json_href=f"{item['slugline']}.json", uri=item["uri"], ninjs_version=NINJS_VERSION)


def public_items(station: Station) -> list[dict]:
    """Every item on the public press pages, newest version first."""
    root = press_root(station)
    items = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*.json")) if p.name != "index.json"]
    return sorted(items, key=lambda i: (i["versioncreated"], i["uri"]), reverse=True)


def rebuild(station: Station) -> None:
    """index.json, feed.atom and index.html from the items on the site (every week's)."""
    root = press_root(station)
    base = press_url(station)
    items = public_items(station)
    rows = [{"uri": i["uri"], "version": i["version"], "versioncreated": i["versioncreated"],
             "firstcreated": i["firstcreated"], "pubstatus": i["pubstatus"], "headline": i["headlines"][0]["value"],
             "located": i.get("located", ""), "language": i["language"],
             "href": f"{base}{i['slugline']}.json", "page": f"{base}{i['slugline']}.html"} for i in items]
    index = {"title": f"{station.config.show.title}: press service", "language": station.language,
             "standard": {"name": "ninjs", "version": NINJS_VERSION}, "feed": f"{base}feed.atom", "items": rows}
    fsutil.write_text(root / "index.json", json.dumps(index, ensure_ascii=False, indent=2) + "\n")
    fsutil.write_bytes(root / "feed.atom", atom(station, items))
    env = environment(station, html=True)
    terms = station.full_config.press.usage_terms if station.full_config.press else ""
    # the page a person reads is paged by year (press/YYYY/) once there is more than one: it stays small
    years = sorted({r["firstcreated"][:4] for r in rows}, reverse=True)
    many = years if len(years) > 1 else []

    def render(listed: list[dict], year: str | None, up: str) -> str:
        return env.get_template("press_index.html").render(
            language=station.language, show=station.config.show.title, usageterms=terms, years=many, year=year,
            up=up, items=[{**r, "page": up + r["page"].rsplit("/", 1)[1]} for r in listed])
    fsutil.write_text(root / "index.html", render([r for r in rows if r["firstcreated"][:4] == years[0]] if many
                                                  else rows, None, ""))
    for y in many:
        path, text = root / y / "index.html", render([r for r in rows if r["firstcreated"][:4] == y], y, "../")
        if not path.is_file() or path.read_text(encoding="utf-8") != text:  # a year nothing changed in stays
            fsutil.write_text(path, text)
    # the site's search finds every item (press/pagefind/, merged by the search page)
    from radio.publish.search import CORNER, corner_bundle, url_path
    corner_bundle(station, root / CORNER, [(f"{url_path(station)}press/{i['slugline']}.html",
                                            (root / f"{i['slugline']}.html").read_text(encoding="utf-8"))
                                           for i in items])


def atom(station: Station, items: list[dict]) -> bytes:
    """Atom 1.0: an entry per item, its id the item's uri, so a feed reader sees a new version as an update."""
    ET.register_namespace("", ATOM)
    q = lambda n: f"{{{ATOM}}}{n}"  # noqa: E731
    base = press_url(station)
    feed = ET.Element(q("feed"), {"{http://www.w3.org/XML/1998/namespace}lang": station.language})
    ET.SubElement(feed, q("title")).text = f"{station.config.show.title}: press service"
    ET.SubElement(feed, q("id")).text = f"urn:uuid:{station.feed_guid}:press"
    ET.SubElement(feed, q("updated")).text = max((i["versioncreated"] for i in items), default="2000-01-01T00:00:00Z")
    ET.SubElement(feed, q("link"), {"rel": "self", "type": "application/atom+xml", "href": f"{base}feed.atom"})
    ET.SubElement(feed, q("link"), {"rel": "alternate", "type": "text/html", "href": base})
    author = ET.SubElement(feed, q("author"))
    ET.SubElement(author, q("name")).text = station.config.station.name
    for i in items:
        e = ET.SubElement(feed, q("entry"))
        ET.SubElement(e, q("id")).text = i["uri"]
        title = i["headlines"][0]["value"]
        ET.SubElement(e, q("title")).text = title if i["pubstatus"] == "usable" else f"{i['pubstatus'].upper()}: {title}"
        ET.SubElement(e, q("updated")).text = i["versioncreated"]
        ET.SubElement(e, q("published")).text = i["firstcreated"]
        ET.SubElement(e, q("link"), {"rel": "alternate", "type": "text/html", "href": f"{base}{i['slugline']}.html"})
        ET.SubElement(e, q("link"), {"rel": "related", "type": "application/json", "title": "ninjs",
                                     "href": f"{base}{i['slugline']}.json"})
        for r in i.get("renditions", []):
            ET.SubElement(e, q("link"), {"rel": "enclosure", "type": r["contenttype"], "href": r["href"],
                                         "length": str(r["sizeinbytes"])})
        if i.get("by"):
            ET.SubElement(ET.SubElement(e, q("author")), q("name")).text = i["by"]
        ET.SubElement(e, q("rights")).text = i["usageterms"]
        ET.SubElement(e, q("content"), {"type": "html"}).text = _body_html(i)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"

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
from radio.station import GUIDS_NAME, Station
from radio.publish.feed import APPLE_TAGS, DESCRIPTION_BYTES, ITUNES_NS, PODCAST_NS, html_tags
from radio.tags import image_size, repeats_show

NS = {"itunes": ITUNES_NS, "podcast": PODCAST_NS, "atom": "http://www.w3.org/2005/Atom",
      "content": "http://purl.org/rss/1.0/modules/content/"}
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


def verdict(results: list[tuple[bool | None, str]], quiet: bool = False, verbose: bool = False
            ) -> tuple[list[str], bool]:
    """The lines `radio check` prints and whether it failed: what failed or warned (a warning does not fail), a
    summary line, and with `verbose` every check that passed too."""
    lines = [f"{'ok  ' if good else 'warn' if good is None else 'FAIL'} {what}" for good, what in results
             if not good or (verbose and not quiet)]
    failed = sum(g is False for g, _ in results)
    warned = sum(g is None for g, _ in results)
    if not quiet:
        lines.append(f"{len(results) - failed - warned} passed, {failed} failed" + (f", {warned} warned" if warned else ""))
    return lines, failed > 0


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
    root = station.publish_root
    results: list[tuple[bool, str]] = []

    def ok(cond: bool, what: str) -> bool:
        results.append((bool(cond), what))
        return bool(cond)

    def warn_unless(cond: bool, what: str) -> None:
        """A warning (None) does not fail the check, but is printed."""
        results.append((True if cond else None, what))

    feed_path = root / "feed.xml"
    if station.edition is not None and not feed_path.is_file():  # an edition not yet published is news, not a fault
        warn_unless(False, f"{feed_path.relative_to(station.root)}: edition {station.edition_id} not published yet "
                           f"(radio build WEEK --edition {station.edition_id})")
        return results
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
    stored = station.stored_feed_guid()
    ok(stored is not None and guid == str(stored),
       f"podcast:guid is the one stored in {GUIDS_NAME} at the first publish ({guid})")
    warn_unless(stored is None or stored == station.url_feed_guid,
                f"the stored podcast:guid ({stored}) is not the one the current feed URL gives "
                f"({station.url_feed_guid}): base_url changed since the first publish; the GUID stays, as apps "
                "expect (set an HTTP redirect from the old feed URL)")
    try:
        ok(uuid.UUID(guid).version == 5, "podcast:guid is a version 5 UUID")
    except ValueError:
        ok(False, "podcast:guid is a version 5 UUID")
    locked = ch.find("podcast:locked", NS)
    ok(locked is not None and locked.text in ("yes", "no") and bool(locked.get("owner")),
       "podcast:locked with an owner")
    selfs = [a.get("href") for a in ch.findall("atom:link", NS) if a.get("rel") == "self"]
    ok(selfs == [station.feed_url], f"atom:link rel=self is the feed URL ({selfs})")
    ok(ch.findtext("podcast:medium", namespaces=NS) == "podcast", "podcast:medium is podcast")
    people = ch.findall("podcast:person", NS)
    hosts = sorted(h.name for h in station.config.hosts)
    ok(sorted(p.text or "" for p in people) == hosts and all(p.get("role") == "host" for p in people),
       f"podcast:person names the hosts, and only them ({len(people)})")
    funding = station.config.podcast.funding_url
    if funding:
        f = ch.find("podcast:funding", NS)
        ok(f is not None and f.get("url") == funding and bool((f.text or "").strip()),
           f"podcast:funding links the support page ({funding})")
    items = ch.findall("item")
    raw = feed_path.read_text(encoding="utf-8")
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
            if it is items[0]:  # the newest episode: measured as listeners hear it (a decode of the whole file)
                ok(*loudness_verdict(station, path, t))
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
        ok(not repeats_show(t, station.config.show.title), f"{t}: the episode title does not repeat the show's title")
        ok(bool((it.findtext("itunes:title", namespaces=NS) or "").strip()), f"{t}: itunes:title")
        desc = it.findtext("description") or ""
        size = len(desc.encode("utf-8"))
        ok(0 < size <= DESCRIPTION_BYTES, f"{t}: description is {size} bytes (at most {DESCRIPTION_BYTES})")
        tags = html_tags(desc)
        ok(tags <= APPLE_TAGS, f"{t}: description uses only Apple's tags ({', '.join(sorted(tags)) or 'none'})")
        ok(f"<![CDATA[{desc[:40]}" in raw, f"{t}: description is in CDATA")
        ok(bool((it.findtext("content:encoded", namespaces=NS) or "").strip()), f"{t}: full notes in content:encoded")
        img = it.find("itunes:image", NS)
        ip = local(img.get("href") if img is not None else None)
        ok(ip is not None and ip.is_file(), f"{t}: episode itunes:image resolves")
        rec_path = lp / "episode.json" if lp is not None else None
        rec = json.loads(rec_path.read_text(encoding="utf-8")) if rec_path and rec_path.is_file() else None
        ch_el = it.find("podcast:chapters", NS)
        cp = local(ch_el.get("url")) if ch_el is not None else None
        if cp is not None and cp.is_file() and rec is not None:
            problem = chapter_gap(json.loads(cp.read_text(encoding="utf-8")).get("chapters", []), rec["duration_s"])
            ok(problem is None, f"{t}: chapters cover the whole file from 0" + (f" ({problem})" if problem else ""))
        tr = it.find("podcast:transcript", NS)
        tp = local(tr.get("url")) if tr is not None else None
        if tp is not None and tp.is_file():
            problem = cue_problem(tp.read_text(encoding="utf-8"))
            ok(problem is None, f"{t}: transcript cues have at most 2 lines of 65 characters"
               + (f" ({problem})" if problem else ""))
            ok(tr.get("rel") != "captions", f"{t}: transcript does not claim rel=captions (times are approximate)")
    _check_archive(root, ch, items, local, ok)
    for page in sorted(root.rglob("*.html")):
        problem = html_problem(page.read_text(encoding="utf-8"))
        ok(problem is None, f"{page.relative_to(root)} is well-formed HTML" + (f" ({problem})" if problem else ""))
    return results


def loudness_verdict(station: Station, path: Path, title: str) -> tuple[bool, str]:
    """The published MP3's loudness and true peak by ffmpeg's EBU R128 meter, in the file's own channel layout
    (a mono file as one channel: -19 LUFS sounds as -16 on two speakers), against the station's podcast target."""
    import subprocess
    from radio import media
    L, want = station.config.loudness, station.config.podcast.channels
    probe = subprocess.run([media.need("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=channels", "-of", "csv=p=0", str(path)], capture_output=True, text=True, errors="replace")
    channels = {"1": "mono", "2": "stereo"}.get(probe.stdout.strip(), f"{probe.stdout.strip() or '?'} channels")
    r = subprocess.run([media.need("ffmpeg"), "-nostdin", "-nostats", "-i", str(path), "-map", "0:a:0", "-af",
                        "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True, errors="replace")
    tail = r.stderr[r.stderr.rfind("Summary:"):]
    i, tp = re.search(r"I:\s+(-?[\d.]+) LUFS", tail), re.search(r"Peak:\s+(-?[\d.]+) dBFS", tail)
    if channels != want or i is None or tp is None:
        return False, (f"{title}: the MP3 is {channels}, [podcast] channels is {want}" if channels != want else
                       f"{title}: the MP3's loudness cannot be measured")
    got, peak = float(i.group(1)), float(tp.group(1))
    heard = f" ({got + 3.0:.1f} heard on two speakers)" if channels == "mono" else ""
    return (abs(got - L.podcast_lufs) <= L.podcast_tolerance + 0.1 and peak <= L.podcast_true_peak + 0.1,
            f"{title}: {channels} MP3 at {got:g} LUFS{heard}, true peak {peak:g} dBTP (target {L.podcast_lufs:g} "
            f"±{L.podcast_tolerance:g}, at most {L.podcast_true_peak:g})")


def _check_archive(root: Path, ch, items: list, local, ok) -> None:
    """The RFC 5005 archive pages the feed links (rel=next): each resolves, and no episode is on two pages."""
    guids = [i.findtext("guid") for i in items]
    seen: set[Path] = set()
    page = ch
    while True:
        nxt = [a.get("href") for a in page.findall("atom:link", NS) if a.get("rel") == "next"]
        if not nxt:
            break
        path = local(nxt[0])
        if not ok(path is not None and path.is_file() and path not in seen, f"archive page resolves ({nxt[0]})"):
            return
        seen.add(path)
        try:
            page = etree.parse(str(path)).find("channel")
        except etree.XMLSyntaxError as e:
            ok(False, f"{path.relative_to(root)} is well-formed XML ({e})")
            return
        if not ok(page is not None, f"{path.relative_to(root)}: RSS 2.0 with a channel"):
            return
        for it in page.findall("item"):
            enc = it.find("enclosure")
            p = local(enc.get("url") if enc is not None else None)
            ok(p is not None and p.is_file(), f"{path.relative_to(root)}: {it.findtext('title')}: enclosure resolves")
        guids += [i.findtext("guid") for i in page.findall("item")]
    if seen:
        ok(len(guids) == len(set(guids)), f"every episode is on one page of the feed and its archive ({len(guids)})")


def chapter_gap(chapters: list[dict], duration_s: float) -> str | None:
    """Why chapters do not cover 0 to the end without gaps, or None."""
    if not chapters:
        return "no chapters"
    if chapters[0].get("startTime") != 0:
        return f"the first starts at {chapters[0].get('startTime')}"
    for a, b in zip(chapters, chapters[1:]):
        if a.get("endTime") != b.get("startTime"):
            return f"a gap or overlap at {a.get('endTime')}-{b.get('startTime')}"
    end = chapters[-1].get("endTime")
    if end is None or abs(end - duration_s) > 0.05:
        return f"the last ends at {end}, the file at {duration_s}"
    return None


def cue_problem(vtt: str) -> str | None:
    blocks = [b for b in vtt.replace("\r\n", "\n").split("\n\n") if "-->" in b]
    for b in blocks:
        lines = b.split("\n")
        text = lines[[i for i, ln in enumerate(lines) if "-->" in ln][0] + 1:]
        plain = [re.sub(r"<[^>]+>", "", ln).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                 for ln in text]
        if len(plain) > 2:
            return f"{len(plain)} lines in a cue: {plain[0][:30]}…"
        long = [ln for ln in plain if len(ln) > 65]
        if long:
            return f"{len(long[0])} characters: {long[0][:30]}…"
    return None


def email_date(text: str | None) -> bool:
    try:
        return text is not None and email.utils.parsedate_to_datetime(text) is not None
    except (TypeError, ValueError):
        return False

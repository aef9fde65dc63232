from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.audio_util import WEEK, record_tones, tiny_station
from tests.canary import assert_clean, plant
from tests.browser import until
from tests.conftest import REPO, runner_for
from tests.test_tags import make_cover, publish_tones

ARTIFACTS = REPO / "test-artifacts"


def _mp3(root: Path) -> Path:
    """The week's MP3 as published: its name carries a hash of its content."""
    (path,) = (root / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")
    return path

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def published_station(root: Path, port: int, *, title: str | None = None, canaries: bool = False) -> tuple[Path, list]:
    tiny_station(root)
    cfg = root / "radio.toml"
    text = cfg.read_text().replace('base_url = "https://example.org/podcast/"', f'base_url = "http://127.0.0.1:{port}/"')
    if title:
        text = text.replace('title = "st"', f"title = {json.dumps(title)}")
    text = text.replace("\n[loudness]", 'funding_url = "https://example.org/support"\ntxt = { verify = "fictional-code-42" }\n'
                        "\n[loudness]")
    cfg.write_text(text)
    found = plant(root) if canaries else []
    publish_tones(root)
    return root, found


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    port = free_port()
    root, canaries = published_station(tmp_path_factory.mktemp("pub") / "st", port, canaries=True)
    return root, port, canaries


def feed_of(root: Path) -> Path:
    return root / "feeds" / "st" / "feed.xml"


class Serve:
    """`radio serve` in a subprocess: the real command a producer runs."""

    def __init__(self, root: Path, port: int):
        self.proc = subprocess.Popen([sys.executable, "-m", "radio", "--station", str(root), "serve", "--port",
                                      str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url, timeout=1)
                return
            except urllib.error.HTTPError:
                return  # it answers (feeds/ itself has no page: 404, never a listing)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(self.proc.stderr.read())

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)


@pytest.fixture(scope="module")
def served(site):
    root, port, _ = site
    s = Serve(root, port)
    yield root, s.url
    s.close()


def test_check_passes(site):
    root, _, _ = site
    r = runner_for(root)("check")
    assert r.exit_code == 0, r.out
    assert r.out.splitlines()[-1].endswith(" passed, 0 failed")
    assert not [line for line in r.out.splitlines()[:-1] if not line.startswith("ok   ")]


def test_feedparser_reads_everything(site):
    import feedparser
    root, port, _ = site
    d = feedparser.parse(str(feed_of(root)))
    assert not d.bozo, d.bozo_exception
    assert d.feed.title == "st" and d.feed.language == "en"
    assert d.feed.podcast_guid  # the podcast: namespace comes through as its prefix
    (e,) = d.entries
    (media,) = (root / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")  # named for its content
    assert e.enclosures[0].href == f"http://127.0.0.1:{port}/st/media/{media.name}"
    assert e.enclosures[0].length == str(media.stat().st_size)
    assert e.enclosures[0].type == "audio/mpeg"
    from radio.station import Station
    st_ = Station.open(root)
    assert e.id == st_.episode_guid(WEEK) and e.guidislink is False
    assert e.itunes_duration == str(round(json.loads((root / "episodes" / WEEK / "out" / "as-run.json").read_text())
                                          ["podcast"]["seconds"]))
    assert e.published == "Fri, 20 Nov 2026 18:00:00 +0000"
    assert e.podcast_transcript["url"].endswith("/st/media/2026-W47.vtt")
    # feedparser does not know true/false for itunes:explicit (#524): the XML is checked directly
    xml = feed_of(root).read_text()
    assert xml.count("<itunes:explicit>false</itunes:explicit>") == 2 and "<itunes:explicit>no<" not in xml


def test_podcastparser_reads_everything(site):
    import podcastparser
    podcastparser.Namespace.NAMESPACES["https://podcastindex.org/namespace/1.0"] = "podcast"
    root, port, _ = site
    with open(feed_of(root), "rb") as f:
        p = podcastparser.parse(f"http://127.0.0.1:{port}/st/feed.xml", f)
    assert p["title"] == "st" and p["type"] == "episodic"
    (e,) = p["episodes"]
    (media,) = (root / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")
    assert e["enclosures"][0]["file_size"] == media.stat().st_size
    assert e["explicit"] is False and e["number"] == 1
    assert e["transcript_url"].endswith("/st/media/2026-W47.vtt")
    assert e["chapters_json_url"].endswith("/st/media/2026-W47.chapters.json")
    assert e["total_time"] == round(json.loads((root / "episodes" / WEEK / "out" / "as-run.json").read_text())
                                    ["podcast"]["seconds"])


def test_transcript_and_chapters(site):
    root, _, _ = site
    media = root / "feeds" / "st" / "media"
    vtt = (media / "2026-W47.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\nNOTE Cue times are exact at the start and end of each item")
    # one host: named on the first cue only (a label only where the speaker changes)
    assert vtt.count("<v The Host>") == 1 and "<v The Host>This is st" in vtt
    as_run = json.loads((root / "episodes" / WEEK / "out" / "as-run.json").read_text())
    items = [i for i in as_run["podcast"]["items"] if i["type"] == "read"]
    ch = json.loads((media / "2026-W47.chapters.json").read_text())
    assert ch["version"] == "1.2.0"
    # chapters cover the whole file: the opening theme joins the first, each runs to the next, the last to the end
    total = as_run["podcast"]["samples"] * 1000 // as_run["rate"] / 1000
    starts = [0.0] + [i["start_ms"] / 1000 for i in items[1:]]
    assert [(c["startTime"], c["endTime"]) for c in ch["chapters"]] == list(zip(starts, starts[1:] + [total]))
    assert items[0]["start_s"] > 0  # there was a theme before the first item
    # the ID3 chapters are the same
    from mutagen.id3 import ID3
    tags = ID3(root / "episodes" / WEEK / "out" / "podcast.mp3")
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [(c.start_time / 1000, c.end_time / 1000) for c in chaps] == \
        [(c["startTime"], c["endTime"]) for c in ch["chapters"]]


def test_no_private_data_anywhere_published(site):
    root, _, canaries = site
    assert_clean([root / "feeds", root / "episodes" / WEEK / "out"], canaries, min_files=10)


def test_serve_answers_ranges_and_head(served):
    root, url = served
    (path,) = (root / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")
    media = url + f"st/media/{path.name}"
    data = path.read_bytes()
    req = urllib.request.Request(media, headers={"Range": "bytes=100-199"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 206 and r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert r.read() == data[100:200]
    with urllib.request.urlopen(urllib.request.Request(media, headers={"Range": "bytes=-10"})) as r:
        assert r.read() == data[-10:]
    with urllib.request.urlopen(urllib.request.Request(media, method="HEAD")) as r:
        assert r.headers["Content-Length"] == str(len(data)) and r.headers["Content-Type"] == "audio/mpeg"
        assert r.headers["Accept-Ranges"] == "bytes"
    try:
        urllib.request.urlopen(urllib.request.Request(media, headers={"Range": f"bytes={len(data) + 5}-"}))
        raise AssertionError("expected 416")
    except urllib.error.HTTPError as e:
        assert e.code == 416
    with urllib.request.urlopen(url + "st/media/2026-W47.vtt") as r:
        assert r.headers["Content-Type"] == "text/vtt; charset=utf-8"


@pytest.mark.skipif(not Path("/usr/bin/gpo").exists() and not os.environ.get("CI"),
                    reason="gPodder is installed by scripts/test (in CI a missing one fails)")
def test_gpodder_subscribes_and_downloads(served, tmp_path):
    root, url = served
    env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"), "GPODDER_DOWNLOAD_DIR": str(tmp_path / "dl")}
    env.pop("PYTHONPATH", None)
    for cmd in (["subscribe", f"{url}st/feed.xml"], ["update"], ["download"]):
        subprocess.run(["/usr/bin/gpo", *cmd], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    (media,) = (root / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")
    got = tmp_path / "dl" / "st" / media.name
    assert got.is_file(), list((tmp_path / "dl").rglob("*"))
    assert got.read_bytes() == media.read_bytes()
    db = sqlite3.connect(tmp_path / "home" / "Database")
    assert db.execute("select state, file_size from episode").fetchall() == [(1, got.stat().st_size)]


def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
              "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--window-size=480,1200"):
        opts.add_argument(a)
    return webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))


@pytest.mark.skipif(not Path("/usr/bin/chromedriver").exists() and not os.environ.get("CI"),
                    reason="chromium is installed by scripts/test (in CI a missing one fails)")
def test_episode_page_plays_and_seeks_by_chapter(served):
    from selenium.webdriver.common.by import By
    root, url = served
    driver = chrome()
    try:
        driver.get(url + f"st/episodes/{WEEK}/")
        assert driver.title == "20 November: First fictional story · st"
        buttons = driver.find_elements(By.CSS_SELECTOR, "ol.chapters button")
        ch = json.loads((root / "feeds" / "st" / "media" / "2026-W47.chapters.json").read_text())["chapters"]
        assert [b.text.split("\n")[-1] for b in buttons] == [c["title"] for c in ch]
        target = ch[2]
        buttons[2].click()
        deadline = time.time() + 10
        t = 0.0
        while time.time() < deadline:
            t = driver.execute_script("return document.getElementById('player').currentTime")
            if t >= target["startTime"]:
                break
            time.sleep(0.1)
        assert target["startTime"] <= t < target["endTime"], (t, target)
        paused = driver.execute_script("return document.getElementById('player').paused")
        assert paused is False
        # a timeupdate or two: the current cue is highlighted
        until(driver, "return document.querySelectorAll('ol.transcript button[aria-current=\"true\"]').length == 1")
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "episode-page.png"))
        driver.get(url + "st/")
        assert driver.find_element(By.ID, "feed-url").get_attribute("value") == f"{url}st/feed.xml"
    finally:
        driver.quit()


def test_republish_changes_no_byte(site):
    root, _, _ = site
    tree = root / "feeds" / "st"
    before = {p: p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}
    assert runner_for(root)("publish", WEEK).exit_code == 0
    after = {p: p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}
    assert after == before
    assert not list((root / "feeds").glob(".st.staging-*"))


def test_feed_holds_every_week_newest_first(tmp_path):
    port = free_port()
    root, _ = published_station(tmp_path / "st", port)
    # a second week: copy the reports, plan, record, build, publish
    w2 = "2026-W48"
    shutil.copytree(root / "episodes" / WEEK / "reports", root / "episodes" / w2 / "reports")
    shutil.copytree(root / "episodes" / WEEK / "segments", root / "episodes" / w2 / "segments")
    run = runner_for(root)
    for step in (("plan", w2), ("assemble", w2), ("publish", w2)):
        assert run(*step).exit_code == 0, step
    import feedparser
    d = feedparser.parse(str(feed_of(root)))
    assert [e.title for e in d.entries] == ["27 November: First fictional story", "20 November: First fictional story"]
    from radio.station import Station
    st_ = Station.open(root)
    assert [e.id for e in d.entries] == [st_.episode_guid(w2), st_.episode_guid(WEEK)]
    assert [e.itunes_episode for e in d.entries] == ["2", "1"]
    # republishing the first week keeps its number, GUID and date
    assert run("publish", WEEK).exit_code == 0
    d2 = feedparser.parse(str(feed_of(root)))
    assert [(e.id, e.itunes_episode, e.published) for e in d2.entries] == \
        [(e.id, e.itunes_episode, e.published) for e in d.entries]


def test_escaping_everywhere(tmp_path):
    port = free_port()
    nasty = 'R&D <script>alert("x")</script> ]]> «Профсоюз» ✊'
    root = tmp_path / "st"
    tiny_station(root)
    rep = root / "episodes" / WEEK / "reports" / "first-story.md"
    rep.write_text(rep.read_text().replace("title: First fictional story", f"title: {json.dumps(nasty)}")
                   .replace("Workers held a meeting today.", f"Workers said: {nasty}."))
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace('base_url = "https://example.org/podcast/"',
                                           f'base_url = "http://127.0.0.1:{port}/"'))
    from radio.station import Station
    from radio.rundown.plan import plan
    plan(Station.open(root), WEEK)
    publish_tones(root)
    tree = root / "feeds" / "st"
    import feedparser
    from lxml import etree
    d = feedparser.parse(str(tree / "feed.xml"))
    assert not d.bozo
    import html
    assert "&lt;script&gt;" in d.entries[0].content[0].value  # HTML show notes: the text inside is escaped
    assert nasty in html.unescape(d.entries[0].content[0].value)
    desc = etree.parse(str(tree / "feed.xml")).findtext("channel/item/description")  # Apple's short notes, CDATA
    assert "&lt;script&gt;" in desc and "<script>" not in desc and nasty in html.unescape(desc)
    page = (tree / "episodes" / WEEK / "index.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "«Профсоюз» ✊" in page
    vtt = (tree / "media" / "2026-W47.vtt").read_text()
    assert "R&amp;D &lt;script&gt;alert(\"x\")&lt;/script&gt; ]]&gt; «Профсоюз» ✊" in vtt
    chapters = json.loads((tree / "media" / "2026-W47.chapters.json").read_text())
    assert nasty in [c["title"] for c in chapters["chapters"]]
    assert runner_for(root)("check").exit_code == 0


def test_draft_needs_allow_draft_and_untagged_is_refused(tmp_path):
    port = free_port()
    root = tiny_station(tmp_path / "st")
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    (root / "episodes" / WEEK / "segments" / "closing.wav").unlink()
    run = runner_for(root)
    assert run("assemble", WEEK, "--draft").exit_code == 0
    from mutagen.id3 import ID3
    mp3 = root / "episodes" / WEEK / "out" / "podcast.mp3"
    tagged = mp3.read_bytes()
    ID3(mp3).delete(mp3)  # a master whose tags were stripped (by an editor, or an older radio)
    r = run("publish", WEEK)
    assert r.err == (f"error: {mp3}: the podcast master is not tagged (run `radio assemble {WEEK}` again)\n")
    mp3.write_bytes(tagged)
    r = run("publish", WEEK)
    assert r.exit_code == 1
    assert r.err == (f"error: {WEEK} is a draft build: synthesized voices stand in for missing recordings (record "
                     "them and build again, or pass --draft to publish the draft)\n")
    assert not (root / "feeds" / "st" / "feed.xml").exists()
    assert run("publish", WEEK, "--draft").exit_code == 0
    page = (root / "feeds" / "st" / "episodes" / WEEK / "index.html").read_text()
    assert "This is a draft" in page
    # the feed item says so too, in its title and its description
    from lxml import etree
    item = etree.parse(str(root / "feeds" / "st" / "feed.xml")).find("channel/item")
    assert item.findtext("title") == "Draft: 20 November: First fictional story"
    assert item.findtext("description").startswith("<p>This is a draft: synthesized voices stand in")
    del port


def test_check_fails_on_a_broken_tree(site, tmp_path):
    root, _, _ = site
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (media,) = (copy / "feeds" / "st" / "media").glob("st-2026-W47-*.mp3")
    media.write_bytes(media.read_bytes()[:-10])
    (copy / "feeds" / "st" / "media" / "2026-W47.vtt").unlink()
    r = runner_for(copy)("check")
    assert r.exit_code == 1
    fails = [line for line in r.out.splitlines() if line.startswith("FAIL")]
    assert any("enclosure length" in f and f"({media.stat().st_size} bytes)" in f for f in fails)
    assert any("podcast:transcript (text/vtt) resolves" in f for f in fails)
    assert r.out.splitlines()[-1].endswith(f"{len(fails)} failed")


def test_lock_refuses_a_second_publish(site):
    import fcntl
    root, _, _ = site
    lock = root / "feeds" / ".st.lock"
    with open(lock, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        r = runner_for(root)("publish", WEEK)
    assert r.exit_code == 1
    assert r.err == f"error: {lock}: another publish of st is running (wait for it to finish, then run this again)\n"


def test_demo_week_golden_feed_and_pages(tmp_path, update_golden):
    """The demo week with its history (a correction and a retraction after broadcast), built as a draft under a
    fixed SOURCE_DATE_EPOCH, with its bulletin and press items: the whole published tree against a golden tree,
    every file named (an extra or a missing one fails) and every text file byte for byte: feed, pages, episode
    data, chapters, transcript, corrections, threads, bulletin archive, press, _headers.
    (Drafts are espeak-ng speech: a new espeak-ng changes their length, and so the enclosure length; update the
    golden tree on purpose then, with pytest --update-golden.)"""
    from tests.conftest import copy_station, golden_tree
    root = copy_station(tmp_path / "demo")
    shutil.copytree(REPO / "episodes" / WEEK / "history", root / "episodes" / WEEK / "history")
    run = runner_for(root)
    for step in (("build", WEEK, "--draft"), ("bulletin", WEEK), ("press", WEEK)):
        r = run(*step)
        assert r.exit_code == 0, r.err
    golden_tree(Path(__file__).parent / "golden" / "site", root / "feeds" / "labour-week", update_golden)
    assert run("check").exit_code == 0


# --- the listener's side: directory rules, Podcasting 2.0, the preview server, the pages --------------------

JS = Path(__file__).parent / "js"


def partytime(feed: Path) -> dict:
    """The feed as podcast-partytime (the parser behind Podverse and Podcast Index tooling) reads it."""
    node = shutil.which("node")
    if not node or not (JS / "node_modules" / "podcast-partytime").is_dir():
        if os.environ.get("CI"):
            raise AssertionError("node or tests/js/node_modules missing: scripts/test installs them")
        pytest.skip("node packages are installed by scripts/test")
    script = ("const {parseFeed} = require('podcast-partytime');"
              "const xml = require('fs').readFileSync(process.argv[1], 'utf8');"
              "process.stdout.write(JSON.stringify(parseFeed(xml)));")
    out = subprocess.run([node, "-e", script, str(feed)], cwd=JS, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "NODE_PATH": str(JS / "node_modules")})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_partytime_reads_every_podcasting_field(site):
    root, port, _ = site
    from radio.station import Station
    st_ = Station.open(root)
    f = partytime(feed_of(root))
    base = f"http://127.0.0.1:{port}/st/"
    assert f["guid"] == str(st_.feed_guid) == str(st_.stored_feed_guid())
    assert f["locked"] is True and f["podcastOwner"] == st_.config.station.email
    assert f["podcastFunding"] == [{"url": "https://example.org/support", "message": "Support the station"}]
    assert [(p["name"], p["role"]) for p in f["podcastPeople"]] == [("The Host", "Host")]
    assert f["medium"] == "podcast"
    assert f["podcastTxt"] == [{"purpose": "verify", "value": "fictional-code-42"}]
    (e,) = f["items"]
    assert e["podcastTranscripts"] == [{"url": base + "media/2026-W47.vtt", "type": "text/vtt", "language": "en"}]
    assert e["podcastChapters"] == {"url": base + "media/2026-W47.chapters.json", "type": "application/json+chapters"}
    assert e["itunesImage"] == base + "cover.png"
    assert [(p["name"], p["role"]) for p in e["podcastPeople"]] == [("The Host", "Host")]
    # both reports are regional: the region they share, never a town
    assert e["podcastLocation"]["name"] == "Test Region"
    assert e["title"] == "20 November: First fictional story"
    assert e["enclosure"]["url"] == base + "media/" + _mp3(root).name


def test_feed_meets_apples_rules(site):
    from lxml import etree
    from radio.publish.feed import APPLE_TAGS, html_tags
    root, _, _ = site
    raw = feed_of(root).read_text()
    doc = etree.parse(str(feed_of(root)))
    ns = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "content": "http://purl.org/rss/1.0/modules/content/"}
    (item,) = doc.findall("channel/item")
    desc = item.findtext("description")
    assert "<description><![CDATA[<p>" in raw
    assert len(desc.encode()) <= 4000 and html_tags(desc) <= APPLE_TAGS
    assert '<a href="http://127.0.0.1:' in desc and "/st/episodes/2026-W47/" in desc
    notes = item.findtext("content:encoded", namespaces=ns)
    assert "<h3>First fictional story</h3>" in notes and "<content:encoded><![CDATA[" in raw
    assert item.findtext("itunes:title", namespaces=ns) == "First fictional story"
    assert "st" not in item.findtext("title").split()


def test_description_is_cut_to_4000_bytes_with_apples_tags_only():
    from radio.publish.feed import APPLE_TAGS, description, html_tags
    rec = {"draft": True, "summary": "Забастовка " * 600, "appeals": ["Send <b>help</b> & money " * 10] * 30}
    text = description(rec, "https://example.org/st/episodes/2026-W47/", ("https://example.org/s", "Support"))
    assert len(text.encode()) <= 4000 and html_tags(text) <= APPLE_TAGS
    assert text.startswith("<p>This is a draft") and text.endswith('<p><a href="https://example.org/s">Support</a></p>')
    assert "&lt;b&gt;" not in text or "<b>" not in text


def test_cues_keep_to_two_lines_of_65_and_never_split_an_abbreviation():
    from radio.publish.transcript import cues, vtt
    from radio.rundown.model import Entry, Item
    long = ("More than four hundred miners at the Kestrel Ridge No. 2 pit have now been on strike for eight days, "
            "and the assembly meets every morning at the pit gate to elect a committee of seven. Mr. Reyes agreed.")
    entries = {i: Entry(Item(id=i, type="read", host=h), None, long, i) for i, h in (("a", "x"), ("b", "x"), ("c", "y"))}
    items = [{"id": i, "start_ms": n * 20000, "end_ms": n * 20000 + 19000} for n, i in enumerate("abc")]
    out = cues(items, entries, {"x": "Anna", "y": "Tomas"})
    assert all(len(c["lines"]) <= 2 and all(len(ln) <= 65 for ln in c["lines"]) for c in out)
    assert not any(c["text"].endswith(("No.", "Mr.")) for c in out)
    assert any("No. 2" in ln for c in out for ln in c["lines"]) and any("Mr. Reyes" in c["text"] for c in out)
    text = vtt(out)
    assert text.count("<v Anna>") == 1 and text.count("<v Tomas>") == 1  # only where the speaker changes
    assert out[0]["start_ms"] == 0 and out[-1]["end_ms"] == 59000


def test_guid_is_kept_when_base_url_changes_and_check_warns(site, tmp_path):
    root, port, _ = site
    copy = tmp_path / "moved"
    shutil.copytree(root, copy)
    from radio.station import Station
    before = Station.open(copy).feed_guid
    assert (copy / "podcast-guids.toml").read_text().endswith(f'st = "{before}"\n')
    cfg = copy / "radio.toml"
    cfg.write_text(cfg.read_text().replace(f"http://127.0.0.1:{port}/", "https://elsewhere.example.org/pod/"))
    run = runner_for(copy)
    assert run("publish", WEEK).exit_code == 0
    assert f"<podcast:guid>{before}</podcast:guid>" in feed_of(copy).read_text()
    r = run("check")
    assert r.exit_code == 0, r.out
    warns = [ln for ln in r.out.splitlines() if ln.startswith("warn")]
    assert len(warns) == 1 and "base_url changed since the first publish" in warns[0]
    assert r.out.splitlines()[-1].endswith("0 failed, 1 warned")


def test_hosting_headers_are_written(site):
    root, port, _ = site
    tree = root / "feeds" / "st"
    headers = (tree / "_headers").read_text()
    assert "/st/media/2026-W47.chapters.json\n  Content-Type: application/json+chapters\n" in headers
    assert "/st/media/*\n  Access-Control-Allow-Origin: *\n" in headers
    nginx = (tree / "nginx-headers.conf").read_text()
    assert "location /st/ {" in nginx and "default_type application/json+chapters;" in nginx
    assert 'add_header Access-Control-Allow-Origin "*" always;' in nginx


def _get(url: str, headers: dict | None = None, method: str = "GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}, method=method), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_serve_rewrites_addresses_to_the_port_it_answers_on(site, tmp_path):
    root, port, _ = site
    other = free_port()
    s = Serve(root, other)
    try:
        status, headers, body = _get(f"{s.url}st/feed.xml")
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
        import feedparser
        d = feedparser.parse(body)
        enclosure = d.entries[0].enclosures[0].href
        assert enclosure == f"http://127.0.0.1:{other}/st/media/{_mp3(root).name}"
        status, _, audio = _get(enclosure)
        assert status == 200 and audio == _mp3(root).read_bytes()
        _, _, page = _get(f"{s.url}st/episodes/{WEEK}/")
        assert f"127.0.0.1:{other}" in page.decode() and f"127.0.0.1:{port}" not in page.decode()
        assert f"pktc://subscribe/127.0.0.1:{other}/st/feed.xml" in page.decode()
        # the files on disk still name the published address
        assert f"http://127.0.0.1:{port}/st/media/" in feed_of(root).read_text()
        status, headers, _ = _get(f"{s.url}st/media/2026-W47.chapters.json")
        assert headers["Content-Type"] == "application/json+chapters"
    finally:
        s.close()


def test_serve_refuses_what_is_not_published(served, tmp_path):
    root, url = served
    feeds = root / "feeds"
    (feeds / "st" / "passwd").symlink_to("/etc/passwd")
    (feeds / "st" / "up").symlink_to(root / "episodes")
    (feeds / "st" / ".secret").write_text("x")
    try:
        for path in ("st/passwd", "st/up/2026-W47/rundown.yaml", "st/.secret", ".st.lock", "st/media/",
                     "st/%2e%2e/%2e%2e/radio.toml", "st/../radio.toml"):
            status, _, body = _get(url + path)
            assert status == 404, (path, status)
            assert b"root:" not in body
        status, _, _ = _get(url + "st/feed.xml%00.html")
        assert status in (400, 404)
    finally:
        for name in ("passwd", "up", ".secret"):
            (feeds / "st" / name).unlink()


def test_serve_ranges_edge_cases_and_cors(served):
    root, url = served
    media = url + f"st/media/{_mp3(root).name}"
    size = _mp3(root).stat().st_size
    status, headers, body = _get(media, {"Range": "bytes=100-50"})  # malformed: ignored, as RFC 9110 says
    assert status == 200 and len(body) == size
    status, headers, _ = _get(media, {"Range": "bytes=" + "9" * 5000 + "-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    status, _, body = _get(media, {"Range": "bytes=0-" + "9" * 5000})
    assert status == 206 and len(body) == size
    status, _, body = _get(media, {"Range": "bytes=0-1,5-6"})
    assert status == 200 and len(body) == size
    status, headers, _ = _get(media, {"Origin": "https://player.example"}, method="OPTIONS")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*" and "Range" in headers[
        "Access-Control-Allow-Headers"]
    for path in ("st/feed.xml", "st/media/2026-W47.vtt", "st/media/2026-W47.chapters.json"):
        assert _get(url + path)[1]["Access-Control-Allow-Origin"] == "*"


def test_serve_survives_stalled_and_vanishing_clients(site):
    import threading
    from radio.publish.serve import server
    root, site_port, _ = site
    httpd = server(root / "feeds", "127.0.0.1", 0, published=f"http://127.0.0.1:{site_port}/", workers=4,
                   head_timeout=1.0)
    port = httpd.server_address[1]
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    base = threading.active_count()
    try:
        stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(120)]
        time.sleep(0.5)  # not a wait for something to happen: the time in which a thread per client would appear
        assert threading.active_count() <= base + 4  # a bounded pool, not a thread each
        gone = socket.create_connection(("127.0.0.1", port))
        gone.sendall(f"GET /st/media/{_mp3(root).name} HTTP/1.0\r\n\r\n".encode())
        gone.close()  # a client that disconnects mid-download
        for s in stalled:
            s.close()
        # the stalled ones time out (head_timeout 1 s), then the pool serves again; until the gate has seen them
        # go, a client over its share of connections is turned away at once, so ask until it is served
        from tests.hosting_util import wait_for

        def served():
            try:
                return _get(f"http://127.0.0.1:{port}/st/feed.xml")
            except (ConnectionError, urllib.error.URLError):
                return None
        status, _, body = wait_for(served, "the pool serving again", bound=30)
        assert status == 200 and f"127.0.0.1:{port}" in body.decode()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_serve_busy_port_is_one_line(site):
    root, _, _ = site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = runner_for(root)("serve", "--port", str(port))
    assert r.exit_code == 1
    assert r.err == (f"error: port {port} on 127.0.0.1 is already in use (stop what is using it, or pick another "
                     f"port: radio serve --port {port + 1})\n")


def _axe(driver) -> list[dict]:
    """Violations of impact serious or critical that axe-core finds on the page as it is now."""
    axe = JS / "node_modules" / "axe-core" / "axe.min.js"
    driver.execute_script(axe.read_text())
    driver.set_script_timeout(60)
    violations = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(function (r) { done(r.violations); },"
        " function (e) { done([{id: 'axe failed', impact: 'critical', help: String(e), nodes: []}]); });")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in violations if v["impact"] in ("serious", "critical")]


def _size(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                 "deviceScaleFactor": 1, "mobile": width < 600})


@pytest.mark.skipif(not Path("/usr/bin/chromedriver").exists() and not os.environ.get("CI"),
                    reason="chromium is installed by scripts/test (in CI a missing one fails)")
@pytest.mark.parametrize("width", [1280, 390])
def test_episode_page_in_chromium(served, width):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    if not (JS / "node_modules" / "axe-core").is_dir() and not os.environ.get("CI"):
        pytest.skip("axe-core is installed by scripts/test")
    root, url = served
    page = url + f"st/episodes/{WEEK}/"
    driver = chrome()
    try:
        _size(driver, width, 800)
        driver.get(page + "#t=0:03")
        # a timestamp link opens and seeks
        t = until(driver, "var p = document.getElementById('player');"
                          "return p.currentTime >= 3 && !p.paused ? p.currentTime : 0")
        assert 3 <= t < 6
        # the chapter playing is marked, and only that one
        current = until(driver, "return document.querySelectorAll('ol.chapters button[aria-current=true]')")
        assert len(current) == 1
        start, end = float(current[0].get_attribute("data-start")), float(current[0].get_attribute("data-end"))
        assert start <= driver.execute_script("return document.getElementById('player').currentTime") < end + 0.5
        assert "Now: " in driver.find_element(By.ID, "now-chapter").text
        # the duration shown is the player's
        shown = driver.find_element(By.ID, "duration").text
        secs = int(driver.execute_script("return document.getElementById('player').duration"))
        assert shown == f"{secs // 60}:{secs % 60:02d}"
        # the player stays on screen after scrolling to the end
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        until(driver, "return window.scrollY > 100")
        top, bottom = driver.execute_script("var r = document.getElementById('player').getBoundingClientRect();"
                                            "return [r.top, r.bottom]")
        assert 0 <= top and bottom <= 800
        # no horizontal scroll
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        # the transcript follows playback; scrolling it away stops that, and a button resumes it
        driver.execute_script("document.getElementById('cues').style.maxHeight = '3.5rem'")
        driver.execute_script("var p = document.getElementById('player'), c = document.querySelectorAll("
                              "'ol.transcript button'); p.currentTime = parseFloat(c[c.length - 1].dataset.start)"
                              " + 0.05; p.play()")
        until(driver, "return document.getElementById('cues').scrollTop > 0")
        driver.execute_script("document.getElementById('player').pause()")
        visible = driver.execute_script(
            "var b = document.getElementById('cues'), c = b.querySelector('button[aria-current=true]');"
            "var r = c.getBoundingClientRect(), q = b.getBoundingClientRect(); return r.bottom > q.top && r.top < q.bottom")
        assert visible
        assert driver.find_element(By.ID, "follow").get_attribute("hidden") is not None
        # the listener scrolls the transcript away (again and again until the page takes it for the listener's:
        # its own scrolling is ignored for a moment)
        until(driver, "var b = document.getElementById('cues'); b.scrollTop = b.scrollTop ? 0 : 1;"
                      " return !document.getElementById('follow').hidden")
        driver.execute_script("document.getElementById('follow').scrollIntoView({block: 'center'})")
        driver.find_element(By.ID, "follow").click()
        until(driver, "return document.getElementById('follow').hidden && document.getElementById('cues').scrollTop > 0")
        # keys work anywhere on the page: Space pauses and plays, arrows skip
        body = driver.find_element(By.TAG_NAME, "body")
        driver.execute_script("document.activeElement.blur()")
        paused = driver.execute_script("return document.getElementById('player').paused")
        body.send_keys(Keys.SPACE)
        until(driver, f"return document.getElementById('player').paused === {str(not paused).lower()}")
        driver.execute_script("var p = document.getElementById('player'); p.pause(); p.currentTime = 1")
        body.send_keys(Keys.ARROW_RIGHT)
        assert driver.execute_script("return document.getElementById('player').currentTime") > 5
        # skip link, download link, cover, social cards, subscribe buttons
        assert driver.find_element(By.CSS_SELECTOR, "a.skip").get_attribute("href").endswith("#main")
        assert driver.find_element(By.CSS_SELECTOR, "a.download").get_attribute("download") is not None
        assert driver.find_element(By.CSS_SELECTOR, 'meta[property="og:audio"]').get_attribute("content") \
            .endswith(f"/st/media/{_mp3(root).name}")
        assert driver.find_element(By.CSS_SELECTOR, 'meta[name="twitter:card"]').get_attribute("content") == "summary"
        apps = {a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.app")}
        assert set(apps) == {"Apple Podcasts", "AntennaPod", "Pocket Casts", "Overcast", "gPodder"}
        assert apps["Apple Podcasts"].startswith("podcast://127.0.0.1:")
        assert len(driver.find_elements(By.XPATH, "//h2[normalize-space()='How to help']")) == 1
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"episode-page-{width}.png"))
        driver.execute_script("document.getElementById('player').pause(); window.scrollTo(0, 0)")
        assert _axe(driver) == []
        # the show page: episodes with summary, duration and a play button; the feed is discoverable
        driver.get(url + "st/")
        assert driver.find_element(By.CSS_SELECTOR, 'link[rel="alternate"][type="application/rss+xml"]') \
            .get_attribute("href") == f"{url}st/feed.xml"
        item = driver.find_element(By.CSS_SELECTOR, "ul.episodes li")
        assert "First fictional story" in item.text and f"· {shown}" in item.text
        driver.find_element(By.CSS_SELECTOR, "button.play").click()
        until(driver, "var p = document.getElementById('player'); return !p.paused && p.currentTime > 0")
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        driver.execute_script("document.getElementById('player').pause()")
        assert _axe(driver) == []
    finally:
        driver.quit()


def test_location_only_from_what_every_report_publishes():
    from radio.publish import location
    from radio.reports.model import Report, public

    def rep(place, region, exposure):
        return public(Report.model_validate({
            "id": "r", "title": "Fictional", "received": "2026-11-16", "place": place, "region": region, "kind": "strike",
            "exposure": exposure, "status": "verified"}), "r", public_id="fictional")

    town = rep("Kestrel Ridge", "North Basin", "named")
    assert location([town, rep("Kestrel Ridge", "North Basin", "named")]) == "Kestrel Ridge, North Basin"
    # a report that withholds its town: only the region, never the town
    assert location([town, rep("Kestrel Ridge", "North Basin", "regional")]) == "North Basin"
    assert location([rep("Smalltown", "North Basin", "regional")]) == "North Basin"
    assert location([town, rep("Port Alder", "Eastern Coast", "named")]) is None  # unsure: nothing
    assert location([town, rep("Kestrel Ridge", "North Basin", "none")]) is None
    assert location([]) is None


def test_check_reads_any_bytes_ffmpeg_prints(site, tmp_path):
    """ffmpeg cuts a long tag it prints at a byte count, which can split a letter: a French description of
    accented words once made `radio check` stop with an internal error. Whatever it prints, check reads it."""
    from mutagen.id3 import COMM, ID3
    root, _, _ = site
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    mp3 = _mp3(copy)
    tags = ID3(mp3)
    tags.setall("COMM", [COMM(encoding=3, lang="fra", desc="", text="é" * 1500)])
    tags.save(mp3)
    r = runner_for(copy)("check")
    assert "internal error" not in r.err and r.exit_code in (0, 1), r.err

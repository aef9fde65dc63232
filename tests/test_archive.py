"""Ten years on air, in small: an archive of many weeks publishes only what a week changes, its paged feeds
list every episode exactly once and real clients read them all, and a full rebuild makes the same bytes."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.archive_util import add_weeks, tree, week_after
from tests.audio_util import WEEK, tiny_station
from tests.browser import needs_chromium
from tests.canary import assert_clean
from tests.conftest import runner_for
from tests.test_publish import Serve, free_port, partytime, published_station
from tests.test_tags import publish_tones

FEED_ITEMS = 4
WEEKS = 13  # 2 full archive pages of 4, 5 episodes in the feed; weeks in 2026 and 2027


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    port = free_port()
    root = tmp_path_factory.mktemp("archive") / "st"
    tiny = published_station(root, port, canaries=True)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace("\n[loudness]", f"feed_items = {FEED_ITEMS}\n\n[loudness]")
                   # words only the bulletin's pages and the press items say, for the search to find
                   .replace("[mail]\n", f'[mail]\nbulletin_title = "{BULLETIN_WORD} bulletin"\n')
                   + f'\n[press]\nusage_terms = "Free to republish, {PRESS_WORD} terms."\n'
                     'copyright_notice = "(c) st, fictional"\n')
    report = root / "episodes" / WEEK / "reports" / "first-story.md"
    report.write_text(report.read_text().replace("kind: strike\n", "kind: strike\nthread: test-strike\n"))
    run = runner_for(root)
    assert run("publish", WEEK).exit_code == 0
    weeks = [WEEK] + add_weeks(root, WEEKS - 1)
    for step in ("bulletin", "press"):  # the site's other corners, each with its own search bundle
        r = run(step, weeks[-1])
        assert r.exit_code == 0, r.err
    return root, port, weeks, tiny[1]


BULLETIN_WORD, PRESS_WORD = "Quarrystone", "Larkspire"


def site(root: Path) -> Path:
    return root / "feeds" / "st"


def local(root: Path, url: str, port: int) -> Path:
    base = f"http://127.0.0.1:{port}/st/"
    assert url.startswith(base), url
    return site(root) / url[len(base):]


def test_a_full_rebuild_makes_the_same_bytes(archive):
    root, _, weeks, _ = archive
    run = runner_for(root)
    before = tree(site(root))
    r = run("publish", "--all")
    assert r.exit_code == 0, r.out + r.err
    assert tree(site(root)) == before
    (root / "feeds" / ".st.published.json").unlink()  # a lost record: rebuilt, same bytes
    assert run("publish", weeks[-1]).exit_code == 0
    assert tree(site(root)) == before


def test_publishing_a_week_rewrites_only_what_lists_it(archive, tmp_path):
    root, _, weeks, _ = archive
    s = site(root)
    stamp = {p: p.stat().st_mtime_ns for p in s.rglob("*") if p.is_file()}
    new = add_weeks(root, 1, start=WEEKS)[0]
    try:
        changed = {str(p.relative_to(s)) for p in s.rglob("*") if p.is_file() and stamp.get(p) != p.stat().st_mtime_ns}
        media = {c for c in changed if c.startswith("media/") and c.endswith(".mp3")}
        assert len(media) == 1
        found = {c for c in changed if c.startswith("search/")}  # the year's bundle and nothing else
        assert found and all(c.startswith(f"search/{new[:4]}/") for c in found)
        assert changed - media - found == {
            "feed.xml", "index.html", "_headers", f"archive/{new[:4]}/index.html", f"episodes/{new}/index.html",
            f"episodes/{new}/episode.json", f"media/{new}.vtt", f"media/{new}.chapters.json",
            "threads/test-strike/index.html", f"threads/test-strike/{new[:4]}/index.html"}
    finally:  # back to the archive the other tests expect
        runner_for(root)  # (the record is rebuilt by the next publish)
        shutil.rmtree(root / "episodes" / new)
        for p in (s / "episodes" / new,):
            shutil.rmtree(p)
        (root / "feeds" / ".st.published.json").unlink()
        assert runner_for(root)("publish", "--all").exit_code == 0


def pages(root: Path, port: int, rel: str = "next") -> list[Path]:
    import feedparser
    out, path = [], site(root) / "feed.xml"
    while path is not None:
        assert path not in out, "a paging loop"
        out.append(path)
        d = feedparser.parse(str(path))
        nxt = [link.href for link in d.feed.links if link.rel == rel]
        assert len(nxt) <= 1
        path = local(root, nxt[0], port) if nxt else None
    return out


def test_paged_feeds_list_every_episode_once(archive):
    import feedparser
    from lxml import etree
    root, port, weeks, _ = archive
    from radio.station import Station
    st_ = Station.open(root)
    chain = pages(root, port)
    assert [p.relative_to(site(root)).as_posix() for p in chain] == \
        ["feed.xml", "archive/feed-2.xml", "archive/feed-1.xml"]
    assert pages(root, port, "prev-archive") == chain
    guids = [e.id for p in chain for e in feedparser.parse(str(p)).entries]
    assert sorted(guids) == sorted(st_.episode_guid(w) for w in weeks) and len(set(guids)) == WEEKS
    feed = feedparser.parse(str(chain[0]))
    assert len(feed.entries) == WEEKS - 2 * FEED_ITEMS
    for n, p in ((1, chain[2]), (2, chain[1])):
        doc = etree.parse(str(p))
        ch = doc.find("channel")
        assert ch.find("{http://purl.org/syndication/history/1.0}archive") is not None
        links = {a.get("rel"): a.get("href") for a in ch.findall("{http://www.w3.org/2005/Atom}link")}
        assert links["self"].endswith(f"archive/feed-{n}.xml")
        assert links["current"] == st_.feed_url
        assert ("next-archive" in links) == (n == 1)
        assert len(ch.findall("item")) == FEED_ITEMS
        # an archived item is the item the feed had: same GUID, enclosure and podcast:guid of the show
        assert ch.findtext("{https://podcastindex.org/namespace/1.0}guid") == str(st_.feed_guid)
    assert etree.parse(str(chain[0])).find("channel").find("{http://purl.org/syndication/history/1.0}archive") is None


def test_podcastparser_and_partytime_read_every_page(archive):
    import podcastparser
    root, port, weeks, _ = archive
    seen, path = [], site(root) / "feed.xml"
    while path:
        with open(path, "rb") as f:
            d = podcastparser.parse(str(path), f)
        seen += [e["guid"] for e in d["episodes"]]
        assert all(e["enclosures"][0]["file_size"] > 0 for e in d["episodes"])
        path = local(root, d["paged_feed_next"], port) if d.get("paged_feed_next") else None
    assert len(seen) == len(set(seen)) == WEEKS
    got = sum(len(partytime(p)["items"]) for p in pages(root, port))
    assert got == WEEKS


def test_gpodder_gets_every_episode_through_the_pages(archive, tmp_path):
    root, port, weeks, _ = archive
    server = Serve(root, port)
    try:
        env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"), "GPODDER_DOWNLOAD_DIR": str(tmp_path / "dl")}
        env.pop("PYTHONPATH", None)
        # gPodder follows rel="next" through the archive pages when it subscribes. (`gpo update` asks for no
        # more than the feed itself and then forgets listed episodes it never downloaded: a gpo limit.)
        for cmd in (["subscribe", f"{server.url}st/feed.xml"],):
            subprocess.run(["/usr/bin/gpo", *cmd], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    finally:
        server.close()
    db = sqlite3.connect(tmp_path / "home" / "Database")
    from radio.station import Station
    st_ = Station.open(root)
    assert sorted(g for (g,) in db.execute("select guid from episode")) == sorted(st_.episode_guid(w) for w in weeks)


def test_pages_by_year_resolve_and_the_show_page_stays_small(archive):
    root, _, weeks, canaries = archive
    s = site(root)
    index = (s / "index.html").read_text()
    assert index.count('class="play"') == FEED_ITEMS
    years = sorted({w[:4] for w in weeks})
    for y in years:
        assert f'href="archive/{y}/"' in index
        page = (s / "archive" / y / "index.html").read_text()
        assert page.count('class="play"') == sum(w[:4] == y for w in weeks)
        for w in weeks:
            if w[:4] == y:
                assert f'href="../../episodes/{w}/"' in page
    thread = (s / "threads" / "test-strike" / "index.html").read_text()
    assert thread.count("#t=") == sum(w[:4] == years[-1] for w in weeks)  # the newest year; a page for each
    for y in years:
        assert f'href="{y}/"' in thread
        page = (s / "threads" / "test-strike" / y / "index.html").read_text()
        assert page.count('href="../../../episodes/') == sum(w[:4] == y for w in weeks)
    r = runner_for(root)("check")
    assert r.exit_code == 0, r.out
    assert_clean([root / "feeds"], canaries, min_files=WEEKS * 4)


def test_report_list_thread_answers_from_the_index_and_follows_edits(archive):
    root, _, weeks, canaries = archive
    run = runner_for(root)
    r = run("report", "list", "--thread", "test-strike")
    assert r.exit_code == 0
    assert r.out.strip().splitlines()[-1] == f"thread test-strike: {WEEKS} reports in {WEEKS} weeks"
    index = root / "episodes" / ".index.sqlite"
    assert index.is_file()
    assert_clean(sorted((root / "episodes").glob(".index.sqlite*")), canaries)  # no text, nothing private
    # an edit reaches the index at the next question; a lost index is made again from the files
    last = root / "episodes" / weeks[-1] / "reports" / "first-story.md"
    text = last.read_text()
    last.write_text(text.replace("thread: test-strike\n", ""))
    try:
        assert run("report", "list", "--thread", "test-strike").out.strip().splitlines()[-1] == \
            f"thread test-strike: {WEEKS - 1} reports in {WEEKS - 1} weeks"
        index.unlink()
        assert run("report", "list", "--thread", "test-strike").out.strip().splitlines()[-1] == \
            f"thread test-strike: {WEEKS - 1} reports in {WEEKS - 1} weeks"
    finally:
        last.write_text(text)
    assert run("report", "list", "--thread", "test-strike").out.strip().splitlines()[-1] == \
        f"thread test-strike: {WEEKS} reports in {WEEKS} weeks"


def test_serve_answers_conditional_gets_until_the_feed_changes(archive):
    from tests.test_publish import _get
    root, port, weeks, _ = archive
    server = Serve(root, port)
    try:
        for path in ("st/feed.xml", "st/archive/feed-1.xml", "st/index.html"):
            status, headers, body = _get(server.url + path)
            assert status == 200 and body
            etag, modified = headers["ETag"], headers["Last-Modified"]
            assert _get(server.url + path, {"If-None-Match": etag})[0] == 304
            assert _get(server.url + path, {"If-Modified-Since": modified})[0] == 304
            assert _get(server.url + path, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
        etag = _get(server.url + "st/feed.xml")[1]["ETag"]
        assert runner_for(root)("publish", weeks[-1]).exit_code == 0  # nothing changed: the feed is not rewritten
        assert _get(server.url + "st/feed.xml", {"If-None-Match": etag})[0] == 304
    finally:
        server.close()
    headers = (site(root) / "_headers").read_text()
    assert "/st/feed.xml\n  Content-Type: application/rss+xml; charset=utf-8\n  Access-Control-Allow-Origin: *\n" \
           "  Cache-Control: no-cache\n" in headers


def _search(url: str, word: str, opens: bool = True) -> list[str]:
    """The search page in Chromium: type a word, wait for Pagefind's results, return their links (and open the
    first that is an episode's)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from tests.browser import chrome
    driver = chrome()
    try:
        driver.get(url)
        box = WebDriverWait(driver, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "#search input"))
        box.send_keys(word)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".pagefind-ui__result-link"))
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".pagefind-ui__result-link")]
        if opens:
            driver.get(next(u for u in links if "/episodes/" in u))  # a result opens the episode page at the item
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "player"))
        return links
    finally:
        driver.quit()


@needs_chromium
def test_search_finds_a_transcript_word_and_links_into_the_episode(archive):
    root, port, weeks, canaries = archive
    server = Serve(root, port)
    try:
        links = _search(f"{server.url}st/search/", "meeting")
    finally:
        server.close()
    # what the episodes said (the bulletin's pages and the press items, which say it too, may come first)
    episodes = [u for u in links if re.fullmatch(rf"{server.url}st/episodes/\d{{4}}-W\d\d/#t=[\d.]+", u)]
    assert episodes and all(u in episodes or re.fullmatch(rf"{server.url}st/(bulletin/\d{{4}}-W\d\d/|press/[\w-]+\.html)", u)
                            for u in links), links
    assert {u.split("/episodes/")[1][:8] for u in episodes} <= set(weeks)  # the first of many (then "Load more")
    # the bulletin's pages and the press items are found from the same page
    server = Serve(root, port)
    try:
        bulletin = _search(f"{server.url}st/search/", BULLETIN_WORD.lower(), opens=None)
        press = _search(f"{server.url}st/search/", PRESS_WORD.lower(), opens=None)
    finally:
        server.close()
    assert bulletin == [f"{server.url}st/bulletin/{weeks[-1]}/"], bulletin
    assert sorted(press) == sorted(f"{server.url}st/press/{p.stem}.html" for p in (site(root) / "press").glob("*.html")
                                   if p.name != "index.html"), press
    # the index is public: nothing private is in it, compressed or not
    plain = root / "search-plain"
    for bundle in (site(root) / "search", site(root) / "bulletin" / "pagefind", site(root) / "press" / "pagefind"):
        for p in bundle.rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                out = plain / bundle.relative_to(site(root)) / p.relative_to(bundle)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    try:
        assert_clean([plain], canaries, min_files=30)
    finally:
        shutil.rmtree(plain)


@needs_chromium
def test_search_finds_a_russian_word(tmp_path):
    port = free_port()
    root = tmp_path / "st"
    tiny_station(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace('language = "en"', 'language = "ru"', 1)
                   .replace('base_url = "https://example.org/podcast/"', f'base_url = "http://127.0.0.1:{port}/"'))
    for p in (root / "episodes" / WEEK / "reports").glob("*.md"):
        p.write_text(p.read_text().replace("Workers held a meeting today.",
                                           "Горняки Кестрел-Риджа провели собрание сегодня.")
                     .replace("First fictional story", "Первый вымышленный сюжет")
                     .replace("Second fictional story", "Второй вымышленный сюжет"))
    publish_tones(root)
    server = Serve(root, port)
    try:
        links = _search(f"{server.url}st/search/", "собрание")
    finally:
        server.close()
    assert links and all("/st/episodes/2026-W47/#t=" in u for u in links), links

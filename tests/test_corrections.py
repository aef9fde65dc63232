"""Corrections, retractions and story threads: what listeners see after a published week changes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import feedparser
import numpy as np
import pytest

from tests.audio_util import WEEK, ebur128, samples, tiny_station, tone
from tests.browser import chrome, needs_chromium
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.test_tags import publish_tones

TONES = {"welcome": 300, "first-story": 500, "second-story": 700, "closing": 900}  # record_tones' frequencies
FEED = Path("feeds/st/feed.xml")


def add_field(report: Path, line: str) -> None:
    text = report.read_text()
    report.write_text(text.replace("\nprivate:", f"\n{line}\nprivate:", 1))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tiny_station(tmp_path_factory.mktemp("corr") / "st")
    for rid, thread in (("first-story", "test-strike"), ("second-story", "other-dispute")):
        add_field(root / "episodes" / WEEK / "reports" / f"{rid}.md", f"thread: {thread}")
    canaries = plant(root)
    publish_tones(root)
    return root, canaries


@pytest.fixture
def station(published, tmp_path) -> tuple[Path, list[str]]:
    root, canaries = published
    copy = tmp_path / "st"
    shutil.copytree(root, copy)
    return copy, canaries


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def tone_level(x: np.ndarray, freq: float, rate: int = 48000) -> float:
    """How much of a signal is one frequency: the share of spectral magnitude within 10 Hz of it."""
    if len(x) == 0:
        return 0.0
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))  # windowed: no leakage from neighbours
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spec[np.abs(f - freq) < 10].sum() / (spec.sum() + 1e-12))


def loudest_window(x: np.ndarray, freq: float, rate: int = 48000) -> float:
    """The largest share of one frequency in any quarter second of a signal."""
    n = rate // 4
    return max((tone_level(x[i: i + n], freq, rate) for i in range(0, len(x) - n + 1, n // 2)), default=0.0)


def test_correct_then_republish(station):
    root, canaries = station
    run = runner_for(root)
    before = feedparser.parse(str(root / FEED)).entries[0]
    report = root / "episodes" / WEEK / "reports" / "second-story.md"
    report.write_text(report.read_text().replace("Workers held a meeting today.",
                                                 "Workers held two meetings today."))
    r = run("report", "correct", "second-story", "--public-note", "There were two meetings, not one.")
    assert r.exit_code == 0, r.err
    assert "second-story: correction of" in r.out and f"radio publish {WEEK}" in r.out
    for _ in range(2):  # republishing twice lists the correction once
        r = run("publish", WEEK)
        assert r.exit_code == 0, r.err
    after = feedparser.parse(str(root / FEED)).entries[0]
    assert (after.id, after.published) == (before.id, before.published)
    assert "Workers held two meetings today." in after.content[0].value  # the full notes (content:encoded)
    assert "Correction," in after.description and "There were two meetings, not one." in after.description
    page = (root / "feeds" / "st" / "episodes" / WEEK / "index.html").read_text()
    assert "Workers held two meetings today." in page and "There were two meetings, not one." in page
    corr = root / "feeds" / "st" / "corrections"
    assert (corr / "index.html").read_text().count("There were two meetings, not one.") == 1
    listed = feedparser.parse(str(corr / "feed.xml"))
    assert [e.description for e in listed.entries] == ["There were two meetings, not one."]
    assert run("check").exit_code == 0
    assert_clean([root / "feeds"], canaries, min_files=8)


def test_correction_needs_a_published_week(tmp_path):
    root = tiny_station(tmp_path / "st")
    r = runner_for(root)("report", "correct", "first-story", "--public-note", "x")
    assert r.exit_code == 1
    assert r.err.startswith("error: ") and f"{WEEK} is not published yet" in r.err


def test_retract_takes_the_item_out_of_the_podcast_only(station):
    root, canaries = station
    run = runner_for(root)
    out = root / "episodes" / WEEK / "out"
    onair, as_run_before = sha(out / "onair.wav"), (out / "as-run.json").read_text()
    old = json.loads(as_run_before)["podcast"]
    before = feedparser.parse(str(root / FEED)).entries[0]
    r = run("report", "retract", "first-story", "--public-note", "The second source withdrew.")
    assert r.exit_code == 0, r.err
    r = run("publish", WEEK)
    assert r.exit_code == 0, r.err
    # what was broadcast stays as it was
    assert sha(out / "onair.wav") == onair and (out / "as-run.json").read_text() == as_run_before
    after = feedparser.parse(str(root / FEED)).entries[0]
    assert (after.id, after.published) == (before.id, before.published)
    (media,) = (root / "feeds" / "st" / "media").glob(f"st-{WEEK}-*.mp3")
    assert int(after.enclosures[0].length) == media.stat().st_size != int(before.enclosures[0].length)
    # by the as-run: the item and the gap after it are gone, every later item moved up by that much
    items = {i["id"]: i for i in old["items"]}
    ids = [i["id"] for i in old["items"]]
    k = ids.index("first-story")
    cut = old["items"][k + 1]["start"] - items["first-story"]["start"]
    new = json.loads((out / "republished" / "podcast.json").read_text())["podcast"]
    assert [i["id"] for i in new["items"]] == [i for i in ids if i != "first-story"]
    assert new["samples"] == old["samples"] - cut
    for i in new["items"]:
        o = items[i["id"]]
        assert i["start"] == (o["start"] if o["start"] < items["first-story"]["start"] else o["start"] - cut)
    # by the test tone: none of the retracted item's 500 Hz anywhere; each other item where the as-run says
    x = samples(media)
    assert abs(len(x) - new["samples"]) < 48  # the decoded MP3 is the timeline, within a millisecond
    assert loudest_window(samples(out / "podcast.mp3"), TONES["first-story"]) > 0.5  # the test can see it
    # (a tone's onset is broadband: the theme's edges reach 0.09 here; the item's own tone reaches 0.98)
    assert loudest_window(x, TONES["first-story"]) < 0.2
    for i in new["items"]:
        if i["id"] in TONES:
            seg = x[i["start"] + 2400: i["end"] - 2400]
            assert tone_level(seg, TONES[i["id"]]) > 0.5, i["id"]
    # chapters and transcript re-timed: no item's time is missing, no gap is left where it was
    chapters = json.loads((root / "feeds" / "st" / "media" / f"{WEEK}.chapters.json").read_text())["chapters"]
    assert "First fictional story" not in [c["title"] for c in chapters]
    gap = 0.3
    for a, b in zip(chapters, chapters[1:]):
        assert b["startTime"] - a["endTime"] <= gap + 0.002
    assert chapters[-1]["endTime"] <= new["seconds"]
    from mutagen.id3 import ID3
    tags = ID3(media)
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [(c.sub_frames["TIT2"].text[0], c.start_time) for c in chaps] == \
        [(c["title"], round(c["startTime"] * 1000)) for c in chapters]
    assert tags["TXXX:PODCAST_GUID"].text[0] == after.id
    vtt = (root / "feeds" / "st" / "media" / f"{WEEK}.vtt").read_text()
    assert "First fictional story" not in vtt
    page = (root / "feeds" / "st" / "episodes" / WEEK / "index.html").read_text()
    assert "Retraction," in page and "The second source withdrew." in page
    assert "Retraction," in after.description
    rec = json.loads((root / "feeds" / "st" / "episodes" / WEEK / "episode.json").read_text())
    assert rec["summary"].endswith("This week: Second fictional story.")
    corr = (root / "feeds" / "st" / "corrections" / "index.html").read_text()
    assert corr.count("The second source withdrew.") == 1
    assert run("check").exit_code == 0
    r = run("report", "list", WEEK)
    assert any(line.startswith("first-story") and "retracted" in line for line in r.out.splitlines())
    # publishing again reuses the cut master; the on-air master is still as broadcast
    made = (out / "republished" / "podcast.mp3").stat().st_mtime_ns
    assert run("publish", WEEK).exit_code == 0
    assert (out / "republished" / "podcast.mp3").stat().st_mtime_ns == made
    assert sha(out / "onair.wav") == onair
    loud = ebur128(media)  # a second MP3 generation, brought back to the master's level
    assert abs(loud["I"] - json.loads((out / "loudness.json").read_text())["podcast"]["integrated"]) <= 0.3
    assert loud["TP"] <= -1.0
    assert_clean([root / "feeds", out / "republished"], canaries, min_files=8)


def test_history_is_kept_through_plan_force_and_rebuilds(station):
    root, _ = station
    run = runner_for(root)
    assert run("report", "correct", "second-story", "--public-note", "A typo in the title.").exit_code == 0
    assert run("report", "retract", "first-story", "--public-note", "Withdrawn.").exit_code == 0
    log = root / "episodes" / WEEK / "history"
    kept = {p.name: p.read_bytes() for p in log.iterdir()}
    assert run("plan", WEEK, "--force").exit_code == 0
    assert run("build", WEEK).exit_code == 0
    assert run("build", WEEK).exit_code == 0
    for name, data in kept.items():
        assert (log / name).read_bytes().startswith(data)
    r = run("report", "history", "first-story")
    assert r.exit_code == 0
    lines = r.out.splitlines()
    assert lines[0] == f"first-story ({WEEK}): retracted"
    assert "received" in lines[1] and lines[-1].endswith("retraction (public): Withdrawn.")
    assert run("report", "retract", "first-story", "--public-note", "again").exit_code == 1


W48 = "2026-W48"


def week48(root: Path) -> None:
    """A second week continuing test-strike: one verified report whose town is withheld, one held."""
    folder = root / "episodes" / W48 / "reports"
    folder.mkdir(parents=True)
    for rid, status, title in (("third-story", "verified", "Third fictional story"),
                               ("held-story", "held", "Held fictional story")):
        (folder / f"{rid}.md").write_text(
            f"---\n# FICTIONAL test report\ntitle: {title}\nreceived: 2026-11-23\nplace: Hiddentown\n"
            f"region: Test Region\nkind: strike\npriority: 1\nstatus: {status}\n"
            + ("reason: waiting for the committee\n" if status == "held" else "")
            + "checks:\n  - {by: a, on: 2026-11-24, method: phone}\n  - {by: b, on: 2026-11-24, method: visit}\n"
            f"exposure: regional\nthread: test-strike\nprivate:\n  correspondent: x\n---\nThe strike goes on.\n")


def test_story_thread_across_weeks(station):
    root, canaries = station
    run = runner_for(root)
    week48(root)
    canaries += plant(root, "WEEKTWO")
    r = run("plan", W48)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[1:] == ["follow up? thread other-dispute: last week Second fictional story; nothing on "
                                      "air this week"]
    r = run("report", "list", "--thread", "test-strike")
    assert r.exit_code == 0
    rows = [line.split()[:3] for line in r.out.splitlines()[1:-1]]
    assert rows == [[WEEK, "first-story", "verified"], [W48, "held-story", "held"], [W48, "third-story", "verified"]]
    assert r.out.splitlines()[-1] == "thread test-strike: 3 reports in 2 weeks"
    assert run("script", W48).exit_code == 0
    script = (root / "episodes" / W48 / "out" / "script.md").read_text()
    assert script.count("Previously (Friday 20 November): First fictional story.") == 1
    assert "Previously" in (root / "episodes" / W48 / "out" / "script.html").read_text()
    seg = root / "episodes" / W48 / "segments"
    for i, item in enumerate(("welcome", "third-story", "closing")):
        tone(seg / f"{item}.wav", 350 + 100 * i, 2.0, -18)
    for step in ("assemble", "publish"):
        r = run(step, W48)
        assert r.exit_code == 0, (step, r.err)
    site = root / "feeds" / "st"
    page = (site / "threads" / "test-strike" / "index.html").read_text()
    starts = {w: json.loads((site / "episodes" / w / "episode.json").read_text())["report_starts"] for w in (WEEK, W48)}
    assert f'href="../../episodes/{WEEK}/#t={starts[WEEK]["first-fictional-story"] / 1000:g}"' in page
    assert f'href="../../episodes/{W48}/#t={starts[W48]["third-fictional-story"] / 1000:g}"' in page
    assert page.index("Third fictional story") < page.index("First fictional story")  # newest first
    assert "Held fictional story" not in page and "Hiddentown" not in page
    assert (site / "threads" / "other-dispute" / "index.html").is_file()
    ep = (site / "episodes" / W48 / "index.html").read_text()
    from radio.station import Station
    assert f'<a href="{Station.open(root).show_url}threads/test-strike/">Test Strike</a>' in ep
    # a retraction reaches the thread page: a note in the item's place, no link into the episode
    assert run("report", "retract", "first-story", "--public-note", "Withdrawn by the desk.").exit_code == 0
    assert run("publish", WEEK).exit_code == 0
    page = (site / "threads" / "test-strike" / "index.html").read_text()
    assert "Retraction, " in page and "Withdrawn by the desk." in page and f"episodes/{WEEK}/#t=" not in page
    assert run("check").exit_code == 0
    assert_clean([site], canaries, min_files=12)
    assert "Hiddentown" not in "".join(p.read_text(errors="ignore") for p in site.rglob("*.html"))


def readme_walkthrough() -> list[tuple[str, list[str]]]:
    """The commands of the README's corrections section, each with the output lines it shows."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Corrections, retractions and story threads")[1].split("\n## ")[0]
    steps: list[tuple[str, list[str]]] = []
    for block in section.split("```console\n")[1:]:
        for line in block.split("```")[0].splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def test_readme_walkthrough(tmp_path):
    """The demo's two weeks, with one-second tones for recordings and a short slot (fast), then the README's
    commands one by one: each succeeds and prints what the README shows. The station here has the primary
    edition only (the others would triple the time), so the README's lines about other editions are left out
    of the comparison."""
    import shlex

    from tests.conftest import REPO
    root = tmp_path / "demo"
    root.mkdir()
    for name in ("elements", "private"):
        shutil.copytree(REPO / name, root / name)
    toml = re.sub(r'(?m)^slot = "[^"]*"', 'slot = "1:30"', (REPO / "radio.toml").read_text(), count=1)
    toml = re.sub(r'(?m)^max_fill = .*$', 'max_fill = "1:30"  # one-second tones: the bed fills most of it', toml, count=1)
    (root / "radio.toml").write_text(toml.split("\n[[editions]]")[0] + "\n"
                                     "[takes]\nmin_fraction = 0.005  # one-second tones stand in for whole readings (a 2:21 feature too)\n")
    for week, parts in ((WEEK, ("reports", "history")), (W48, ("reports",))):
        for part in parts:
            shutil.copytree(REPO / "episodes" / week / part, root / "episodes" / week / part)
    from tests.conftest import unseal
    unseal(root)  # the demo ships sealed: its private values, the canaries below, are read in plain here
    run = runner_for(root)
    for week in (WEEK, W48):
        assert run("plan", week).exit_code == 0
        from ruamel.yaml import YAML
        items = YAML(typ="safe").load((root / "episodes" / week / "rundown.yaml").read_text())["items"]
        speech = [i["id"] for i in items if i["type"] in ("read", "recorded")]
        for n, item in enumerate(speech):
            tone(root / "episodes" / week / "segments" / f"{item}.wav", 200 + 60 * n, 1.0, -18)
        for step in ("assemble", "publish"):
            r = run(step, week)
            assert r.exit_code == 0, (week, step, r.err)
    onair = sha(root / "episodes" / W48 / "out" / "onair.wav")
    steps = readme_walkthrough()
    assert [c.split()[:3] for c, _ in steps][:3] == [["radio", "report", "history"], ["radio", "report", "list"],
                                                     ["radio", "plan", W48]]
    for command, shown in steps:
        args = shlex.split(command)
        assert args[0] == "radio"
        r = run(*args[1:])
        assert r.exit_code == 0, (command, r.err)
        others = [line for line in shown if line.startswith("== edition") or re.search(r"/(ru|fr)/", line)]
        assert r.out.splitlines()[:len(shown) - len(others)] == [line for line in shown if line not in others], command
    site = root / "feeds" / "labour-week"
    page = (site / "episodes" / W48 / "index.html").read_text()
    assert "The ballot is at two mass meetings, not three." in page and "Retraction, " in page
    assert sha(root / "episodes" / W48 / "out" / "onair.wav") == onair
    # the demo's own confidential strings are its canaries here (planted ones would change the output shown)
    from radio.station import Station
    from radio.reports.files import load_week
    secrets = set()
    for week in (WEEK, W48):
        for rf in load_week(Station.open(root), week)[0]:
            secrets |= {str(v) for v in rf.report.private.model_dump(exclude_none=True).values() if len(str(v)) > 5}
            secrets |= {c.note for c in rf.report.checks if c.note}
    assert len(secrets) > 20
    assert_clean([site], sorted(secrets), min_files=12)


def test_correction_after_exposure_lowered_removes_the_detail_everywhere(station):
    """The editor lowers a published report's exposure (regional -> none) and corrects it: every republished
    output drops the region, as planning would."""
    root, canaries = station
    run = runner_for(root)
    site = root / "feeds" / "st"
    assert "Test Region" in (site / "episodes" / WEEK / "index.html").read_text()
    for rid in ("first-story", "second-story"):
        report = root / "episodes" / WEEK / "reports" / f"{rid}.md"
        report.write_text(report.read_text().replace("exposure: regional", "exposure: none"))
    r = run("report", "correct", "second-story", "--public-note", "We no longer name the region, at the source's request.")
    assert r.exit_code == 0, r.err
    assert run("publish", WEEK).exit_code == 0
    text_files = [p for p in site.rglob("*") if p.suffix in (".html", ".xml", ".json", ".vtt")]
    assert len(text_files) >= 8
    assert_clean(text_files, ["Test Region", "Test+Region", "Test%20Region", *canaries])
    assert run("check").exit_code == 0


def test_history_lists_checks_and_status_changes_with_dates(tmp_path):
    root = tiny_station(tmp_path / "st")
    run = runner_for(root)
    r = run("report", "new", WEEK, "--title", "Fictional depot walkout", "--kind", "strike")
    assert r.exit_code == 0
    rid = "fictional-depot-walkout"
    path = root / "episodes" / WEEK / "reports" / f"{rid}.md"  # a report is verified once it has its text
    path.write_text(path.read_text().replace("The text the host reads, in plain sentences.", "Drivers walked out."))
    for args in (("verify", rid, "--by", "ana", "--method", "phone"), ("verify", rid, "--by", "ben", "--method", "visit"),
                 ("hold", rid, "--private-note", "the source asked us to wait"), ("reopen", rid)):
        assert run("report", *args).exit_code == 0
    from radio.history import now
    from radio.station import Station
    today = now(Station.open(root))
    stamp = f"{today:%Y-%m-%d} "
    lines = run("report", "history", rid).out.splitlines()
    assert lines[0] == f"{rid} ({WEEK}): verified"
    body = [line.strip() for line in lines[1:]]
    assert body[0].endswith("received")
    events = [line.split("  ", 1)[1].strip() for line in body[1:]]
    assert events == ["check by ana (phone)", "check by ben (visit)", "status unverified -> verified",
                      "status verified -> held: the source asked us to wait", "status held -> verified"]
    assert all(line.startswith(stamp) and line[16:20].strip() for line in body[1:])  # date, time and the zone
    assert run("report", "correct", rid, "--public-note", "x").exit_code == 1  # not published: nothing to correct


@needs_chromium
def test_thread_page_links_into_the_episode_at_the_item(station):
    """In a browser: the thread page's link opens the episode with the player at the item's chapter."""
    import time

    from selenium.webdriver.common.by import By

    from tests.test_publish import Serve, free_port
    root, _ = station
    start = json.loads((root / "feeds" / "st" / "episodes" / WEEK / "episode.json").read_text())["report_starts"]
    server = Serve(root, free_port())
    driver = chrome()
    try:
        driver.get(server.url + "st/threads/test-strike/")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Test Strike"
        driver.find_element(By.CSS_SELECTOR, "ol.thread a").click()
        deadline, t = time.time() + 10, 0.0
        while time.time() < deadline:
            t = driver.execute_script("return document.getElementById('player').currentTime")
            if t > 0:
                break
            time.sleep(0.1)
        assert driver.current_url.endswith(f"/st/episodes/{WEEK}/#t={start['first-fictional-story'] / 1000:g}")
        # at the item: not before it, and no further on than a loaded machine lets the player run before it is read
        assert -0.05 < t - start["first-fictional-story"] / 1000 < 1.0, t
    finally:
        driver.quit()
        server.close()

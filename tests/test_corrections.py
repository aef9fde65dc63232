"""Corrections, retractions and story threads: what listeners see after a published week changes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import feedparser
import numpy as np
import pytest

from tests.audio_util import WEEK, record_tones, samples, tiny_station
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.test_tags import make_cover

TONES = {"welcome": 300, "first-story": 500, "second-story": 700, "closing": 900}  # record_tones' frequencies
FEED = Path("feeds/st/feed.xml")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tiny_station(tmp_path_factory.mktemp("corr") / "st")
    canaries = plant(root)
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    run = runner_for(root)
    for step in (("assemble", WEEK), ("tag", WEEK), ("publish", WEEK)):
        r = run(*step)
        assert r.exit_code == 0, (step, r.err)
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
    r = run("report", "correct", "second-story", "--note", "There were two meetings, not one.")
    assert r.exit_code == 0, r.err
    assert "second-story: correction of" in r.out and f"radio publish {WEEK}" in r.out
    for _ in range(2):  # republishing twice lists the correction once
        r = run("publish", WEEK)
        assert r.exit_code == 0, r.err
    after = feedparser.parse(str(root / FEED)).entries[0]
    assert (after.id, after.published) == (before.id, before.published)
    assert "Workers held two meetings today." in after.description
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
    r = runner_for(root)("report", "correct", "first-story", "--note", "x")
    assert r.exit_code == 1
    assert r.err.startswith("error: ") and f"{WEEK} is not published yet" in r.err


def test_retract_takes_the_item_out_of_the_podcast_only(station):
    root, canaries = station
    run = runner_for(root)
    out = root / "episodes" / WEEK / "out"
    onair, as_run_before = sha(out / "onair.wav"), (out / "as-run.json").read_text()
    old = json.loads(as_run_before)["podcast"]
    before = feedparser.parse(str(root / FEED)).entries[0]
    r = run("report", "retract", "first-story", "--reason", "The second source withdrew.")
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
    assert_clean([root / "feeds", out / "republished"], canaries, min_files=8)


def test_history_is_kept_through_plan_force_and_rebuilds(station):
    root, _ = station
    run = runner_for(root)
    assert run("report", "correct", "second-story", "--note", "A typo in the title.").exit_code == 0
    assert run("report", "retract", "first-story", "--reason", "Withdrawn.").exit_code == 0
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
    assert run("report", "retract", "first-story", "--reason", "again").exit_code == 1

"""What must not air does not: takes that are silent or cut short, masters off target, empty or too-short shows,
reports still holding the template, and inputs that are not plain files of the station. Takes as the hosts
leave them (two files for one item, misnamed files, numbered takes), and where users type (options anywhere,
the station found from a subfolder)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from radio.cli import cli
from tests.audio_util import WEEK, ff, record_tones, tiny_station, tone
from tests.conftest import copy_station, runner_for
from tests.test_tags import make_cover

SEG = Path("episodes") / WEEK / "segments"


@pytest.fixture
def tiny(tmp_path) -> Path:
    root = tiny_station(tmp_path / "st")
    record_tones(root, 2.0)
    return root


def _row(out: str, item: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if re.match(rf"\d+\s+{item}\s", line))


def _nothing_made(root: Path) -> None:
    assert not (root / "episodes" / WEEK / "out" / "onair.wav").exists()
    assert not (root / "feeds" / "st" / "feed.xml").exists()


# --- takes that cannot air -------------------------------------------------------------------------

@pytest.mark.parametrize("make,message", [
    (lambda p: ff("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3", str(p)),
     "item first-story: the take episodes/2026-W47/segments/first-story.wav is digitally silent (record it again, "
     "or check the input)"),
    (lambda p: tone(p, 440, 3.0, -75),
     "item first-story: the take episodes/2026-W47/segments/first-story.wav is near silent: 0 s above -45 dBFS "
     "(record it again, nearer the microphone)"),
    (lambda p: tone(p, 440, 0.23, -18),
     "item first-story: the take episodes/2026-W47/segments/first-story.wav holds 230 ms of speech, under 10% of its "
     "0:04 estimate: cut short? (record it again, or shorten the item's text to what was read)"),
])
def test_a_take_that_cannot_air_is_refused_and_marked(tiny, make, message):
    p = tiny / SEG / "first-story.wav"
    p.unlink()
    make(p)
    run = runner_for(tiny)
    s = run("status", WEEK)
    assert s.exit_code == 0, s.err
    assert _row(s.out, "first-story")[4] == "rejected"
    assert _row(s.out, "second-story")[4] == "recorded" and _row(s.out, "second-story")[6] == "0:02"  # the rest shows
    assert f"rejected: {message}" in s.out.splitlines()
    assert s.out.splitlines()[-1] == f"next: record first-story again, then radio build {WEEK}"
    r = run("build", WEEK)
    assert r.exit_code == 1
    assert r.err.splitlines()[-1] == f"error: {message}"
    _nothing_made(tiny)


def test_an_undecodable_take_marks_its_item_and_status_still_shows(tiny):
    (tiny / SEG / "welcome.wav").write_text("Dear editor, here is my report.\n" * 20)
    s = runner_for(tiny)("status", WEEK)
    assert s.exit_code == 0, s.err
    assert _row(s.out, "welcome")[4] == "rejected"
    assert _row(s.out, "closing")[4] == "recorded"
    line = next(x for x in s.out.splitlines() if x.startswith("rejected: "))
    assert line.startswith(f"rejected: {tiny / SEG / 'welcome.wav'}: ffmpeg cannot decode it: ")


def test_measured_reading_rate_ignores_rejected_takes(tmp_path):
    root = copy_station(tmp_path / "demo")
    run = runner_for(root)
    run("plan", WEEK)
    seg = root / SEG
    seg.mkdir(parents=True)
    # welcome has 18 words: 9 seconds -> 120 wpm for anna; her 101-word item cut to 1 s is refused, not counted
    ff("-f", "lavfi", "-i", "sine=f=440:d=9", str(seg / "welcome.wav"))
    tone(seg / "teacher-dismissed-after-meeting.wav", 440, 1.0, -18)
    r = run("status", WEEK)
    assert "anna: 165 wpm configured, 120 wpm measured" in r.out
    assert _row(r.out, "teacher-dismissed-after-meeting")[4:6] == ["rejected", "0:51"]


# --- masters, rundowns and shows that should not air ---------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tiny_station(tmp_path_factory.mktemp("gates") / "st")
    record_tones(root, 2.0)
    make_cover(root / "elements" / "cover.png")
    assert runner_for(root)("build", WEEK).exit_code == 0
    return root


def test_a_master_off_its_loudness_target_is_not_published(built, tmp_path):
    import shutil
    root = tmp_path / "st"
    shutil.copytree(built, root)
    feed = root / "feeds" / "st" / "feed.xml"
    before = feed.read_bytes()
    loud = root / "episodes" / WEEK / "out" / "loudness.json"
    data = json.loads(loud.read_text())
    data["podcast"]["integrated"] = -21.5
    loud.write_text(json.dumps(data))
    run = runner_for(root)
    r = run("publish", WEEK)
    assert r.exit_code == 1
    assert r.err == ("error: episodes/2026-W47/out/podcast.mp3: the podcast master measures -21.5 LUFS, outside -19 ±0.5 "
                     "(check the takes for silence or clipping and build again (the tolerance is [loudness] "
                     "podcast_tolerance in radio.toml))\n")
    assert feed.read_bytes() == before
    cfg = root / "radio.toml"  # the tolerance is the station's, not the code's
    cfg.write_text(cfg.read_text().replace("podcast_tolerance = 0.5", "podcast_tolerance = 3.0"))
    r = run("publish", WEEK)
    assert r.exit_code == 0, r.err


def test_an_empty_rundown_is_refused(tiny):
    rd = tiny / "episodes" / WEEK / "rundown.yaml"
    rd.write_text(rd.read_text().replace("    type: read\n", "    type: read\n    skip: true\n"))
    r = runner_for(tiny)("build", WEEK)
    assert r.exit_code == 1
    assert r.err.splitlines()[-1] == (f"error: {rd}: the rundown has nothing to air: no live read or recorded item "
                                      f"(verify reports and run `radio plan {WEEK} --force`, or add items)")
    _nothing_made(tiny)


def test_a_fresh_station_is_not_aired_as_minutes_of_silence(tmp_path):
    run = runner_for(tmp_path / "fresh")
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "fresh")]).exit_code == 0
    cfg = tmp_path / "fresh" / "radio.toml"
    # the show is two short espeak-ng drafts: how loud they come out is not what this test is about
    cfg.write_text(cfg.read_text().replace('slot = "28:30"', 'slot = "3:00"')
                   .replace("podcast_tolerance = 0.5", "podcast_tolerance = 3.0"))
    make_cover(tmp_path / "fresh" / "elements" / "cover.png")
    r = run("build", WEEK, "--draft")
    assert r.exit_code == 1
    assert re.fullmatch(r"error: the show is 0:\d\d in a 3:00 slot: silence would fill 2:\d\d, more than show.max_fill "
                        r"\(2:00\) \(add items or record them, or pass --allow-under to air it short anyway\)",
                        r.err.splitlines()[-1]), r.err
    assert not (tmp_path / "fresh" / "feeds" / "fresh" / "feed.xml").exists()
    r = run("build", WEEK, "--draft", "--allow-under")  # the producer knows, and says so
    assert r.exit_code == 0, r.err


def test_an_over_run_is_reported_before_drafting(tiny):
    for p in (tiny / SEG).iterdir():
        p.unlink()
    cfg = tiny / "radio.toml"
    cfg.write_text(cfg.read_text().replace('slot = "0:30"', 'slot = "0:10"'))
    r = runner_for(tiny)("assemble", WEEK, "--draft")
    assert r.exit_code == 1
    assert re.fullmatch(r"error: the show runs over its 0:10 slot by 0:\d\d on its estimates, before drafting 4 items"
                        r"; cut candidates: .* \(cut or shorten items, mark them skip: true, or pass --allow-over\)",
                        r.err.splitlines()[-1]), r.err
    assert not (tiny / "episodes" / WEEK / "out" / "drafts").exists()


def test_a_report_still_holding_the_template_cannot_be_verified(tmp_path):
    root = copy_station(tmp_path / "demo")
    run = runner_for(root)
    assert run("report", "new", WEEK, "--title", "Depot workers walk out").exit_code == 0
    r = run("report", "verify", "depot-workers-walk-out", "--by", "maria", "--method", "phone")
    path = root / "episodes" / WEEK / "reports" / "depot-workers-walk-out.md"
    assert r.exit_code == 1
    assert r.err == (f"error: {path}: its text is still the template's, so there is nothing to verify (write the "
                     "correspondent's report below the front matter, then verify it)\n")
    assert "checks: []" in path.read_text()


# --- takes as hosts leave them ------------------------------------------------------------------------

def test_the_newest_take_wins_and_the_other_is_named(tiny):
    old = tiny / SEG / "welcome.wav"
    new = tone(tiny / SEG / "welcome.mp3", 700, 3.0, -18)
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))
    s = runner_for(tiny)("status", WEEK)
    assert "note: welcome: using welcome.mp3, the newest; set aside welcome.wav" in s.out.splitlines()
    assert _row(s.out, "welcome")[4] == "recorded" and _row(s.out, "welcome")[6] == "0:03"
    from radio.timing import recording
    from radio.station import Station
    assert recording(Station.open(tiny), WEEK, "welcome") == new


def test_misnamed_takes_get_a_suggestion_and_numbered_takes_are_history(tmp_path):
    root = copy_station(tmp_path / "demo")
    run = runner_for(root)
    run("plan", WEEK)
    seg = root / SEG
    seg.mkdir(parents=True)
    for name in ("Headlines.wav", "pit-strike.wav", "welcome.take-2.wav"):
        tone(seg / name, 440, 1.0, -18)
    s = run("status", WEEK)
    notes = [line for line in s.out.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: episodes/2026-W47/segments/Headlines.wav: no item 'Headlines' in the rundown (did you mean headlines.wav?)",
        "note: episodes/2026-W47/segments/pit-strike.wav: no item 'pit-strike' in the rundown (did you mean "
        "pit-strike-second-week.wav?)"]
    assert _row(s.out, "welcome")[4] == "missing"  # a numbered take is not a recording by itself
    r = run("build", WEEK)  # build says it too, before it stops for the missing recordings
    assert r.exit_code == 1
    assert "warning: episodes/2026-W47/segments/Headlines.wav: no item 'Headlines' in the rundown (did you mean " \
           "headlines.wav?)" in r.err


# --- inputs that are not plain files of the station -------------------------------------------------

def test_takes_that_are_links_out_fifos_or_dangling_are_refused(tiny):
    seg = tiny / SEG
    (seg / "welcome.wav").unlink()
    (seg / "welcome.wav").symlink_to("/dev/zero")
    (seg / "first-story.wav").unlink()
    os.mkfifo(seg / "first-story.wav")
    (seg / "closing.wav").unlink()
    (seg / "closing.wav").symlink_to(seg / "gone.wav")
    s = runner_for(tiny)("status", WEEK)
    assert s.exit_code == 0, s.err
    rejected = [line for line in s.out.splitlines() if line.startswith("rejected: ")]
    assert rejected == [
        "rejected: item welcome: episodes/2026-W47/segments/welcome.wav: it is a link to a file outside the station "
        "(replace it with the recording itself)",
        "rejected: item first-story: episodes/2026-W47/segments/first-story.wav: it is not a regular file (a FIFO, a "
        "device or a folder) (replace it with the recording itself)",
        "rejected: item closing: episodes/2026-W47/segments/closing.wav: it is a link to a file that does not exist "
        "(replace it with the recording itself)"]
    r = runner_for(tiny)("build", WEEK)
    assert r.exit_code == 1 and r.err.splitlines()[-1].startswith("error: item welcome: ")
    _nothing_made(tiny)


def test_reports_that_are_links_out_fifos_or_too_large_are_refused(tmp_path):
    root = copy_station(tmp_path / "demo")
    folder = root / "episodes" / WEEK / "reports"
    (folder / "outside.md").symlink_to("/etc/passwd")
    os.mkfifo(folder / "pipe.md")
    big = (folder / "warehouse-pickers-heat.md").read_text().replace("warehouse-pickers-heat", "huge")
    (folder / "huge.md").write_text(big + "More words. " * 30_000)
    r = runner_for(root)("report", "list", WEEK)
    assert r.exit_code == 1
    kb = (folder / "huge.md").stat().st_size // 1024
    assert r.err.splitlines() == [
        f"error: {folder / 'huge.md'}: the file is {kb} KB; a report may be at most 256 KB (shorten it to what is read "
        "on air; keep long documents elsewhere)",
        f"error: {folder / 'outside.md'}: not read: it is a link to a file outside the station (put the report itself "
        "in the folder, as a file)",
        f"error: {folder / 'pipe.md'}: not read: it is not a regular file (a FIFO, a device or a folder) (put the "
        "report itself in the folder, as a file)"]
    assert r.out.splitlines()[-1] == "12 reports: 1 held, 1 rejected, 2 unverified, 8 verified"


# --- where users type -----------------------------------------------------------------------------------

def test_global_options_work_after_the_subcommand(tmp_path):
    root = copy_station(tmp_path / "demo")
    runner_for(root)("plan", WEEK)
    go = lambda *a: CliRunner().invoke(cli, list(a), env={"RADIO_STATION": None})  # noqa: E731
    first = go("--station", str(root), "status", WEEK)
    assert first.exit_code == 0
    assert go("status", WEEK, "--station", str(root)).stdout == first.stdout
    assert go("status", WEEK, f"--station={root}", "-v").stdout == first.stdout
    assert go("plan", WEEK, "--station", str(root), "-q").stdout == ""
    r = go("report", "show", "no-such-report", "--station", str(root), "-v")
    assert r.exit_code == 1 and "Traceback" in r.stderr  # -v after the subcommand shows the trace


def test_the_station_is_found_from_a_subfolder(tmp_path, monkeypatch):
    root = copy_station(tmp_path / "demo")
    runner_for(root)("plan", WEEK)
    monkeypatch.delenv("RADIO_STATION", raising=False)
    monkeypatch.chdir(root / "episodes" / WEEK / "reports")
    r = CliRunner().invoke(cli, ["status", WEEK])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"Labour Week, 20 November 2026 ({WEEK})\n")
    monkeypatch.chdir(tmp_path)  # no station here or above
    r = CliRunner().invoke(cli, ["status", WEEK])
    assert r.exit_code == 1
    assert r.stderr == (f"error: {tmp_path.resolve() / 'radio.toml'}: no station config here (run `radio init DIR` "
                        "or pass --station DIR)\n")

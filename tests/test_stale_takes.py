"""A recording made before its item's public text changed never airs: the build names the item and why (never a
withheld value), publishes nothing and changes no output; `radio status` marks it stale; a new take, or
--allow-stale-take, lets the build through."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.audio_util import WEEK, tone
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.test_protection import TOWN, edit, names, outputs, protection_station, reports


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The protection station planned and built once from its recordings (all registered at first use)."""
    root = protection_station(tmp_path_factory.mktemp("stale") / "st")
    run = runner_for(root)
    assert run("plan", WEEK).exit_code == 0
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    return root


@pytest.fixture
def station(built, tmp_path) -> Path:
    import shutil
    dest = tmp_path / "st"
    shutil.copytree(built, dest, symlinks=True)
    return dest


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in outputs(root) for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".build.json"}


def scrub(root: Path) -> None:
    """The editor lowers the first report's exposure because a source is threatened, and scrubs its town."""
    first = reports(root) / "first-story.md"
    edit(first, "exposure: named", "exposure: regional")
    edit(first, f"title: Miners at {TOWN} strike", "title: Miners in the north strike")
    edit(first, f"Workers in {TOWN} held", "Workers held")
    edit(first, f"Write to the {TOWN} strike committee.", "Write to the strike committee.")
    # its public id was made from the old title, which named the town: the desk says so, and the editor replaces it
    r = runner_for(root)("report", "public-id", "first-story", "--new")
    assert r.exit_code == 0 and not names(r.out + r.err, TOWN), r.out + r.err


def segments(root: Path) -> Path:
    return root / "episodes" / WEEK / "segments"


def test_recordings_are_registered_at_first_use(built):
    data = json.loads((segments(built) / ".recorded.json").read_text())["items"]
    assert set(data) == {"welcome", "headlines", "first-story", "second-story", "appeals", "closing"}
    assert not names(json.dumps(data), TOWN)  # hashes and field names only
    assert set(data["headlines"]["reports"]) == {"first-story", "second-story"}


def test_scrubbed_report_makes_its_recordings_stale_until_re_recorded(station):
    run = runner_for(station)
    canaries = plant(station)
    before = snapshot(station)
    scrub(station)
    r = run("build", WEEK)
    assert r.exit_code == 1
    err = r.err.strip()
    assert len(err.splitlines()) == 1, err
    for item in ("headlines", "first-story", "appeals"):
        assert f"{item}: recorded before the public text changed (report first-story: its exposure changed)" in err
    assert "second-story:" not in err and "welcome" not in err
    assert "re-record them, or pass --allow-stale-take if the change does not touch what was read" in err
    assert not names(err, TOWN) and not any(c in err for c in canaries)
    r = run("assemble", WEEK)  # a stage run alone is held to the same gate
    assert r.exit_code == 1 and "first-story: recorded before the public text changed" in r.err
    assert snapshot(station) == before  # nothing written, nothing published
    assert run("check").exit_code == 0  # the old feed stays whole
    s = run("status", WEEK)
    assert s.exit_code == 0, s.err
    rows = {line.split()[1]: line for line in s.out.splitlines() if line[:3].strip().isdigit()}
    for item in ("headlines", "first-story", "appeals"):
        assert " stale " in rows[item], rows[item]
    assert " recorded " in rows["second-story"] and " recorded " in rows["welcome"]
    assert "next: re-record headlines, first-story, appeals" in s.out
    assert not names(s.out + s.err, TOWN) and not any(c in s.out + s.err for c in canaries)
    # the host reads the new text again: new takes are registered at first sight and the build goes through
    for i, item in enumerate(("headlines", "first-story", "appeals")):
        tone(segments(station) / f"{item}.wav", 520 + 40 * i, 1.6, -18)
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    assert not names(r.out + r.err, TOWN)
    assert_clean(outputs(station), canaries, min_files=10)
    assert run("check").exit_code == 0


def test_a_held_report_makes_the_headlines_stale(station):
    run = runner_for(station)
    assert run("report", "hold", "second-story", "--private-note", "a source asked us to wait").exit_code == 0
    r = run("build", WEEK)
    assert r.exit_code == 1
    assert "headlines: recorded before the public text changed (report second-story is held)" in r.err
    assert "appeals: recorded before the public text changed (report second-story is held)" in r.err
    assert "wait" not in r.err  # the reason given at the desk is not repeated


def test_allow_stale_take_overrides_and_accepts(station):
    run = runner_for(station)
    scrub(station)
    r = run("build", WEEK, "--allow-stale-take")
    assert r.exit_code == 0, r.err
    assert not names(r.out + r.err, TOWN)
    r = run("build", WEEK)  # accepted: the recordings now stand for the new text
    assert r.exit_code == 0, r.err
    assert "stale" not in run("status", WEEK).out


def test_a_build_with_allow_stale_take_leaves_a_current_as_run(station):
    """--allow-stale-take is part of assembly's fingerprint, so it is saved with it: status, the run sheet and the
    summary read the as-run it made, not estimates."""
    from radio.stages import current
    from radio.station import Station
    scrub(station)
    r = runner_for(station)("build", WEEK, "--allow-stale-take")
    assert r.exit_code == 0, r.err
    built = current(Station.open(station), WEEK)
    assert built is not None and built.as_run.content_ms > 0


def test_a_copied_take_keeps_its_registration(station):
    """Checked out or copied (a new mtime, the same content): still the take registered against the old text."""
    import os
    p = segments(station) / "headlines.wav"
    os.utime(p, (1_000_000_000, 1_000_000_000))
    scrub(station)
    r = runner_for(station)("status", WEEK)
    assert r.exit_code == 0 and "stale: headlines: recorded before the public text changed" in r.out


def test_drafts_are_never_stale(tmp_path):
    root = protection_station(tmp_path / "st", record=False)
    run = runner_for(root)
    assert run("plan", WEEK).exit_code == 0
    r = run("build", WEEK, "--draft", "--allow-over")
    assert r.exit_code == 0, r.err
    scrub(root)
    r = run("build", WEEK, "--draft", "--allow-over")
    assert r.exit_code == 0, r.err
    assert not (segments(root) / ".recorded.json").exists()

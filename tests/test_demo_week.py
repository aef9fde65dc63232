"""The demo weeks sound like weeks on air: built as `./scripts/demo` builds them, with no flag that lets a show
run short, every on-air edition is speech and features for at least 85 % of its slot, and the news bed fills
no more than the producer allows (`show.max_fill`)."""

from __future__ import annotations

import json

import pytest

from radio.station import Station
from tests.conftest import copy_station, runner_for

SPEECH = {"read", "recorded"}
BUILDS = [("2026-W47", "en"), ("2026-W47", "ru"), ("2026-W48", "en")]  # the demo's on-air builds


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = copy_station(tmp_path_factory.mktemp("demo") / "station", editions=True,
                        weeks=("2026-W47", "2026-W48"))
    run = runner_for(root)
    for week, edition in BUILDS:
        r = run("build", week, "--draft", "--edition", edition)
        assert r.exit_code == 0, r.err
    return root


@pytest.mark.parametrize("week,edition", BUILDS)
def test_every_on_air_edition_fills_its_slot_with_speech(demo, week, edition):
    station = Station.open(demo).for_edition(edition)[0]
    cfg = station.config
    asrun = json.loads((station.out_dir(week) / "as-run.json").read_text(encoding="utf-8"))
    onair, rate = asrun["onair"], asrun["rate"]
    slot = cfg.show.slot_ms * rate // 1000
    assert onair["samples"] == slot  # exactly the slot, to the sample
    items = onair["items"]
    speech = sum(i["end"] - i["start"] for i in items if i["type"] in SPEECH)
    assert speech / slot >= 0.85, f"{week} {edition}: speech is {speech / slot:.1%} of the slot"
    assert items[-1]["id"] == "close-theme" and items[-1]["end"] == slot  # back-timed to the last sample
    fill = sum(i["end"] - i["start"] for i in items if i["type"] == "filler")
    assert 0 < fill <= cfg.show.max_fill_ms * rate // 1000


def test_the_demo_asks_for_no_short_show():
    from tests.conftest import REPO
    demo = (REPO / "scripts" / "demo").read_text(encoding="utf-8")
    assert "--allow-under" not in demo and "--allow-over" not in demo
    assert Station.open(REPO).config.show.max_fill_ms <= 60_000  # a producer's allowance, not minutes of bed

"""One decision, everywhere: which reports may be published (radio/publishable.py).

Under a stricter verification policy a report the show drops must leave the bulletin, the corrections page and
the thread pages as well: every publishing surface asks the same function.
"""

from __future__ import annotations

import re

from radio.publishable import publishable, verdicts
from radio.station import Station
from tests.conftest import WEEK, runner_for

KEPT = "pit-strike-second-week"  # the one report given a third check


def stricter(root) -> None:
    """Three checks needed: every demo report has two, so only the one checked again may be published."""
    toml = root / "radio.toml"
    toml.write_text(re.sub(r"(?m)^min_checks = 2$", "min_checks = 3", toml.read_text(encoding="utf-8")),
                    encoding="utf-8")
    r = runner_for(root)("report", "verify", KEPT, "--by", "fictional-editor", "--method", "archive")
    assert r.exit_code == 0, r.err


def test_one_decision_under_a_stricter_policy(station):
    stricter(station)
    s = Station.open(station)
    # by its public id, made from its title: never the desk id
    assert [p.id for p in publishable(s, WEEK)] == ["miners-at-the-kestrel-ridge-pit-enter-the-second"]
    reports, why = verdicts(s, WEEK)
    assert why["rail-workers-safety-walkout"] == "has 2 of the 3 checks the verification policy now needs"
    assert KEPT not in why and {r.id for r in reports} - set(why) == {KEPT}


def test_the_bulletin_follows_the_station_policy(station):
    stricter(station)
    run = runner_for(station)
    r = run("bulletin", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[-1] == "1 reports in the en bulletin"
    text = (station / "episodes" / WEEK / "out" / "bulletin.txt").read_text(encoding="utf-8")
    assert "Rail workers" not in text and "pit" in text.lower()


def test_the_corrections_page_follows_the_station_policy(station):
    from radio.publish.corrections import _reports
    stricter(station)
    shown, pids = _reports(Station.open(station), WEEK)
    assert shown[KEPT] is not None and shown[KEPT].id == pids[KEPT] != KEPT  # published by its public id
    assert shown["rail-workers-safety-walkout"] is None

"""The station owns every path and lock path; what `radio init` keeps out of version control follows from them."""

from __future__ import annotations

import subprocess

from click.testing import CliRunner

from radio.cli import cli
from radio.station import Station
from tests.conftest import WEEK


def test_every_lock_and_every_generated_folder_is_ignored_by_git(tmp_path):
    root = tmp_path / "st"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    toml = root / "radio.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[[editions]]\nlanguage = "fr"\ntitle = "La Semaine"\n'
                    'slug = "semaine"\ndescription = "Fictional."\nhosts = [{id = "a", name = "A", voice = "fr"}]\n', encoding="utf-8")
    station = Station.open(root)
    fr = station.for_edition("fr")[0]
    report = station.reports_dir(WEEK) / "a-report.md"
    generated = [station.build_lock_path, station.recorded_lock_path, station.publish_lock_path,
                 station.bulletin_lock_path, station.intake_lock_path, station.send_lock_path(WEEK),
                 station.report_lock_path(report), station.out_dir(WEEK) / "onair.wav",
                 fr.out_dir(WEEK) / "onair.wav", fr.publish_root / "feed.xml", station.drafts_dir(WEEK) / "x.wav",
                 station.private_dir / "correspondents.yaml"]
    kept = [report, station.history_dir(WEEK) / "a-report.jsonl", station.segments_dir(WEEK) / "welcome.wav",
            fr.segments_dir(WEEK) / "welcome.wav", root / "radio.toml"]
    for p in generated + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    rel = [str(p.relative_to(root)) for p in generated + kept]
    r = subprocess.run(["git", "-C", str(root), "check-ignore", "--no-index", *rel], capture_output=True, text=True)
    assert sorted(r.stdout.split()) == sorted(rel[:len(generated)])

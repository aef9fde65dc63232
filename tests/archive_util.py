"""A small archive of many published weeks, made as the benchmark makes a big one: one week built and
published for real, then copied under the following ISO weeks, each with its masters' tags made for its own week
(as assembling it would make them) and published through the CLI."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from tests.audio_util import WEEK
from tests.conftest import runner_for


def week_after(week: str, k: int) -> str:
    y, w = int(week[:4]), int(week[6:])
    iy, iw, _ = (dt.date.fromisocalendar(y, w, 1) + dt.timedelta(weeks=k)).isocalendar()
    return f"{iy}-W{iw:02d}"


def copy_week(root: Path, week: str, src: str = WEEK) -> None:
    """Another week like `src`: its reports, rundown, takes and masters, under its own ISO week (no history)."""
    shutil.copytree(root / "episodes" / src, root / "episodes" / week, ignore=shutil.ignore_patterns("history"))
    for rd in sorted((root / "episodes" / week).rglob("rundown.yaml")):  # every edition's
        rd.write_text(rd.read_text(encoding="utf-8").replace(f"week: {src}", f"week: {week}"), encoding="utf-8")
    retag(root, week)


def retag(root: Path, week: str) -> None:
    """The copied masters' tags, made for `week` as its own assembly would make them (the audio is the same)."""
    import json

    from radio import fsutil, tags
    from radio.rundown import model as rd
    from radio.station import Station
    for s in Station.open(root).editions():
        out = s.out_dir(week)
        if not (out / "as-run.json").is_file():
            continue
        as_run = json.loads((out / "as-run.json").read_text(encoding="utf-8"))
        onair = json.loads((out / "loudness.json").read_text(encoding="utf-8"))["onair"]
        ep = tags.tag(s, rd.load(s, week), as_run, onair, out / "onair.wav", out / "podcast.mp3", tags.cover_if_any(s))
        fsutil.write_text(out / "tags.json", tags.record(ep))


def add_weeks(root: Path, count: int, *, publish: bool = True, start: int = 1) -> list[str]:
    """`count` more weeks after WEEK (the week built for real), each tagged for itself and, unless told not to,
    published."""
    run = runner_for(root)
    weeks = []
    for k in range(start, start + count):
        week = week_after(WEEK, k)
        copy_week(root, week)
        steps = [("publish", week)] if publish else []
        for step in steps:
            r = run(*step)
            assert r.exit_code == 0, (step, r.err)
        weeks.append(week)
    return weeks


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

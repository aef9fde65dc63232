"""A small archive of many published weeks, made as the benchmark makes a big one: one week built and
published for real, then copied under the following ISO weeks, each tagged and published through the CLI."""

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


def add_weeks(root: Path, count: int, *, publish: bool = True, start: int = 1) -> list[str]:
    """`count` more weeks after WEEK (the week built for real), each tagged and, unless told not to, published."""
    run = runner_for(root)
    weeks = []
    for k in range(start, start + count):
        week = week_after(WEEK, k)
        copy_week(root, week)
        steps = [("tag", week)] + ([("publish", week)] if publish else [])
        for step in steps:
            r = run(*step)
            assert r.exit_code == 0, (step, r.err)
        weeks.append(week)
    return weeks


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

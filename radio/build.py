"""The week's stages in order: script, assemble, tag, publish. Each stage: its inputs, its outputs, its function."""

from __future__ import annotations

import json
from pathlib import Path

from radio import rundown as rd
from radio.config import Station
from radio.script import status_table, write_script


def as_run_actuals(station: Station, week: str) -> dict[str, int] | None:
    """Item durations in the on-air master, once it has been assembled."""
    path = station.out_dir(week) / "as-run.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {i["id"]: i["end_ms"] - i["start_ms"] for i in data["onair"]["items"]}


def timed(station: Station, week: str) -> tuple[rd.Rundown, rd.ShowTime]:
    rundown = rd.load(station, week)
    return rundown, rd.timing(station, rundown, actuals=as_run_actuals(station, week))


def script_stage(station: Station, week: str) -> list[Path]:
    rundown, show = timed(station, week)
    return write_script(station, rundown, show)


def status_text(station: Station, week: str) -> str:
    rundown, show = timed(station, week)
    return status_table(station, rundown, show)

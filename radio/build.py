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


def assemble_stage(station: Station, week: str, *, draft: bool = False, allow_over: bool = False, progress=None):
    from radio.audio.assemble import assemble
    return assemble(station, week, draft=draft, allow_over=allow_over, progress=progress)


def loudness_lines(station: Station, result) -> list[str]:
    from radio.config import format_ms
    lines = []
    for name, key, path in (("on air", "onair", result.onair), ("podcast", "podcast", result.podcast)):
        m = result.report[key]
        mark = "ok" if m["ok"] else "OUT OF TARGET"
        lines.append(f"{name:8} {path.relative_to(station.root)}: {format_ms(round(m['seconds'] * 1000))}, "
                     f"{m['integrated']} LUFS (target {m['target']:g} ±{m['tolerance']:g}), true peak "
                     f"{m['true_peak']} dBTP, LRA {m['lra']} LU: {mark}")
    return lines


def tag_stage(station: Station, week: str):
    from radio.tags import tag
    return tag(station, week)


def publish_stage(station: Station, week: str, *, allow_draft: bool = False):
    from radio.publish import publish
    return publish(station, week, allow_draft=allow_draft)

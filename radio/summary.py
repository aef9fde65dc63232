"""What the terminal says after a build or an assembly: where the outputs are, how loud, how long."""

from __future__ import annotations

import json
from pathlib import Path

from radio import rundown as rd
from radio.config import format_ms
from radio.station import Station


def loudness_lines(station: Station, report: dict, paths: dict[str, Path]) -> list[str]:
    lines = []
    for name, key in (("on air", "onair"), ("podcast", "podcast")):
        m = report[key]
        mark = "ok" if m["ok"] else "OUT OF TARGET"
        lines.append(f"{name:8} {paths[key].relative_to(station.root)}: {format_ms(round(m['seconds'] * 1000))}, "
                     f"{m['integrated']} LUFS (target {m['target']:g} ±{m['tolerance']:g}), true peak "
                     f"{m['true_peak']} dBTP, LRA {m['lra']} LU: {mark}")
    return lines


def summary(station: Station, week: str) -> list[str]:
    out = station.out_dir(week)
    rel = lambda p: p.relative_to(station.root)  # noqa: E731
    lines = [f"script    {rel(out / 'script.html')} (and script.md)",
             f"run sheet {rel(out / 'runsheet.html')} (and runsheet.csv)"]
    loud_path = out / "loudness.json"
    if loud_path.is_file():
        lines += loudness_lines(station, json.loads(loud_path.read_text()),
                                {"onair": out / "onair.wav", "podcast": out / "podcast.mp3"})
    as_run_path = out / "as-run.json"
    if as_run_path.is_file():  # read what was built; timing the rundown again would probe every file
        on = json.loads(as_run_path.read_text())["onair"]
        rate = json.loads(as_run_path.read_text())["rate"]
        slot = station.config.show.slot_ms
        filler = sum(i["end"] - i["start"] for i in on["items"] if i["type"] == "filler") * 1000 // rate
        total = on["samples"] * 1000 // rate
        content = (total - filler) // 1000 * 1000  # whole seconds, so content and under-run add up to the slot
        over = total - slot if total > slot else content - slot
        fill = f" (filled with {station.config.audio.filler or 'silence'})" if filler else ""
        if station.on_air:
            lines.append(f"timing    content {format_ms(content)} in a {format_ms(slot)} slot: "
                         f"{rd.over_under(over)}{fill}")
        else:
            lines.append(f"timing    {format_ms(content)}, podcast only, at most {format_ms(slot)}")
    republished = out / "republished" / "podcast.json"
    if republished.is_file():  # retractions: the podcast as published now, beside the masters as broadcast
        pod = json.loads(republished.read_text())["podcast"]
        lines.append(f"published {rel(republished.with_suffix('.mp3'))}: {format_ms(round(pod['seconds'] * 1000))}, "
                     f"without {', '.join(pod['retracted'])} (retracted)")
    root = station.root / "feeds" / station.config.show.slug
    lines.append(f"site      {rel(root / 'episodes' / week / 'index.html')}")
    lines.append(f"feed      {rel(root / 'feed.xml')} -> {station.feed_url}")
    return lines

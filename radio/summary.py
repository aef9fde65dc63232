"""What the terminal says after a build or an assembly: where the outputs are, how loud, how long."""

from __future__ import annotations

import json

from radio import asrun
from radio.rundown import model as rd
from radio import timing
from radio.config import format_ms
from radio.station import Station


def loudness_lines(station: Station, built: asrun.Built) -> list[str]:
    return [v.line(station, built.out / getattr(built.as_run, v.key).file) for v in built.verdicts(station)]


def summary(station: Station, week: str, rundown: rd.Rundown, show: timing.ShowTime) -> list[str]:
    """Where the week's outputs are, the masters' loudness and the show's timing (the same total as status)."""
    out = station.out_dir(week)
    rel = lambda p: p.relative_to(station.root)  # noqa: E731
    lines = [f"script    {rel(out / 'script.html')} (and script.md)",
             f"run sheet {rel(out / 'runsheet.html')} (and runsheet.csv)"]
    built = asrun.read(station, week)
    if built is not None:
        lines += loudness_lines(station, built)
    report = station.audio_report(week)
    if station.on_air:
        lines.append(f"timing    content {format_ms(show.total_ms)} in a {format_ms(show.slot_ms)} slot: "
                     f"{timing.against_slot(station, show)}")
    else:
        lines.append(f"timing    {format_ms(show.total_ms)}, podcast only, at most {format_ms(show.slot_ms)}")
    if report.is_file():
        lines.append(f"audio     {rel(report)} (waveform, loudness and every item of both masters)")
    republished = station.republished_dir(week) / "podcast.json"
    if republished.is_file():  # retractions: the podcast as published now, beside the masters as broadcast
        pod = json.loads(republished.read_text())["podcast"]
        lines.append(f"published {rel(republished.with_suffix('.mp3'))}: {format_ms(round(pod['seconds'] * 1000))}, "
                     f"without {', '.join(pod['retracted'])} (retracted)")
    root = station.publish_root
    lines.append(f"site      {rel(root / 'episodes' / week / 'index.html')}")
    lines.append(f"feed      {rel(root / 'feed.xml')} -> {station.feed_url}")
    return lines

"""The week's stages in order: script, assemble, tag, publish.

Each stage names its inputs, its outputs and its function. A stage runs when the fingerprint of its inputs
(text by content, audio by size and time, the upstream stage's fingerprint, the code itself) differs from the
one recorded when it last ran, or when an output is missing; otherwise it is skipped.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from radio import fsutil
from radio import rundown as rd
from radio.config import CONFIG_NAME
from radio.station import Station
from radio.errors import RadioError
from radio.script import status_table, write_script
from radio.summary import summary

Progress = Callable[[str, int, int, str], None]


# --- single stages, as the CLI calls them -----------------------------------------------------------

def as_run_actuals(station: Station, week: str) -> dict[str, int] | None:
    """Item durations in the on-air master, once it has been assembled."""
    path = station.out_dir(week) / "as-run.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {i["id"]: i["end_ms"] - i["start_ms"] for i in data["onair"]["items"]}


def timed(station: Station, week: str, *, accept_stale: bool = False) -> tuple[rd.Rundown, rd.ShowTime]:
    rundown = rd.load(station, week)
    return rundown, rd.timing(station, rundown, actuals=as_run_actuals(station, week), accept_stale=accept_stale)


def stale_gate(station: Station, week: str, *, allow_stale_take: bool = False) -> None:
    """Before anything is written: a recording made before its item's public text changed stops the build
    (radio/recorded.py), unless the producer says the change does not touch what was read."""
    from radio import recorded
    if rd.rundown_path(station, week).is_file():
        recorded.gate(recorded.stale(station, rd.load(station, week), accept=allow_stale_take))


def script_stage(station: Station, week: str) -> list[Path]:
    rundown, show = timed(station, week)
    return write_script(station, rundown, show)


def status_text(station: Station, week: str) -> str:
    rundown, show = timed(station, week)
    return status_table(station, rundown, show)


def assemble_stage(station: Station, week: str, *, draft: bool = False, allow_over: bool = False,
                   allow_clipped: bool = False, allow_stale_take: bool = False, progress=None):
    from radio.audio.assemble import assemble
    stale_gate(station, week, allow_stale_take=allow_stale_take)
    return assemble(station, week, draft=draft, allow_over=allow_over, allow_clipped=allow_clipped,
                    progress=progress)


def tag_stage(station: Station, week: str):
    from radio.tags import tag
    return tag(station, week)


def publish_stage(station: Station, week: str, *, allow_draft: bool = False):
    from radio.publish import publish
    return publish(station, week, allow_draft=allow_draft)


# --- fingerprints ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def code_version() -> str:
    """The package's own source and templates: a new version of radio re-runs every stage."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".html", ".md", ".css", ".toml", ".po"):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(station: Station, items: list[Path | str]) -> str:
    """Text by content; audio and images by size and modification time (hashing gigabytes would be slow)."""
    h = hashlib.sha256(code_version().encode())
    for item in items:
        if isinstance(item, str):
            h.update(b"s" + item.encode() + b"\0")
            continue
        rel = str(item.relative_to(station.root)) if item.is_relative_to(station.root) else str(item)
        if not item.exists():
            h.update(b"-" + rel.encode() + b"\0")
        elif item.suffix.lower() in (".md", ".yaml", ".toml", ".html", ".css", ".json", ".txt", ".csv"):
            h.update(b"t" + rel.encode() + b"\0" + item.read_bytes())
        else:
            st = item.stat()
            h.update(f"b{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:24]


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith(".")) \
        if folder.is_dir() else []


def _common(station: Station, week: str) -> list[Path]:
    return [station.root / CONFIG_NAME, *_files(station.week_dir(week) / "reports", "*.md"),
            rd.rundown_path(station, week), *_files(station.root / "templates")]


def _elements(station: Station) -> list[Path]:
    return [station.element_path(n) for n in sorted(station.config.elements)]


# --- the stage list ---------------------------------------------------------------------------------

@dataclass
class Options:
    draft: bool = False
    allow_over: bool = False
    allow_clipped: bool = False
    allow_stale_take: bool = False
    progress: Progress = lambda *a: None  # noqa: E731


@dataclass(frozen=True)
class Stage:
    name: str
    inputs: Callable[[Station, str, Options], list[Path | str]]
    outputs: Callable[[Station, str], list[Path]]
    run: Callable[[Station, str, Options], Any]


def _out(*names: str) -> Callable[[Station, str], list[Path]]:
    return lambda station, week: [station.out_dir(week) / n for n in names]


STAGES: list[Stage] = [
    Stage("script",
          inputs=lambda s, w, o: [*_common(s, w), *_elements(s)],
          outputs=_out("script.html", "script.md", "runsheet.html", "runsheet.csv"),
          run=lambda s, w, o: script_stage(s, w)),
    Stage("assemble",
          inputs=lambda s, w, o: [*_common(s, w), *_elements(s), *_files(s.edition_dir(w) / "segments"),
                                  f"draft={o.draft}", f"allow_over={o.allow_over}", f"allow_clipped={o.allow_clipped}",
                                  f"allow_stale_take={o.allow_stale_take}"],
          outputs=_out("onair.wav", "podcast.mp3", "as-run.json", "loudness.json"),
          run=lambda s, w, o: assemble_stage(s, w, draft=o.draft, allow_over=o.allow_over,
                                             allow_clipped=o.allow_clipped, allow_stale_take=o.allow_stale_take,
                                             progress=o.progress)),
    Stage("tag",
          inputs=lambda s, w, o: [*_common(s, w), s.path(s.config.podcast.cover, what="podcast.cover")],
          outputs=_out("podcast.mp3", "onair.wav"),
          run=lambda s, w, o: tag_stage(s, w)),
    Stage("publish",
          inputs=lambda s, w, o: [*_common(s, w), s.path(s.config.podcast.cover, what="podcast.cover"),
                                  *_files(s.week_dir(w) / "history"),  # corrections and retractions
                                  f"allow_draft={o.draft}"],
          outputs=lambda s, w: [s.root / "feeds" / s.config.show.slug / "feed.xml",
                                s.root / "feeds" / s.config.show.slug / "episodes" / w / "index.html"],
          run=lambda s, w, o: publish_stage(s, w, allow_draft=o.draft)),
]
UPSTREAM = {"assemble": None, "script": None, "tag": "assemble", "publish": "tag"}


@dataclass
class BuildResult:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    planned: bool = False
    summary: list[str] = field(default_factory=list)


def build_lock(station: Station):
    path = station.root / "episodes" / ".build.lock"
    return fsutil.locked(path, lambda: RadioError("another build of this station is running", where=path,
                                                  fix="wait for it to finish, then build again"))


@contextmanager
def alone(station: Station, week: str, stage: str) -> Iterator[None]:
    """One stage run by itself (`radio assemble`): under the build lock, and the build forgets that stage and
    every stage that builds on it, so the next build runs them again instead of trusting what this run
    replaced."""
    with build_lock(station):
        stamp_path = station.out_dir(week) / ".build.json"
        if stamp_path.is_file():
            later = {stage}
            for st in STAGES:  # in order, so a stage downstream of a downstream stage is found too
                if UPSTREAM.get(st.name) in later:
                    later.add(st.name)
            stamps = json.loads(stamp_path.read_text())
            fsutil.write_text(stamp_path, json.dumps({k: v for k, v in stamps.items() if k not in later}, indent=2,
                                                     sort_keys=True) + "\n")
        yield


def build(station: Station, week: str, opts: Options, on_stage: Callable[[str, str], None] | None = None) -> BuildResult:
    """Run the stages in order, skipping those whose inputs have not changed since they last ran."""
    on_stage = on_stage or (lambda name, state: None)
    result = BuildResult()
    with build_lock(station):
        if not rd.rundown_path(station, week).is_file():
            rd.plan(station, week)
            result.planned = True
        stale_gate(station, week, allow_stale_take=opts.allow_stale_take)
        stamp_path = station.out_dir(week) / ".build.json"
        stamps: dict[str, str] = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
        done: dict[str, str] = {}
        for stage in STAGES:
            up = UPSTREAM[stage.name]
            fp = fingerprint(station, [*stage.inputs(station, week, opts), f"upstream={done.get(up, '')}" if up else ""])
            fresh = stamps.get(stage.name) == fp and all(p.exists() for p in stage.outputs(station, week))
            if fresh:
                result.skipped.append(stage.name)
                on_stage(stage.name, "skipped (nothing changed)")
            else:
                on_stage(stage.name, "running")
                stamps.pop(stage.name, None)
                fsutil.write_text(stamp_path, json.dumps(stamps, indent=2, sort_keys=True) + "\n")
                stage.run(station, week, opts)
                stamps[stage.name] = fp
                fsutil.write_text(stamp_path, json.dumps(stamps, indent=2, sort_keys=True) + "\n")
                result.ran.append(stage.name)
                on_stage(stage.name, "done")
            done[stage.name] = fp
    result.summary = summary(station, week)
    return result

"""The week's stages declared once: for each, the stage it follows, what it reads, the options that change what
it makes (fingerprinted and saved with its record), and what it writes. radio/build.py runs them; this module
only says what they are, so timing, status and the studio can ask whether an output is current without
importing the stages that make it.

A stage runs when the fingerprint of its inputs (text by content, audio by size and time, the stage it follows,
its options, the code itself) differs from the one recorded when it last ran, or an output is missing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from radio import asrun, fsutil
from radio.config import CONFIG_NAME
from radio.errors import RadioError
from radio.rundown import model as rd
from radio.station import AUDIO_REPORT_PARTS, Station


Progress = Callable[[str, int, int, str], None]


@dataclass
class Options:
    draft: bool = False
    allow_over: bool = False
    allow_under: bool = False
    allow_clipped: bool = False
    allow_stale_take: bool = False
    decode_takes: bool = True  # measure takes before assembly (a build leaves it to assembly, which decodes them)
    progress: Progress = lambda *a: None  # noqa: E731


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package's own source and templates: a new version of radio re-runs every stage."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".html", ".md", ".css", ".toml", ".js", ".po"):
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
        if not item.is_file():
            h.update(b"-" + rel.encode() + b"\0")
        elif item.suffix.lower() in (".md", ".yaml", ".toml", ".html", ".css", ".json", ".txt", ".csv"):
            h.update(b"t" + rel.encode() + b"\0" + item.read_bytes())
        else:
            st = item.stat()
            h.update(f"b{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:24]


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if not p.name.startswith(".") and p.is_file()) \
        if folder.is_dir() else []


def _common(station: Station, week: str) -> list[Path]:
    """What every stage reads: the config, the desk, the rundown, the station's templates."""
    return [station.root / CONFIG_NAME, *_files(station.reports_dir(week), "*.md"),
            rd.rundown_path(station, week), *_files(station.root / "templates")]


def _sound(station: Station, week: str) -> list[Path]:
    """What timing reads besides: the station's sounds and the hosts' takes."""
    return [*(station.element_path(n) for n in sorted(station.config.elements)),
            *_files(station.segments_dir(week))]


def _cover(station: Station) -> Path:
    return station.path(station.config.podcast.cover, what="podcast.cover")


def _out(*names: str) -> Callable[[Station, str], list[Path]]:
    return lambda station, week: [station.out_dir(week) / n for n in names]


def _nothing(station: Station, week: str) -> list[Path]:
    return []


@dataclass(frozen=True)
class Stage:
    """One stage, declared once: `options` name the Options fields that change what it makes; they are part of
    its fingerprint and saved with its record, so a later reader can tell whether its outputs are current.
    `outputs` are what it always writes (a stage whose outputs are all there and whose fingerprint matches is
    current); `sometimes` what it writes only when the week calls for it. No two stages write the same file."""

    name: str
    after: str | None  # the stage whose output it reads
    reads: Callable[[Station, str], list[Path | str]]
    outputs: Callable[[Station, str], list[Path]]
    options: tuple[str, ...] = ()
    sometimes: Callable[[Station, str], list[Path]] = _nothing

    def inputs(self, station: Station, week: str, opts: Options) -> list[Path | str]:
        return [*self.reads(station, week), *(f"{o}={getattr(opts, o)}" for o in self.options)]

    def saved(self, opts: Options) -> dict[str, bool]:
        return {o: getattr(opts, o) for o in self.options}

    def writes(self, station: Station, week: str) -> list[Path]:
        return [*self.outputs(station, week), *self.sometimes(station, week)]


AUDIO_OPTIONS = ("draft", "allow_over", "allow_under", "allow_clipped", "allow_stale_take")

# The plan: the rundown from the show format and the verified reports. It runs when the week has no rundown (a
# build plans first) or when the producer asks (`radio plan`); once written, the rundown is the producer's to edit,
# so it is an input of every stage below and never remade behind the producer's back: no fingerprint.
PLAN = Stage("plan", None, reads=lambda s, w: [s.root / CONFIG_NAME, *_files(s.reports_dir(w), "*.md")],
             outputs=lambda s, w: [rd.rundown_path(s, w)])

# The fingerprinted stages, in the order a build runs them.
STAGES: list[Stage] = [
    Stage("script", None, reads=lambda s, w: [*_common(s, w), *_sound(s, w)],
          outputs=_out("script.html", "script.md")),
    # the masters are tagged before they take their names: the last step of assembly, so no stage rewrites them
    Stage("assemble", None, reads=lambda s, w: [*_common(s, w), *_sound(s, w), _cover(s)],
          outputs=lambda s, w: [*_out("onair.wav", "podcast.mp3", "as-run.json", "loudness.json", "tags.json")(s, w),
                                *(s.audio_report(w, part) for part in AUDIO_REPORT_PARTS)],
          options=AUDIO_OPTIONS),
    Stage("runsheet", "assemble", reads=lambda s, w: [*_common(s, w), *_sound(s, w), s.out_dir(w) / "as-run.json"],
          outputs=_out("runsheet.html", "runsheet.csv")),
    Stage("publish", "assemble",
          reads=lambda s, w: [*_common(s, w), _cover(s), s.out_dir(w) / "as-run.json", s.out_dir(w) / "tags.json",
                              *_files(s.history_dir(w))],  # corrections and retractions
          outputs=lambda s, w: [s.publish_root / "feed.xml", s.publish_root / "episodes" / w / "index.html"],
          sometimes=lambda s, w: [s.republished_dir(w) / "podcast.mp3", s.republished_dir(w) / "podcast.json"],
          options=("draft",)),
]
BY_NAME = {s.name: s for s in [PLAN, *STAGES]}


def options_key(name: str) -> str:
    """Where a stage's options are saved in the build record."""
    return f"{name}:options"


def build_lock(station: Station):
    path = station.build_lock_path
    return fsutil.locked(path, lambda: RadioError("another build of this station is running", where=path,
                                                  fix="wait for it to finish, then build again"))


KEEP = {".build.json", ".takes.json"}  # hidden files in out/ that are records, not leftovers


def sweep(station: Station, week: str) -> list[Path]:
    """Remove the temporary files a killed run left in out/ (half-written masters, mixes, drafts). Called under
    the build lock, so no running stage owns them."""
    out = station.out_dir(week)
    gone = []
    if out.is_dir():
        for p in sorted(out.rglob(".*")):
            if p.is_file() and not (p.parent == out and p.name in KEEP):
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


class Stamps:
    """out/.build.json: each stage's fingerprint when it last ran to the end, and the options assembly ran with."""

    def __init__(self, station: Station, week: str):
        self.path = station.out_dir(week) / ".build.json"
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}
        except ValueError:
            self.data = {}

    def save(self) -> None:
        fsutil.write_text(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")


def dependents(name: str) -> list[str]:
    """The stages that read what `name` writes, directly or through another."""
    out: list[str] = []
    for s in STAGES:
        if s.after == name or s.after in out:
            out.append(s.name)
    return out


def current(station: Station, week: str) -> asrun.Built | None:
    """The week's as-run, if it was assembled from the rundown, takes and config as they are now."""
    built = asrun.read(station, week)
    if built is None:
        return None
    stamps = Stamps(station, week)
    used = stamps.data.get(options_key("assemble"))
    if not isinstance(used, dict) or "assemble" not in stamps.data:
        return None
    stage = BY_NAME["assemble"]
    opts = Options(**{o: bool(used.get(o, False)) for o in stage.options})
    fp = fingerprint(station, stage.inputs(station, week, opts))
    return built if fp == stamps.data["assemble"] else None

"""The week's stages, forward only: plan → script → assemble → run sheet → tag → publish.

Each stage reads only what the producer, the hosts and the stages before it wrote, never a later stage's
output: the script (for the host: estimates) is made from the rundown and the takes; assembly makes the masters
and the as-run; the run sheet (as aired: actual times) is made from the as-run; tags from the as-run; publish
from what tag wrote. Each stage names its inputs, its outputs and its function. It runs when the fingerprint of
its inputs (text by content, audio by size and time, the stage it follows, the code itself) differs from the
one recorded when it last ran, or an output is missing; otherwise it is skipped. The same record (out/.build.json)
keeps what ffprobe said about each sound, by size and time, so a rebuild that changes nothing starts no ffprobe.

Every stage runs under the station's build lock, whether `radio build` runs them all or a command runs one;
a stage run on its own forgets the record of the stages after it, so the next build runs them again. At the
start of every run, temporary files left by a run that was killed are swept.
"""

from __future__ import annotations

import dataclasses

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from radio import asrun, fsutil, gates, media
from radio.rundown import model as rd
from radio.rundown.plan import plan
from radio import timing
from radio.config import CONFIG_NAME
from radio.errors import RadioError, warn
from radio.station import Station

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


def stale_gate(station: Station, week: str, *, allow_stale_take: bool = False,
               rundown: rd.Rundown | None = None) -> None:
    """Before anything is written: a recording made before its item's public text changed stops the build
    (radio/recorded.py), unless the producer says the change does not touch what was read. `rundown`: the week's,
    when the caller has just loaded it."""
    from radio import recorded
    if rundown is not None or rd.rundown_path(station, week).is_file():
        recorded.gate(recorded.stale(station, rundown if rundown is not None else rd.load(station, week),
                                     accept=allow_stale_take))


# --- fingerprints ----------------------------------------------------------------------------------

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


def _takes_and_sounds(station: Station, rundown: rd.Rundown) -> list[Path]:
    """The files timing measures: each spoken item's take and the station's sounds."""
    from radio import takes
    found = takes.scan(station, rundown.week, [e.id for e in rundown.entries if e.item.type in rd.SPEECH])
    paths = list(found.recordings.values())
    for name in sorted(station.config.elements):
        try:
            path = station.element_path(name)
        except RadioError:  # timing and the fingerprints say what is wrong with it
            continue
        if path.is_file():
            paths.append(path)
    return paths


def _cover(station: Station) -> Path:
    return station.path(station.config.podcast.cover, what="podcast.cover")


def _out(*names: str) -> Callable[[Station, str], list[Path]]:
    return lambda station, week: [station.out_dir(week) / n for n in names]


# --- the stages -------------------------------------------------------------------------------------

def timed(station: Station, week: str, *, as_run: bool = True, rundown: rd.Rundown | None = None,
          decode_takes: bool = True) -> tuple[rd.Rundown, timing.ShowTime]:
    """The week's rundown and its times: the one function status, the run sheet and the build summary read, so
    they always give the same total. With `as_run`, and an as-run assembled from the rundown and takes as they
    are now, the times are where the items are in the on-air master. `rundown`: the week's, when the caller has
    just loaded it."""
    rundown = rundown if rundown is not None else rd.load(station, week)
    built = current(station, week) if as_run else None
    return rundown, timing.show_time(station, rundown, as_run=built.as_run if built else None, decode_takes=decode_takes)


def run_script(station: Station, week: str, opts: Options) -> list[Path]:
    from radio.script import write_script  # jinja2 and the templates: only when a page is made
    rundown, show = timed(station, week, as_run=False, decode_takes=opts.decode_takes)
    return write_script(station, rundown, show)


def run_assemble(station: Station, week: str, opts: Options):
    from radio.audio.assemble import assemble
    rundown = rd.load(station, week)
    stale_gate(station, week, allow_stale_take=opts.allow_stale_take, rundown=rundown)
    # assembly measures every take on the samples it decodes: not decoded a second time for this
    rundown, show = timed(station, week, as_run=False, rundown=rundown, decode_takes=False)
    gates.before_assembly(station, rundown, show, opts.draft, opts.allow_over)
    result = assemble(station, week, draft=opts.draft, allow_over=opts.allow_over, allow_clipped=opts.allow_clipped,
                      progress=opts.progress)
    gates.masters(station, week, asrun.read(station, week), allow_under=opts.allow_under)
    return result


def run_runsheet(station: Station, week: str, opts: Options) -> list[Path]:
    from radio.script import write_runsheet
    return write_runsheet(station, *timed(station, week))


def run_tag(station: Station, week: str, opts: Options):
    from radio.tags import tag
    return tag(station, week)


def run_publish(station: Station, week: str, opts: Options):
    from radio.publish import publish
    gates.masters(station, week, asrun.read(station, week), allow_under=_assembled_with(station, week, "allow_under"))
    return publish(station, week, allow_draft=opts.draft)


@dataclass(frozen=True)
class Stage:
    name: str
    after: str | None  # the stage whose output it reads
    inputs: Callable[[Station, str, Options], list[Path | str]]
    outputs: Callable[[Station, str], list[Path]]
    run: Callable[[Station, str, Options], Any]


STAGES: list[Stage] = [
    Stage("script", None,
          inputs=lambda s, w, o: [*_common(s, w), *_sound(s, w)],
          outputs=_out("script.html", "script.md"), run=run_script),
    Stage("assemble", None,
          inputs=lambda s, w, o: [*_common(s, w), *_sound(s, w), f"draft={o.draft}", f"allow_over={o.allow_over}",
                                  f"allow_under={o.allow_under}", f"allow_clipped={o.allow_clipped}",
                                  f"allow_stale_take={o.allow_stale_take}"],
          outputs=_out("onair.wav", "podcast.mp3", "as-run.json", "loudness.json"), run=run_assemble),
    Stage("runsheet", "assemble",
          inputs=lambda s, w, o: [*_common(s, w), *_sound(s, w), s.out_dir(w) / "as-run.json"],
          outputs=_out("runsheet.html", "runsheet.csv"), run=run_runsheet),
    Stage("tag", "assemble",
          inputs=lambda s, w, o: [*_common(s, w), _cover(s), s.out_dir(w) / "as-run.json",
                                  s.out_dir(w) / "loudness.json"],
          outputs=_out("podcast.mp3", "onair.wav", "tags.json"), run=run_tag),
    Stage("publish", "tag",
          inputs=lambda s, w, o: [*_common(s, w), _cover(s), s.out_dir(w) / "as-run.json", s.out_dir(w) / "tags.json",
                                  *_files(s.history_dir(w)),  # corrections and retractions
                                  f"allow_draft={o.draft}"],
          outputs=lambda s, w: [s.publish_root / "feed.xml", s.publish_root / "episodes" / w / "index.html"],
          run=run_publish),
]
BY_NAME = {s.name: s for s in STAGES}


# --- running them -----------------------------------------------------------------------------------

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


@contextmanager
def probes(station: Station, week: str, stamps: Stamps) -> Iterator[None]:
    """What ffprobe said about the week's sounds, kept in the build record between runs (radio/media.py): a
    rebuild that changes no sound probes none. Saved however the block ends, and only when it changed."""
    media.recall(station.root, stamps.data.get("probes"))
    try:
        yield
    finally:
        try:
            now = media.records(station.root, _sound(station, week))
        except RadioError:  # a sound radio.toml names wrongly: the stage that reads it says so
            now = stamps.data.get("probes")
        if now != stamps.data.get("probes"):
            stamps.data["probes"] = now
            stamps.save()


def _fingerprints(station: Station, week: str, opts: Options) -> dict[str, str]:
    done: dict[str, str] = {}
    for stage in STAGES:
        up = [f"after={done[stage.after]}"] if stage.after else []
        done[stage.name] = fingerprint(station, [*stage.inputs(station, week, opts), *up])
    return done


def dependents(name: str) -> list[str]:
    """The stages that read what `name` writes, directly or through another."""
    out: list[str] = []
    for s in STAGES:
        if s.after == name or s.after in out:
            out.append(s.name)
    return out


def _run(station: Station, week: str, stage: Stage, opts: Options, stamps: Stamps, fp: str | None) -> Any:
    # forget this stage and the ones that read its output first: a run that stops half-way (or a stage run on
    # its own, remaking files a later stage had changed) is never taken for done
    for name in [stage.name, *dependents(stage.name)]:
        stamps.data.pop(name, None)
    stamps.save()
    value = stage.run(station, week, opts)
    if fp is not None:
        stamps.data[stage.name] = fp
        if stage.name == "assemble":
            stamps.data["assemble:options"] = {"draft": opts.draft, "allow_over": opts.allow_over,
                                               "allow_under": opts.allow_under, "allow_clipped": opts.allow_clipped}
        stamps.save()
    return value


def run_stage(station: Station, week: str, name: str, opts: Options | None = None) -> Any:
    """One stage on its own, as the CLI's single-stage commands run it: under the lock, after a sweep."""
    opts = opts or Options()
    with build_lock(station):
        sweep(station, week)
        stamps = Stamps(station, week)
        with probes(station, week, stamps):
            fp = _fingerprints(station, week, opts)[name]
            return _run(station, week, BY_NAME[name], opts, stamps, fp)


def _assembled_with(station: Station, week: str, option: str) -> bool:
    return bool(Stamps(station, week).data.get("assemble:options", {}).get(option))


def current(station: Station, week: str) -> asrun.Built | None:
    """The week's as-run, if it was assembled from the rundown, takes and config as they are now."""
    built = asrun.read(station, week)
    if built is None:
        return None
    stamps = Stamps(station, week)
    used = stamps.data.get("assemble:options")
    if not used or "assemble" not in stamps.data:
        return None
    opts = Options(draft=used.get("draft", False), allow_over=used.get("allow_over", False),
                   allow_under=used.get("allow_under", False), allow_clipped=used.get("allow_clipped", False))
    fp = fingerprint(station, BY_NAME["assemble"].inputs(station, week, opts))
    return built if fp == stamps.data["assemble"] else None


@dataclass
class BuildResult:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    planned: bool = False
    swept: list[Path] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def build(station: Station, week: str, opts: Options, on_stage: Callable[[str, str], None] | None = None) -> BuildResult:
    """Run the stages in order, skipping those whose inputs have not changed since they last ran."""
    on_stage = on_stage or (lambda name, state: None)
    opts = dataclasses.replace(opts, decode_takes=False)  # assembly decodes every take anyway, and checks it then
    result = BuildResult()
    with build_lock(station):
        result.swept = sweep(station, week)
        if not rd.rundown_path(station, week).is_file():
            plan(station, week)
            result.planned = True
        stamps = Stamps(station, week)
        with probes(station, week, stamps):
            # no stage writes the rundown or the reports: loaded once, it is the rundown of the whole build
            rundown = rd.load(station, week)
            stale_gate(station, week, allow_stale_take=opts.allow_stale_take, rundown=rundown)
            media.probe_ahead(_takes_and_sounds(station, rundown))
            rundown, show = timed(station, week, as_run=False, rundown=rundown, decode_takes=False)
            for line in show.notes:
                warn(line)
            done: dict[str, str] = {}
            for stage in STAGES:
                up = [f"after={done[stage.after]}"] if stage.after else []
                fp = fingerprint(station, [*stage.inputs(station, week, opts), *up])
                fresh = stamps.data.get(stage.name) == fp and all(p.exists() for p in stage.outputs(station, week))
                if fresh:
                    result.skipped.append(stage.name)
                    on_stage(stage.name, "skipped (nothing changed)")
                else:
                    on_stage(stage.name, "running")
                    _run(station, week, stage, opts, stamps, fp)
                    result.ran.append(stage.name)
                    on_stage(stage.name, "done")
                done[stage.name] = fp
            from radio.summary import summary
            result.summary = summary(station, week, *timed(station, week, rundown=rundown))
    return result


def status_text(station: Station, week: str) -> str:
    from radio.script import status_table
    media.recall(station.root, Stamps(station, week).data.get("probes"))  # read only: a build may be running
    rundown, show = timed(station, week)
    return status_table(station, rundown, show)

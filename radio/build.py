"""Running the week's stages, forward only: plan → script → assemble → run sheet → publish.

Each stage reads only what the producer, the hosts and the stages before it wrote, never a later stage's
output: the script (for the host: estimates) is made from the rundown and the takes; assembly makes the masters
and the as-run, and tags them before they take their names; the run sheet (as aired: actual times) is made from
the as-run; publish from the tagged masters. Each stage is declared once in radio/stages.py (what it follows,
reads, writes, and the options that change it); here each has its function. It runs when the fingerprint of its
inputs differs from the one recorded when it last ran, or an output is missing; otherwise it is skipped. The same
record (out/.build.json) keeps what ffprobe said about each sound, by size and time, so a rebuild that changes
nothing starts no ffprobe.

Every stage runs under the station's build lock, whether `radio build` runs them all or a command runs one;
a stage run on its own forgets the record of the stages after it, so the next build runs them again. At the
start of every run, temporary files left by a run that was killed are swept.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from radio import asrun, gates, media
from radio.errors import RadioError, warn
from radio.keys import digests
from radio.rundown import model as rd
from radio.rundown.plan import plan
from radio.stages import (BY_NAME, PLAN, STAGES, Options, Stage, Stamps, _sound, build_lock, dependents, fingerprint,
                          options_key, sweep)
from radio.station import Station
from radio.timing import timed


def stale_gate(station: Station, week: str, *, allow_stale_take: bool = False,
               rundown: rd.Rundown | None = None) -> None:
    """Before anything is written: a recording made before its item's public text changed stops the build
    (radio/recorded.py), unless the producer says the change does not touch what was read. `rundown`: the week's,
    when the caller has just loaded it."""
    from radio import recorded
    if rundown is not None or rd.rundown_path(station, week).is_file():
        recorded.gate(recorded.stale(station, rundown if rundown is not None else rd.load(station, week),
                                     accept=allow_stale_take))


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


# --- what each stage does ---------------------------------------------------------------------------


def run_script(station: Station, week: str, opts: Options) -> list[Path]:
    from radio.script import reminders, write_script  # jinja2 and the templates: only when a page is made
    rundown, show = timed(station, week, as_run=False, decode_takes=opts.decode_takes)
    return write_script(station, rundown, show, reminders(station, rundown))


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
    from radio.script import reminders, write_runsheet
    rundown, show = timed(station, week)
    return write_runsheet(station, rundown, show, reminders(station, rundown))


def run_publish(station: Station, week: str, opts: Options):
    from radio.publish import publish
    gates.masters(station, week, asrun.read(station, week), allow_under=_assembled_with(station, week, "allow_under"))
    return publish(station, week, allow_draft=opts.draft)


RUN: dict[str, Callable[[Station, str, Options], Any]] = {
    "script": run_script, "assemble": run_assemble, "runsheet": run_runsheet, "publish": run_publish}


# --- running them -----------------------------------------------------------------------------------


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


def _run(station: Station, week: str, stage: Stage, opts: Options, stamps: Stamps, fp: str | None) -> Any:
    # forget this stage and the ones that read its output first: a run that stops half-way (or a stage run on
    # its own, remaking files a later stage had changed) is never taken for done
    for name in [stage.name, *dependents(stage.name)]:
        stamps.data.pop(name, None)
        stamps.data.pop(options_key(name), None)
    stamps.save()
    value = RUN[stage.name](station, week, opts)
    if fp is not None:
        stamps.data[stage.name] = fp
        if stage.options:  # every option in the fingerprint is saved: a later reader can remake it
            stamps.data[options_key(stage.name)] = stage.saved(opts)
        stamps.save()
    return value


def run_stage(station: Station, week: str, name: str, opts: Options | None = None) -> Any:
    """One stage on its own, as the CLI's single-stage commands run it: under the lock, after a sweep."""
    opts = opts or Options()
    with build_lock(station), digests.producing():
        sweep(station, week)
        stamps = Stamps(station, week)
        with probes(station, week, stamps):
            fp = _fingerprints(station, week, opts)[name]
            return _settled(_run(station, week, BY_NAME[name], opts, stamps, fp))


def _settled(value: Any) -> Any:
    """A stage may leave work going behind it (assembly draws its audio report while the stages after it run):
    waited for here, and what failed in it raised."""
    wait = getattr(value, "wait", None)
    if callable(wait):
        wait()
    return value


def _assembled_with(station: Station, week: str, option: str) -> bool:
    return bool(Stamps(station, week).data.get(options_key("assemble"), {}).get(option))


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
    with build_lock(station), digests.producing():  # every output checked in full, or none made
        result.swept = sweep(station, week)
        if not all(p.is_file() for p in PLAN.outputs(station, week)):  # the rundown, once, then the producer's
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
            behind: list[Any] = []  # what stages left going: waited for, whatever happens after
            ok = False
            try:
                for stage in STAGES:
                    up = [f"after={done[stage.after]}"] if stage.after else []
                    fp = fingerprint(station, [*stage.inputs(station, week, opts), *up])
                    fresh = stamps.data.get(stage.name) == fp and all(p.exists() for p in stage.outputs(station, week))
                    if fresh:
                        result.skipped.append(stage.name)
                        on_stage(stage.name, "skipped (nothing changed)")
                    else:
                        on_stage(stage.name, "running")
                        behind.append(_run(station, week, stage, opts, stamps, fp))
                        result.ran.append(stage.name)
                        on_stage(stage.name, "done")
                    done[stage.name] = fp
                ok = True
            finally:
                for value in behind:
                    try:
                        _settled(value)
                    except RadioError:
                        if ok:  # else the error already on its way is the one to tell
                            raise
            from radio.summary import summary
            result.summary = summary(station, week, *timed(station, week, rundown=rundown))
    return result


def status_text(station: Station, week: str) -> str:
    from radio.script import status_table
    media.recall(station.root, Stamps(station, week).data.get("probes"))  # read only: a build may be running
    rundown, show = timed(station, week, record=False)  # status only reads: it writes nothing
    return status_table(station, rundown, show)

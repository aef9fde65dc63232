"""Source protection across the whole week: every public word is drawn from the current report when an output is
made, so a hold, a rejection or a lowered exposure after planning reaches every output; the desk's writes are
locked; no command prints a private value; nothing under private/ is published."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from radio.station import Station
from radio.withheld import find_withheld, normalise
from tests.audio_util import WEEK, tiny_station, tone
from tests.canary import assert_clean, leaks, plant
from tests.conftest import runner_for
from tests.test_tags import make_cover

TOWN = "Kestrel Ridge"
REGION = "North Basin"
FORMAT = '["element:theme", "welcome", "headlines", "news", "appeals", "closing", "element:theme"]'
SPEECH = ("welcome", "headlines", "first-story", "second-story", "appeals", "closing")


def protection_station(root: Path, *, record: bool = True) -> Path:
    """The tiny station with headlines and appeals, and a first story that names its town (exposure named)."""
    tiny_station(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace(
        'format = ["element:theme", "welcome", "news", "closing", "element:theme"]', f"format = {FORMAT}"))
    first = root / "episodes" / WEEK / "reports" / "first-story.md"
    first.write_text(first.read_text()
                     .replace("title: First fictional story", f"title: Miners at {TOWN} strike")
                     .replace("region: Test Region", f"place: {TOWN}\nregion: {REGION}")
                     .replace("exposure: regional", f"exposure: named\nappeal: Write to the {TOWN} strike committee.")
                     .replace("Workers held a meeting today.", f"Workers in {TOWN} held a meeting today. FIRSTBODY."))
    second = root / "episodes" / WEEK / "reports" / "second-story.md"
    second.write_text(second.read_text().replace("exposure: regional", "exposure: regional\nappeal: Send SECONDAPPEAL.")
                      .replace("Workers held a meeting today.", "Workers held a meeting today. SECONDBODY."))
    (root / "episodes" / WEEK / "rundown.yaml").unlink()
    make_cover(root / "elements" / "cover.png")
    if record:
        seg = root / "episodes" / WEEK / "segments"
        for i, item in enumerate(SPEECH):
            tone(seg / f"{item}.wav", 300 + 150 * i, 1.5, -18)
    return root


def rerecord(root: Path, *items: str) -> None:
    """The host reads the items again from the new script (a recording made before its words changed is
    refused: tests/test_stale_takes.py)."""
    for i, item in enumerate(items):
        tone(root / "episodes" / WEEK / "segments" / f"{item}.wav", 520 + 40 * i, 1.6, -18)


def outputs(root: Path) -> list[Path]:
    return [root / "episodes" / WEEK / "out", root / "feeds"]


def text_of(root: Path) -> str:
    """Every output file as text, in the encodings tags use, for plain searches."""
    chunks = []
    for folder in outputs(root):
        for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if p.is_file():
                data = p.read_bytes()
                chunks += [data.decode("utf-8", "ignore"), data.decode("utf-16-le", "ignore"),
                           data.decode("utf-16-be", "ignore")]
    return "\n".join(chunks)


def names(text: str, name: str) -> bool:
    """An independent reading of "does the output name it": case and every kind of space ignored."""
    flat = re.sub(r"[\s\u00ad\u200b]+", " ", text.replace("\u00ad", "")).casefold()
    return name.casefold() in flat or name.casefold().replace(" ", "") in flat.replace(" ", "")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return protection_station(tmp_path_factory.mktemp("protect") / "st")


@pytest.fixture
def station(template, tmp_path) -> Path:
    import shutil
    dest = tmp_path / "st"
    shutil.copytree(template, dest, symlinks=True)
    return dest


def reports(root: Path) -> Path:
    return root / "episodes" / WEEK / "reports"


# --- Found 1: exposure lowered after planning ---------------------------------------------------------

def test_exposure_lowered_after_planning_leaves_no_trace_of_the_town(station):
    run = runner_for(station)
    canaries = plant(station)
    assert run("plan", WEEK).exit_code == 0
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    assert names(text_of(station), TOWN)  # named: it was published, so the test can see it go
    # the editor lowers the exposure because a source is threatened, and scrubs the town from the report
    first = reports(station) / "first-story.md"
    edit(first, "exposure: named", "exposure: regional")
    edit(first, f"title: Miners at {TOWN} strike", "title: Miners in the north strike")
    edit(first, f"Workers in {TOWN} held", "Workers held")
    edit(first, f"Write to the {TOWN} strike committee.", "Write to the strike committee.")
    # its public id was made from the old title, which named the town: kept off the air until it is replaced
    r = run("build", WEEK)
    assert r.exit_code == 1 and "radio report public-id first-story --new" in r.err and not names(r.err, TOWN)
    r = run("report", "public-id", "first-story", "--new")
    assert r.exit_code == 0 and not names(r.out + r.err, TOWN), r.out + r.err
    rerecord(station, "headlines", "first-story", "appeals")
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    assert "script: running" in r.err and "publish: running" in r.err  # exposure is a build input
    published = text_of(station)
    assert not names(published, TOWN)
    assert "Miners in the north strike" in published and "Write to the strike committee." in published
    assert_clean(outputs(station), canaries, min_files=10)


def test_exposure_lowered_without_scrubbing_drops_the_report_everywhere(station):
    run = runner_for(station)
    assert run("plan", WEEK).exit_code == 0
    edit(reports(station) / "first-story.md", "exposure: named", "exposure: regional")
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[0] == ("dropped first-story: report first-story names its withheld place in the title "
                                     "(exposure regional)")
    published = text_of(station)
    assert not names(published, TOWN) and "FIRSTBODY" not in published
    assert "SECONDBODY" in published


# --- Found 2: a held report after a hand-edited rundown ----------------------------------------------

def test_edit_rundown_hold_plan_force_build_drops_every_trace(station):
    run = runner_for(station)
    assert run("plan", WEEK).exit_code == 0
    assert run("build", WEEK).exit_code == 0
    feed = (station / "feeds" / "st" / "feed.xml").read_bytes()
    rundown = station / "episodes" / WEEK / "rundown.yaml"
    edit(rundown, "  - id: closing\n", "  # producer: read this one slowly\n  - id: closing\n")
    assert run("report", "hold", "first-story", "--private-note", "the source asked us to wait").exit_code == 0
    # the masters made before the hold hold its voice: publish will not touch them
    for cmd in ("publish",):
        r = run(cmd, WEEK)
        assert r.exit_code == 1, r.out
        assert r.err.startswith(f"error: {station / 'episodes' / WEEK / 'out' / 'as-run.json'}: the masters were "
                                "mixed with first-story, no longer in the show (dropped first-story: report "
                                "first-story is held)"), r.err
    assert (station / "feeds" / "st" / "feed.xml").read_bytes() == feed
    r = run("plan", WEEK, "--force")
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[0] == "removed first-story: report first-story is held"
    assert "producer: read this one slowly" in rundown.read_text()
    rerecord(station, "headlines", "appeals")
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    published = text_of(station)
    for trace in (TOWN, "FIRSTBODY", "Miners at", "strike committee"):
        assert not names(published, trace), trace
    assert "SECONDBODY" in published and "SECONDAPPEAL" in published
    # the held item is not in the masters either: the as-run lists what was mixed
    as_run = (station / "episodes" / WEEK / "out" / "as-run.json").read_text()
    assert "first-story" not in as_run


def test_a_rundown_planned_with_copies_is_migrated_by_plan_force(station):
    """A rundown written before references kept the headlines and appeals as text: --force makes them drawn."""
    run = runner_for(station)
    assert run("plan", WEEK).exit_code == 0
    rundown = station / "episodes" / WEEK / "rundown.yaml"
    edit(rundown, "    generated: headlines\n", f"    text: The headlines. Miners at {TOWN} strike.\n")
    edit(rundown, "    generated: appeals\n", f"    text: Before we go, how you can help. Write to the {TOWN} "
                                              "strike committee.\n")
    run("report", "hold", "first-story", "--private-note", "x")
    r = run("plan", WEEK, "--force")
    assert r.exit_code == 0, r.err
    assert "headlines: now drawn from the reports on air at every build (was a copy)" in r.out
    assert TOWN not in rundown.read_text()
    assert run("script", WEEK).exit_code == 0
    assert not names((station / "episodes" / WEEK / "out" / "script.md").read_text(), TOWN)


def test_producer_words_are_checked_against_withheld_details_on_every_build(station):
    run = runner_for(station)
    assert run("plan", WEEK).exit_code == 0
    rundown = station / "episodes" / WEEK / "rundown.yaml"
    edit(rundown, "    report: first-story\n", f"    report: first-story\n    title: {TOWN} strike\n"
                                               "    headline: A strike in the north.\n")
    assert run("script", WEEK).exit_code == 0  # named: allowed
    edit(reports(station) / "first-story.md", "exposure: named", "exposure: regional")
    edit(reports(station) / "first-story.md", f"title: Miners at {TOWN} strike", "title: Miners strike")
    edit(reports(station) / "first-story.md", f"Workers in {TOWN} held", "Workers held")
    edit(reports(station) / "first-story.md", f"Write to the {TOWN} strike", "Write to the strike")
    r = run("script", WEEK)
    assert r.exit_code == 1
    assert r.err == (f"error: {rundown}: item first-story: the title names the withheld place of report first-story "
                     "(rewrite the title without it (see `radio report show first-story`), or remove it to use the "
                     "report's own words)\n")
    assert TOWN not in r.err  # the withheld value is not printed
    # words on an item without a report are held to every report's withheld details
    edit(rundown, f"    title: {TOWN} strike\n", "")
    edit(rundown, "  - id: welcome\n", f"  - id: welcome\n    notes: mention Kestrel\u00a0ridge\n")
    r = run("script", WEEK)
    assert r.exit_code == 1 and "item welcome: the notes names the withheld place of report first-story" in r.err
    edit(rundown, "    notes: mention Kestrel\u00a0ridge\n", "")
    assert run("script", WEEK).exit_code == 0
    script = (station / "episodes" / WEEK / "out" / "script.md").read_text()
    assert "A strike in the north." in script and not names(script, TOWN)


# --- Found 3: the withheld-detail check on normalised text -------------------------------------------

@pytest.mark.parametrize("text", [
    "Workers in Kestrel\nRidge met.", "Workers in Kestrel\u00a0Ridge met.", "Workers in Kes\u00adtrel Ridge met.",
    "Workers in KESTREL RIDGE met.", "Workers in kestrel  \t ridge met.", "Kestrel Ridge's miners met.",
    "The Kestrel-Ridge pit.", "The KestrelRidge pit.", "Ｋｅｓｔｒｅｌ Ｒｉｄｇｅ", "Kestrel\u200bRidge",
    "Késtrel Ridge", "Kestrel\r\n  Ridgeway",
])
def test_withheld_names_are_found_however_they_are_written(text):
    assert find_withheld(text, [("place", "Kestrel Ridge")]) == ("place", "Kestrel Ridge")


@pytest.mark.parametrize("text", ["A kestrel flew over the ridge.", "Workers at the Ridge", "UnKestrel Ridge", ""])
def test_other_words_are_not_taken_for_a_withheld_name(text):
    assert find_withheld(text, [("place", "Kestrel Ridge")]) is None


def test_normalise():
    assert normalise("  Kes\u00adtrel\u00a0\nRIDGE\u2003x ") == "kestrel ridge x"


@pytest.mark.parametrize("body", ["Workers in Kestrel\nRidge met.", "Workers in Kestrel\u00a0Ridge met.",
                                  "Workers in Kes\u00adtrel Ridge met.", "Workers in kestrel ridge met."])
def test_line_wrapping_does_not_beat_the_report_check(station, body):
    run = runner_for(station)
    path = reports(station) / "first-story.md"
    edit(path, "exposure: named", "exposure: regional")
    edit(path, f"title: Miners at {TOWN} strike", "title: Miners strike")
    edit(path, f"Write to the {TOWN} strike", "Write to the strike")
    edit(path, f"Workers in {TOWN} held a meeting today.", body)
    r = run("report", "show", "first-story")
    assert r.exit_code == 1 and "the text names the withheld place (exposure regional)" in r.err
    r = run("plan", WEEK)
    assert r.out.splitlines()[0] == "left out first-story: report first-story names its withheld place in the text " \
                                    "(exposure regional)"
    assert run("script", WEEK).exit_code == 0
    assert not names((station / "episodes" / WEEK / "out" / "script.md").read_text(), TOWN)


# --- Found 4: concurrent desk writes ------------------------------------------------------------------

def _radio(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "radio", "--station", str(root), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_ten_parallel_verifies_save_ten_checks(station):
    from radio.reports.files import find_report
    procs = [_radio(station, "report", "verify", "second-story", "--by", f"editor{i}", "--method", "phone")
             for i in range(10)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    checks = find_report(Station.open(station), "second-story").report.checks
    assert len(checks) == 12  # the two it had, and ten new ones
    assert {c.by for c in checks} >= {f"editor{i}" for i in range(10)}
    # each command said what it saved: the counts it printed are all different
    counts = sorted(int(out.split(": ")[1].split("/")[0]) for _, out, _ in results)
    assert counts == list(range(3, 13))


def test_verify_and_hold_at_the_same_moment_end_held(station):
    from radio.reports.files import find_report
    path = reports(station) / "first-story.md"
    for rnd in range(4):
        procs = [_radio(station, "report", "verify", "first-story", "--by", f"e{rnd}", "--method", "visit"),
                 _radio(station, "report", "hold", "first-story", "--private-note", "threat"),
                 _radio(station, "report", "verify", "first-story", "--by", f"f{rnd}", "--method", "document")]
        results = [(p.wait(timeout=300), p.stdout.read()) for p in procs]
        assert all(code == 0 for code, _ in results), results
        assert results[1][1] == "first-story: status held\n"
        report = find_report(Station.open(station), "first-story").report
        assert report.status == "held", (rnd, path.read_text())
        assert {"e%d" % rnd, "f%d" % rnd} <= {c.by for c in report.checks}
        assert runner_for(station)("report", "reopen", "first-story").exit_code == 0


def test_a_locked_report_fails_loudly_and_changes_nothing(station, monkeypatch):
    import fcntl

    from radio.reports import files as rp
    path = reports(station) / "first-story.md"
    before = path.read_bytes()
    monkeypatch.setattr(rp, "LOCK_WAIT_S", 0.2)
    with open(path.with_name(".first-story.lock"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        r = runner_for(station)("report", "hold", "first-story", "--private-note", "x")
    assert r.exit_code == 1
    assert r.err == f"error: {path}: another desk command is still changing this report (nothing was changed; run " \
                    "the command again)\n"
    assert r.out == "" and path.read_bytes() == before


# --- Found 5: stage commands and the build lock ------------------------------------------------------

def test_stage_commands_take_the_build_lock_and_invalidate_later_stages(station):
    from radio.stages import build_lock
    run = runner_for(station)
    assert run("plan", WEEK).exit_code == 0
    assert run("build", WEEK).exit_code == 0
    with build_lock(Station.open(station)):
        for cmd in ("script", "assemble", "publish"):
            r = run(cmd, WEEK)
            assert r.exit_code == 1 and "another build of this station is running" in r.err, (cmd, r.err)
    r = run("assemble", WEEK)
    assert r.exit_code == 0, r.err
    r = run("build", WEEK)  # the masters were made again: what reads them must run again
    assert r.exit_code == 0, r.err
    assert "script: skipped (nothing changed)" in r.err and "assemble: skipped (nothing changed)" in r.err
    assert "runsheet: running" in r.err and "publish: running" in r.err
    assert runner_for(station)("check").exit_code == 0


@pytest.mark.parametrize("old,new", [("status: verified", "status: unverified"), ("exposure: named", "exposure: none"),
                                     (f"appeal: Write to the {TOWN}", "appeal: Write to the")])
def test_exposure_status_and_appeal_are_build_inputs(station, old, new):
    from radio.stages import STAGES, Options, fingerprint
    st = Station.open(station)
    runner_for(station)("plan", WEEK)
    before = {s.name: fingerprint(st, s.inputs(st, WEEK, Options())) for s in STAGES}
    edit(reports(station) / "first-story.md", old, new)
    after = {s.name: fingerprint(st, s.inputs(st, WEEK, Options())) for s in STAGES}
    assert all(before[n] != after[n] for n in before)


# --- Found 6: no private value on stderr ---------------------------------------------------------------

@pytest.mark.parametrize("verbose", [(), ("-v",)])
def test_a_duplicate_private_key_names_key_and_line_only(station, verbose):
    path = reports(station) / "first-story.md"
    edit(path, "private:\n  correspondent: x\n", "private:\n  correspondent: SECRETONE\n  contact: +00 1\n"
                                                  "  correspondent: SECRETTWO\n")
    run = runner_for(station)
    for args in (("report", "list", WEEK), ("report", "show", "first-story"), ("plan", WEEK),
                 ("report", "verify", "first-story", "--by", "a", "--method", "b")):
        r = run(*verbose, *args)
        assert r.exit_code == 1
        assert "SECRET" not in r.out + r.err, args
        line = next(i for i, t in enumerate(path.read_text().splitlines(), start=1) if "SECRETTWO" in t)
        assert f"first-story.md:{line}: malformed YAML: duplicate key 'correspondent'" in r.err


def test_a_broken_correspondents_register_is_not_quoted(station):
    plant(station)
    reg = station / "private" / "correspondents.yaml"
    reg.write_text("lantern: {name: SECRETNAME, contact: SECRETPHONE}\nlantern: {name: SECRETOTHER}\n")
    r = runner_for(station)("-v", "report", "show", "first-story", "--private")
    assert r.exit_code == 1 and "correspondents.yaml:2: cannot read the correspondents register: duplicate key " \
                                "'lantern'" in r.err
    assert "SECRET" not in r.out + r.err


# --- Found 7: nothing under private/ is published -----------------------------------------------------

def test_a_cover_under_private_is_refused(station):
    make_cover(station / "private" / "x.png")
    cfg = station / "radio.toml"
    text = cfg.read_text()
    cfg.write_text(text.replace("[podcast]\n", '[podcast]\ncover = "private/x.png"\n', 1) if "cover =" not in text
                   else re.sub(r'(?m)^cover = .*$', 'cover = "private/x.png"', text))
    r = runner_for(station)("build", WEEK)
    assert r.exit_code == 1
    assert "podcast.cover': 'private/x.png' is under private/, which is never published" in r.err
    assert not (station / "feeds").exists() or not list((station / "feeds").rglob("*.png"))


def test_a_cover_linked_into_private_is_refused(station):
    make_cover(station / "private" / "x.png")
    cover = station / "elements" / "cover.png"
    cover.unlink()
    cover.symlink_to(station / "private" / "x.png")
    r = runner_for(station)("build", WEEK)
    assert r.exit_code == 1
    assert "podcast.cover 'elements/cover.png' is under private/, which is never published" in r.err
    assert not (station / "feeds").exists() or not list((station / "feeds").rglob("*.png"))


def test_an_element_under_private_is_refused(station):
    cfg = station / "radio.toml"
    edit(cfg, 'file = "elements/theme.wav"', 'file = "private/theme.wav"')
    r = runner_for(station)("plan", WEEK)
    assert r.exit_code == 1 and "elements.theme.file': 'private/theme.wav' is under private/" in r.err


# --- the property: any week of desk actions, no withheld detail and no unready report in any output ----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

RIDS = ("first-story", "second-story")
MARKERS = {"first-story": ("FIRSTBODY",), "second-story": ("SECONDBODY", "SECONDAPPEAL")}
# the town written as people type it, and as line wrapping or a word processor leaves it
TOWN_FORMS = [TOWN, "Kestrel\nRidge", "Kestrel\u00a0Ridge", "Kes\u00adtrel Ridge", "KESTREL RIDGE", "Kestrel Ridge's"]

actions = st.one_of(
    st.tuples(st.just("verify"), st.sampled_from(RIDS), st.sampled_from(["ann", "bo", "cy"]),
              st.sampled_from(["phone", "visit"])),
    st.tuples(st.sampled_from(["hold", "reject", "reopen"]), st.sampled_from(RIDS)),
    st.tuples(st.just("exposure"), st.sampled_from(RIDS), st.sampled_from(["named", "regional", "none"])),
    st.tuples(st.just("title"), st.sampled_from([None, *TOWN_FORMS[:3]])),
    st.tuples(st.just("body"), st.sampled_from([None, *TOWN_FORMS])),
    st.tuples(st.just("rundown"), st.sampled_from(["reverse", "skip", "unskip", "title", "town-title", "headline",
                                                   "town-notes", "text"])),
    st.tuples(st.just("plan-force")),
)


@pytest.fixture(scope="module")
def week_template(tmp_path_factory) -> tuple[Path, list[str]]:
    root = protection_station(tmp_path_factory.mktemp("prop") / "st", record=False)
    canaries = plant(root)
    assert runner_for(root)("plan", WEEK).exit_code == 0
    return root, canaries


def _reset(template: Path, root: Path) -> None:
    import shutil
    for sub in ("episodes", "private"):
        shutil.rmtree(root / sub, ignore_errors=True)
        shutil.copytree(template / sub, root / sub)
    if not (root / "radio.toml").exists():
        for name in ("radio.toml", "elements"):
            src = template / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)


def _set_field(path: Path, key: str, value: str) -> None:
    text = path.read_text()
    new, n = re.subn(rf"(?m)^{key}: .*$", lambda m: f"{key}: {value}", text, count=1)
    assert n == 1, key
    path.write_text(new)


def _apply(root: Path, action: tuple) -> None:
    from ruamel.yaml import YAML
    run = runner_for(root)
    kind, args = action[0], action[1:]
    first = reports(root) / "first-story.md"
    if kind == "verify":
        run("report", "verify", args[0], "--by", args[1], "--method", args[2])
    elif kind in ("hold", "reject"):
        run("report", kind, args[0], "--private-note", "the desk decided")
    elif kind == "reopen":
        run("report", "reopen", args[0])
    elif kind == "exposure":
        _set_field(reports(root) / f"{args[0]}.md", "exposure", args[1])
    elif kind == "title":
        title = "Miners strike in the north" if args[0] is None else f"Miners at {args[0]} strike"
        _set_field(first, "title", '"' + title.replace("\n", "\\n") + '"')
    elif kind == "body":
        head, _, body = first.read_text().rpartition("---\n")
        town = f" in {args[0]}" if args[0] else ""
        first.write_text(f"{head}---\nWorkers{town} held a meeting today. FIRSTBODY.\n")
    elif kind == "rundown":
        path = root / "episodes" / WEEK / "rundown.yaml"
        y = YAML()
        doc = y.load(path.read_text())
        items = doc["items"]
        reported = [it for it in items if it.get("report")]
        what = args[0]
        if what == "reverse" and len(reported) > 1:
            i, j = items.index(reported[0]), items.index(reported[-1])
            items[i], items[j] = items[j], items[i]
        elif what in ("skip", "unskip") and reported:
            reported[0]["skip"] = what == "skip"
        elif what == "title" and reported:
            reported[-1]["title"] = "A short title"
        elif what == "town-title":
            for it in reported:
                if it["report"] == "first-story":
                    it["title"] = f"{TOWN} strike"
        elif what == "headline" and reported:
            reported[0]["headline"] = "Something happened."
        elif what == "town-notes":
            items[1]["notes"] = f"say hello to {TOWN}"
        elif what == "text":
            items[1]["text"] = "Welcome to the show."
        with path.open("w") as f:
            y.dump(doc, f)
    elif kind == "plan-force":
        run("plan", WEEK, "--force")


def _on_air(root: Path) -> dict[str, bool]:
    """Independently of the code under test: which reports may be heard, by status and by their own words."""
    from radio.reports.files import read_report
    from radio.config import Verification
    ok = {}
    for rid in RIDS:
        r = read_report(reports(root) / f"{rid}.md", Verification()).report
        words = " ".join([r.title, r.body, r.appeal or "", r.attribution or ""])
        withheld = [r.place, r.workplace] * (r.exposure != "named") + [r.region] * (r.exposure == "none")
        ok[rid] = r.status == "verified" and not any(w and names(words, w) for w in withheld)
    return ok


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=1, max_size=8))
def test_any_desk_week_publishes_nothing_withheld_and_nothing_unready(week_template, tmp_path_factory, steps):
    from radio.rundown import model as rd
    from radio.publish import _stories
    template, canaries = week_template
    root = tmp_path_factory.getbasetemp() / "prop-week"
    _reset(template, root)
    for step in steps:
        _apply(root, step)
    r = runner_for(root)("script", WEEK)
    if r.exit_code != 0:  # refused: one line, and nothing written
        assert r.exit_code == 1 and r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
        assert not (root / "episodes" / WEEK / "out" / "script.md").exists()
        return
    # what every output is made from: the resolved rundown, and what the feed and tags take from it
    rundown = rd.load(Station.open(root), WEEK)
    stories, appeals = _stories(rundown)
    derived = "\n".join([rundown.title, *(e.title + "\n" + e.text for e in rundown.entries), repr(stories),
                         *appeals])
    out = root / "episodes" / WEEK / "out"
    published = derived + "\n" + "\n".join(p.read_text() for p in sorted(out.iterdir()) if p.is_file())
    assert not leaks([out], canaries) and not [c for c in canaries if c in derived + r.out + r.err]
    ready = _on_air(root)
    from radio.reports.files import read_report
    from radio.config import Verification
    first = read_report(reports(root) / "first-story.md", Verification()).report
    if first.exposure != "named":
        assert not names(published, TOWN), steps
    if first.exposure == "none":
        assert not names(published, REGION), steps
    for rid, markers in MARKERS.items():
        if not ready[rid]:
            for m in markers:
                assert m not in published, (rid, m, steps)

"""radio build and the reliability suite: incremental stages, locks, faults, bad input of every kind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radio.errors import RadioError
from tests.audio_util import WEEK, ff, record_tones, tiny_station, tone
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.test_tags import make_cover


def built_station(root: Path, *, canaries: bool = False) -> tuple[Path, list[str]]:
    tiny_station(root)
    found = plant(root) if canaries else []
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    return root, found


@pytest.fixture
def station(tmp_path):
    return built_station(tmp_path / "st")[0]


def _build(root: Path, *args: str, **kw):
    from radio.build import build
    from radio.stages import Options
    from radio.station import Station
    return build(Station.open(root), WEEK, Options(*args, **kw))


def test_build_runs_every_stage_then_skips_what_did_not_change(station):
    run = runner_for(station)
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    assert [line for line in r.err.splitlines() if ":" in line and not line.startswith(" ")] == [
        "script: running", "script: done", "assemble: running", "assemble: done", "runsheet: running",
        "runsheet: done", "publish: running", "publish: done"]
    out = r.out.splitlines()
    assert out[0] == "script    episodes/2026-W47/out/script.html (and script.md)"
    assert out[2].startswith("on air   episodes/2026-W47/out/onair.wav: 0:30, ")
    assert out[4] == "timing    content 0:13 in a 0:30 slot: under by 0:17 (filled with bed)"
    assert out[-1] == "feed      feeds/st/feed.xml -> https://example.org/podcast/st/feed.xml"
    r = run("build", WEEK)
    assert "script: skipped (nothing changed)" in r.err and "publish: skipped (nothing changed)" in r.err
    res = _build(station)
    assert res.ran == [] and res.skipped == ["script", "assemble", "runsheet", "publish"]


def test_a_new_take_reruns_every_stage_that_reads_takes(station):
    _build(station)
    seg = station / "episodes" / WEEK / "segments" / "welcome.wav"
    os.utime(seg, ns=(time.time_ns(), time.time_ns()))
    res = _build(station)
    assert res.ran == ["script", "assemble", "runsheet", "publish"]


def test_an_element_change_reruns_what_reads_elements(station):
    _build(station)
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace('cover = "elements/cover.png"', 'cover = "elements/cover.png" '))
    res = _build(station)  # radio.toml is read by every stage
    assert res.ran == ["script", "assemble", "runsheet", "publish"]
    (station / "elements" / "cover.png").touch()
    res = _build(station)  # the cover: assembly tags the masters with it, publish puts it on the site
    assert res.ran == ["assemble", "runsheet", "publish"] and res.skipped == ["script"]


def test_editing_a_report_reruns_everything(station):
    _build(station)
    rep = station / "episodes" / WEEK / "reports" / "second-story.md"
    rep.write_text(rep.read_text().replace("Workers held a meeting today.", "Workers held a long meeting today."))
    res = _build(station, allow_stale_take=True)  # the tones read no words: the edit does not touch them
    assert res.ran == ["script", "assemble", "runsheet", "publish"]


def _logging_ffprobe(folder: Path, log: Path) -> dict[str, str]:
    """An environment whose ffprobe is the real one, writing the file it is asked about to `log` first."""
    import shutil
    folder.mkdir()
    wrapper = folder / "ffprobe"
    wrapper.write_text(f'#!/bin/sh\nfor a; do last=$a; done\nprintf "%s\\n" "$last" >> "{log}"\n'
                       f'exec "{shutil.which("ffprobe")}" "$@"\n')
    wrapper.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _probed(log: Path) -> set[str]:
    seen = set(log.read_text().splitlines()) if log.exists() else set()
    log.unlink(missing_ok=True)
    return seen


def test_a_rebuild_that_changes_nothing_starts_no_ffprobe(station, tmp_path):
    log = tmp_path / "ffprobe.log"
    env = _logging_ffprobe(tmp_path / "bin", log)
    root = station.resolve()  # the paths ffprobe is given
    seg = root / "episodes" / WEEK / "segments"
    ff("-i", str(seg / "welcome.wav"), "-c:a", "libvorbis", str(seg / "welcome.ogg"))  # a take ffprobe is asked about
    (seg / "welcome.wav").unlink()
    sounds = {str(p) for p in [*seg.glob("*.*"), *(root / "elements").glob("*.*")]}

    def build() -> str:
        proc = _spawn(station, "build", WEEK, env=env)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return err

    build()
    first = _probed(log)
    assert str(seg / "welcome.ogg") in first  # the first build probes the takes, once per process
    assert not {p for p in first if p.endswith((".wav", ".flac"))}  # a PCM WAV or a FLAC says its length itself
    err = build()  # a new process: what ffprobe said is read back from the build record
    assert "publish: skipped (nothing changed)" in err
    assert _probed(log) == set()
    assert sorted(p.name for p in (station / "episodes" / WEEK / "out").glob(".*")) == [".build.json", ".takes.json"]
    os.utime(seg / "welcome.ogg", ns=(time.time_ns(), time.time_ns()))  # same bytes, another time
    tone(seg / "closing.wav", 900, 2.5)  # another size: read from its header again
    build()
    assert _probed(log) & sounds == {str(seg / "welcome.ogg")}
    build()
    assert _probed(log) == set()


@pytest.mark.parametrize("make", [
    ["-ar", "44100", "-c:a", "pcm_s16le", "x.wav"], ["-ar", "48000", "-ac", "2", "-c:a", "pcm_s24le", "x.wav"],
    ["-ar", "48000", "-c:a", "pcm_f32le", "x.wav"], ["-ar", "44100", "-c:a", "flac", "x.flac"],
    ["-ar", "22050", "-c:a", "adpcm_ms", "x.wav"], ["-ar", "44100", "-c:a", "libvorbis", "x.ogg"]])
def test_a_length_read_from_the_header_is_what_ffprobe_says(tmp_path, make):
    """A PCM WAV or a FLAC gives its length from its header, exactly as ffprobe reports it; anything else, and a
    WAV cut short, is left to ffprobe."""
    from radio import media
    p = tmp_path / make[-1]
    ff("-f", "lavfi", "-i", "sine=f=440:d=7.31", *make[:-1], str(p))
    ours, probed = media._from_header(p), media._probe(p)
    pcm = p.suffix == ".flac" or make[-2].startswith("pcm_")
    assert (ours is not None) == pcm
    if pcm:
        assert ours["streams"][0]["duration"] == probed["streams"][0].get("duration", probed["format"]["duration"])
        assert ours["streams"][0]["sample_rate"] == probed["streams"][0]["sample_rate"]
        assert ours["streams"][0]["channels"] == probed["streams"][0]["channels"]
    if p.suffix == ".wav":
        os.truncate(p, p.stat().st_size // 2)  # a recorder that stopped mid-file: its header claims the rest
        assert media._from_header(p) is None
        assert media.duration_ms(p) == round(float(media._probe(p)["format"]["duration"]) * 1000)


def test_quiet_build_prints_nothing(station):
    r = runner_for(station)("-q", "build", WEEK)
    assert r.exit_code == 0 and r.out == "" and r.err == ""


def test_rebuild_gives_identical_bytes_and_guids(station, tmp_path):
    import shutil
    other = tmp_path / "again"
    shutil.copytree(station, other)
    _build(station)
    _build(other)
    for rel in ("episodes/2026-W47/out/onair.wav", "episodes/2026-W47/out/podcast.mp3",
                "episodes/2026-W47/out/script.html", "episodes/2026-W47/out/as-run.json",
                "feeds/st/feed.xml", "feeds/st/episodes/2026-W47/index.html", "feeds/st/media/2026-W47.vtt"):
        assert (station / rel).read_bytes() == (other / rel).read_bytes(), rel


def test_no_private_data_in_any_output(tmp_path):
    root, canaries = built_station(tmp_path / "st", canaries=True)
    r = runner_for(root)("build", WEEK)
    assert r.exit_code == 0, r.err
    status = runner_for(root)("status", WEEK).out
    assert not [c for c in canaries if c in r.out + r.err + status]
    assert_clean([root / "episodes" / WEEK / "out", root / "feeds"], canaries, min_files=15)


def _spawn(root: Path, *args: str, fault: str | None = None, marker: Path | None = None,
           env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "RADIO_STATION": str(root), **(env or {})}
    if fault:
        env.update(RADIO_FAULT=fault, RADIO_FAULT_FILE=str(marker))
    return subprocess.Popen([sys.executable, "-m", "radio", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(marker: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        assert time.time() < deadline, "the fault point was never reached"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory) -> Path:
    """W47 built and published; W48 assembled and tagged, ready to publish."""
    import shutil
    root = built_station(tmp_path_factory.mktemp("faults") / "st")[0]
    _build(root)
    w2 = "2026-W48"
    shutil.copytree(root / "episodes" / WEEK / "reports", root / "episodes" / w2 / "reports")
    shutil.copytree(root / "episodes" / WEEK / "segments", root / "episodes" / w2 / "segments")
    run = runner_for(root)
    for step in (("plan", w2), ("assemble", w2)):
        assert run(*step).exit_code == 0
    return root


def _leftovers(root: Path) -> list[str]:
    """Temporary files anywhere in out/ or feeds/ (the build's and publish's own records excepted)."""
    keep = {".build.json", ".takes.json", ".st.lock", ".st.published.json"}  # the last: what was published
    return sorted(str(p.relative_to(root)) for p in [*root.glob("episodes/*/out/**/.*"), *root.glob("feeds/**/.*")]
                  if p.name not in keep)


@pytest.mark.parametrize("fault", ["staged", "media", "before-feed"])
def test_a_publish_killed_part_way_leaves_the_old_feed_whole(two_weeks, tmp_path, fault):
    import shutil

    import feedparser
    station = tmp_path / "st"
    shutil.copytree(two_weeks, station)
    feed = station / "feeds" / "st" / "feed.xml"
    before = feed.read_bytes()
    marker = tmp_path / "reached"
    proc = _spawn(station, "publish", "2026-W48", fault=fault, marker=marker)
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert feed.read_bytes() == before
    d = feedparser.parse(str(feed))
    assert not d.bozo and [e.title for e in d.entries] == ["20 November: First fictional story"]
    assert runner_for(station)("check").exit_code == 0  # the old tree is still whole
    # the next build publishes the week and leaves nothing of the killed one behind
    assert runner_for(station)("build", "2026-W48").exit_code == 0
    assert len(feedparser.parse(str(feed)).entries) == 2
    assert _leftovers(station) == []
    assert len(list((station / "feeds" / "st" / "media").glob("*.mp3"))) == 2
    assert runner_for(station)("check").exit_code == 0


@pytest.mark.parametrize("fault", ["media", "before-feed"])
def test_a_republish_killed_part_way_keeps_the_old_enclosure_valid(station, tmp_path, fault):
    """A new master for a published week: until the new feed is in place, the old feed's enclosure is the old
    file, whole, at the length the old feed says."""
    _build(station)
    media = station / "feeds" / "st" / "media"
    old = sorted(media.glob("*.mp3"))
    tone(station / "episodes" / WEEK / "segments" / "second-story.wav", 700, 3.0, -18)  # a retake
    run = runner_for(station)
    assert run("assemble", WEEK).exit_code == 0
    marker = tmp_path / "reached"
    proc = _spawn(station, "publish", WEEK, fault=fault, marker=marker)
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(media.glob("*.mp3"))) == 2 and set(old) < set(media.glob("*.mp3"))
    assert run("check").exit_code == 0
    assert run("build", WEEK).exit_code == 0
    assert sorted(media.glob("*.mp3")) != old and len(list(media.glob("*.mp3"))) == 1  # the old one is gone now
    assert _leftovers(station) == [] and run("check").exit_code == 0


def test_a_build_killed_while_assembling_leaves_nothing_after_the_next_build(station, tmp_path):
    _build(station)
    out = station / "episodes" / WEEK / "out"
    tone(station / "episodes" / WEEK / "segments" / "closing.wav", 700, 3.0, -18)
    proc = _spawn(station, "build", WEEK)
    deadline = time.time() + 120
    while not list(out.glob(".onair.*.wav")):  # the masters being written
        assert proc.poll() is None and time.time() < deadline, "the build ended before its mix was seen"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _leftovers(station)  # the killed build's temporary masters
    r = runner_for(station)("build", WEEK)
    assert r.exit_code == 0, r.err
    assert _leftovers(station) == []
    assert runner_for(station)("check").exit_code == 0


def test_an_encoder_a_killed_build_left_running_never_makes_its_file_again(tmp_path):
    """A build killed the instant its MP3 encoder starts, before the encoder could ask to die with it (or on a
    machine without setpriv, as here): the encoder runs on and ends, but the next build's sweep has taken its
    file away for good."""
    import shutil
    target, bin_ = tmp_path / ".podcast.left.mp3", tmp_path / "bin"
    bin_.mkdir()
    # no setpriv; and an ffmpeg slow to start, so that it opens its output after the sweep, as it may
    (bin_ / "ffmpeg").write_text(f'#!/bin/sh\n/bin/sleep 2\nexec {shutil.which("ffmpeg")} "$@"\n')
    (bin_ / "ffmpeg").chmod(0o755)
    code = ("import os, sys; from pathlib import Path; from radio.audio.encode import Encoder; "
            f"e = Encoder(Path({str(target)!r}), 44100, 128); Path(sys.argv[1]).write_text(str(e.proc.pid)); "
            "os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "pid")], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, env={**os.environ, "PATH": str(bin_)})
    pid = int((tmp_path / "pid").read_text())
    target.unlink(missing_ok=True)  # the next build's sweep
    for _ in range(600):  # until the encoder, its input closed, has ended
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                break
        except OSError:
            break
        time.sleep(0.05)
    assert not target.exists()


def test_a_new_take_updates_the_run_sheet_and_every_total_agrees(station):
    import csv
    run = runner_for(station)
    assert run("build", WEEK).exit_code == 0
    tone(station / "episodes" / WEEK / "segments" / "first-story.wav", 500, 5.0, -18)  # re-recorded, longer
    r = run("build", WEEK)
    assert r.exit_code == 0, r.err
    timing = next(line for line in r.out.splitlines() if line.startswith("timing "))
    status = run("status", WEEK).out.splitlines()
    total = next(line for line in status if line.startswith("total "))
    rows = list(csv.reader((station / "episodes" / WEEK / "out" / "runsheet.csv").open()))
    foot = next(row for row in rows if row[1] == "TOTAL")
    m = re.fullmatch(r"timing    content (\S+) in a 0:30 slot: (.+) \(filled with bed\)", timing)
    assert m, timing
    assert total == f"total {m.group(1)} of 0:30: {m.group(2)} (filled with bed)"
    assert (foot[9], foot[12]) == (m.group(1), m.group(2))
    sheet = next(row for row in rows if row[1] == "first-story")
    line = next(x.split() for x in status if re.match(r"\d+\s+first-story\s", x))
    assert sheet[8] == line[6] == "0:05"  # actual: the new take, trimmed of nothing
    assert (sheet[9], sheet[10]) == (line[7], line[8])  # front and back as in the master
    closing = next(row for row in rows if row[1] == "close-theme")
    assert closing[10] == "0:00"  # back-timed to the end of the slot, as aired


def test_two_builds_at_once_one_is_refused(station, tmp_path):
    _build(station)
    rep = station / "episodes" / WEEK / "reports" / "second-story.md"
    rep.write_text(rep.read_text().replace("meeting today.", "meeting this morning."))
    marker = tmp_path / "reached"
    first = _spawn(station, "build", WEEK, "--allow-stale-take", fault="staged", marker=marker)
    _wait_for(marker, first)
    r = runner_for(station)("build", WEEK)
    assert r.exit_code == 1
    assert r.err.splitlines()[-1] == (f"error: {station / 'episodes' / '.build.lock'}: another build of this "
                                      "station is running (wait for it to finish, then build again)")
    first.send_signal(signal.SIGKILL)
    first.wait()
    res = _build(station)  # the killed build's stage record says publish is not done: it runs again
    assert "publish" in res.ran
    assert runner_for(station)("check").exit_code == 0


# --- bad audio of every kind -------------------------------------------------------------------

@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"), "ffmpeg cannot decode it: "),
    (lambda p: p.write_bytes(b""), "the file is empty (0 bytes) (record or export it again)"),
    (lambda p: p.write_text("Dear editor, here is my report.\n" * 50), "ffmpeg cannot decode it: "),
    (lambda p: ff("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "20", "-c:a", "flac", str(p.with_suffix(".flac")))
     or p.unlink(), "item first-story: the take episodes/2026-W47/segments/first-story.flac is digitally silent"),
    (lambda p: ff("-f", "lavfi", "-i", "sine=f=220:r=8000", "-t", "7200", "-c:a", "flac", str(p.with_suffix(".flac")))
     or p.unlink(), "item first-story: the recording is 2:00:00, longer than the whole 28:30 slot"),
])
def test_bad_audio_corpus(tmp_path, make, message):
    root = tiny_station(tmp_path / "st", slot="28:30")
    record_tones(root, 2.0)
    p = root / "episodes" / WEEK / "segments" / "first-story.wav"
    make(p)
    r = runner_for(root)("assemble", WEEK)
    assert r.exit_code == 1
    last = r.err.splitlines()[-1]
    assert last.startswith("error: ") and message in last, last
    assert "Traceback" not in r.err
    assert not (root / "episodes" / WEEK / "out" / "onair.wav").exists()


# --- paths that try to leave the station ---------------------------------------------------------

@pytest.mark.parametrize("old,new,message", [
    ('file = "elements/theme.wav"', 'file = "../../etc/passwd"',
     "elements.theme.file '../../etc/passwd' leaves the station directory"),
    ('cover = "elements/cover.png"', 'cover = "/etc/passwd"', "podcast.cover '/etc/passwd' leaves the station directory"),
])
def test_paths_cannot_leave_the_station(station, old, new, message):
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace(old, new))
    r = runner_for(station)("build", WEEK)
    assert r.exit_code == 1
    assert message in r.err.splitlines()[-1]


# --- text that could break a format -------------------------------------------------------------

def test_control_characters_and_markup_in_every_text_field(tmp_path):
    root = tiny_station(tmp_path / "st")
    rep = root / "episodes" / WEEK / "reports" / "first-story.md"
    evil = 'Bell\x07 & <script>x</script> ]]> "q" \x1b[31m'
    rep.write_text(rep.read_text().replace("title: First fictional story", f"title: {json.dumps(evil)}")
                   .replace("region: Test Region", f"region: {json.dumps('Reg' + chr(11) + 'ion <b>')}")
                   .replace("Workers held a meeting today.", "Workers\x07 held <i>a</i> meeting ]]> today.\x0c"))
    from radio.station import Station
    from radio.rundown.plan import plan
    plan(Station.open(root), WEEK)
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    r = runner_for(root)("build", WEEK)
    assert r.exit_code == 0, r.err
    from lxml import etree
    tree = root / "feeds" / "st"
    doc = etree.parse(str(tree / "feed.xml"))
    title = doc.find("channel/item/description").text
    assert "Bell & <script>" not in title and "Bell &amp; &lt;script&gt;x&lt;/script&gt; ]]&gt;" in title
    for p in [*tree.rglob("*.html"), *tree.rglob("*.vtt"), *tree.rglob("*.json"), tree / "feed.xml"]:
        data = p.read_text()
        assert "\x07" not in data and "\x0b" not in data and "\x0c" not in data and "\x1b" not in data, p
    assert runner_for(root)("check").exit_code == 0


# --- anything a person types gives a result or one clean line ------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rundown_edits_never_crash(tmp_path_factory, data):
    from radio.station import Station
    from radio.rundown.model import load
    from radio.rundown.plan import plan
    root = tmp_path_factory.mktemp("rd") / "st"
    if not root.exists():
        tiny_station(root)
    path = root / "episodes" / WEEK / "rundown.yaml"
    plan(Station.open(root), WEEK, force=True) if path.exists() else None
    lines = path.read_text().splitlines()
    n = data.draw(st.integers(0, len(lines) - 1))
    choice = data.draw(st.sampled_from(["delete", "replace", "duplicate", "garble"]))
    if choice == "delete":
        del lines[n]
    elif choice == "duplicate":
        lines.insert(n, lines[n])
    elif choice == "replace":
        key = lines[n].split(":")[0]
        lines[n] = f"{key}: {data.draw(st.sampled_from(['', '-1', 'null', '[1, 2]', '{a: b}', 'yes', '9999:99', 'x' * 300, '../x']))}"
    else:
        lines[n] = data.draw(st.text(max_size=40))
    path.write_text("\n".join(lines) + "\n")
    try:
        load(Station.open(root), WEEK)
    except RadioError as e:
        assert "\n" not in e.format_message()


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(["slot", "air_time", "timezone", "slug", "format", "rate_wpm", "min_checks", "base_url",
                            "category", "bitrate", "sample_rate", "onair_lufs", "distinct", "language"]),
       value=st.one_of(st.text(max_size=20), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                       st.lists(st.text(max_size=5), max_size=3), st.booleans()))
def test_config_values_never_crash(tmp_path_factory, key, value):
    import re

    from radio.config import load_config
    from radio.station import init_station
    root = tmp_path_factory.mktemp("cfg") / "st"
    init_station(root)
    cfg = root / "radio.toml"
    text = cfg.read_text()
    toml_value = json.dumps(value) if not isinstance(value, float) or value == value and abs(value) != float("inf") \
        else "nan"
    text, n = re.subn(rf"^{key} = .*$", lambda m: f"{key} = {toml_value}", text, count=1, flags=re.M)
    cfg.write_text(text)
    try:
        load_config(cfg)
    except RadioError as e:
        msg = e.format_message()
        assert "\n" not in msg and msg.startswith(str(cfg))


def test_every_stage_is_declared_once_and_no_two_write_the_same_file(station):
    """radio/stages.py says what each stage writes, plan and the republished podcast included: no file has two
    writers, and a build leaves in out/ nothing the stages do not declare (beside their hidden records)."""
    from radio.stages import PLAN, STAGES
    from radio.station import Station
    s = Station.open(station)
    assert [x.name for x in [PLAN, *STAGES]] == ["plan", "script", "assemble", "runsheet", "publish"]
    writes = [p for stage in [PLAN, *STAGES] for p in stage.writes(s, WEEK)]
    assert len(writes) == len(set(writes))
    _build(station)
    out = s.out_dir(WEEK)
    made = {p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert sorted(str(p.relative_to(out)) for p in made - set(writes)) == []

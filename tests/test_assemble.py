from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.audio_util import (SPEECH_ITEMS, WEEK, ebur128, ff, record_tones, rms_db, samples, speech, tiny_station,
                              tone)
from tests.conftest import runner_for

RATE = 48000


@pytest.fixture
def tiny(tmp_path):
    return tiny_station(tmp_path / "tiny")


def _out(root: Path) -> Path:
    return root / "episodes" / WEEK / "out"


def _as_run(root: Path) -> dict:
    return json.loads((_out(root) / "as-run.json").read_text())


def test_masters_exact_length_and_on_target(tiny):
    record_tones(tiny, 3.0, head=1.0)
    r = runner_for(tiny)("assemble", WEEK)
    assert r.exit_code == 0, r.err
    out = _out(tiny)
    on = samples(out / "onair.wav")
    assert len(on) == 30 * RATE  # the slot, to the sample
    import subprocess
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,"
                           "bits_per_sample,bit_rate", "-of", "json", str(out / "onair.wav")],
                          capture_output=True, text=True).stdout
    s = json.loads(info)["streams"][0]
    assert (s["codec_name"], s["sample_rate"], s["channels"], s["bits_per_sample"]) == ("pcm_s24le", "48000", 1, 24)
    m = ebur128(out / "onair.wav")
    assert abs(m["I"] - -23) <= 0.5 and m["TP"] <= -1.0
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,channels,bit_rate",
                                      "-of", "json", str(out / "podcast.mp3")], capture_output=True, text=True).stdout)
    assert info["streams"][0] == {"codec_name": "mp3", "channels": 1, "bit_rate": "128000"}
    p = ebur128(out / "podcast.mp3")  # mono: -19 as one channel, -16 as heard on two speakers
    assert abs(p["I"] - -19) <= 1.0 and p["TP"] <= -1.0
    assert abs(ebur128(out / "podcast.mp3", dualmono=True)["I"] - -16) <= 1.0
    loud = json.loads((out / "loudness.json").read_text())
    assert abs(loud["onair"]["integrated"] - m["I"]) <= 0.2 and loud["onair"]["ok"] is True
    assert abs(loud["podcast"]["integrated"] - p["I"]) <= 0.2 and loud["podcast"]["ok"] is True
    assert set(loud["items"]) == {"open-theme", *SPEECH_ITEMS, "filler", "close-theme"}
    assert "on air   episodes/2026-W47/out/onair.wav: 0:30, " in r.out


def test_dead_air_is_trimmed_and_as_run_is_where_the_audio_is(tiny):
    record_tones(tiny, 2.0, head=1.5, floor_db=-60)  # 1.5 s of room noise each side, 0.4 s kept
    assert runner_for(tiny)("assemble", WEEK).exit_code == 0
    run = _as_run(tiny)
    on = samples(_out(tiny) / "onair.wav")
    items = {i["id"]: i for i in run["onair"]["items"]}
    for n, item in enumerate(SPEECH_ITEMS):
        it = items[item]
        assert it["end"] - it["start"] == pytest.approx((2.0 + 0.8) * RATE, abs=0.011 * RATE)
        # the tone (at its own frequency) starts 0.4 s into the item, as trimmed
        x = on[it["start"]: it["end"]]
        env = np.abs(x) > 0.01
        onset = int(np.argmax(env))
        assert abs(onset - 0.4 * RATE) <= 0.011 * RATE
        freq = 300 + 200 * n
        spectrum = np.abs(np.fft.rfft(x[onset: onset + RATE]))
        assert abs(np.argmax(spectrum) - freq) <= 2  # 1 Hz bins: it is this item's tone
    # items follow in order with the configured 0.3 s gap; the closing theme ends exactly at the end of the slot
    order = run["onair"]["items"]
    assert [i["id"] for i in order] == ["open-theme", *SPEECH_ITEMS, "filler", "close-theme"]
    assert order[-1]["end"] == 30 * RATE
    for a, b in zip(order[1:4], order[2:5]):
        assert b["start"] - a["end"] == int(0.3 * RATE)


def test_quiet_and_loud_hosts_come_out_alike(tiny):
    record_tones(tiny, 3.0, db={"welcome": -40, "first-story": -6})
    assert runner_for(tiny)("assemble", WEEK).exit_code == 0
    items = {i["id"]: i for i in _as_run(tiny)["onair"]["items"]}
    wav = _out(tiny) / "onair.wav"
    levels = [ebur128(wav, items[i]["start_s"], items[i]["end_s"])["I"] for i in ("welcome", "first-story")]
    assert abs(levels[0] - levels[1]) <= 0.5, levels


def test_bed_ducks_under_speech(tmp_path):
    root = tiny_station(tmp_path / "t", slot="0:45", bed_under_news=True)
    tone(root / "elements" / "bed.wav", 55, 3.0, -20)  # below the voice's fundamental, so it can be told apart
    seg = root / "episodes" / WEEK / "segments"
    for item in SPEECH_ITEMS:
        speech(seg / f"{item}.wav", "Workers at the depot held a meeting.")
    # the news item: a sentence, three seconds of pause, a sentence
    a, b = speech(tmp_path / "a.wav", "Workers at the depot held a meeting."), speech(tmp_path / "b.wav", "They voted.")
    ff("-i", str(a), "-i", str(b), "-filter_complex", "[0]apad=pad_dur=3[x];[x][1]concat=n=2:v=0:a=1",
       str(seg / "first-story.wav"))
    assert runner_for(root)("assemble", WEEK).exit_code == 0
    on = samples(_out(root) / "onair.wav")
    it = next(i for i in _as_run(root)["onair"]["items"] if i["id"] == "first-story")

    def bed_level(t0: float, t1: float) -> float:
        x = on[it["start"] + int(t0 * RATE): it["start"] + int(t1 * RATE)].astype(np.float64)
        spec = np.fft.rfft(x)
        f = np.fft.rfftfreq(len(x), 1 / RATE)
        spec[(f < 50) | (f > 60)] = 0
        return rms_db(np.fft.irfft(spec, len(x)))

    x = np.abs(on[it["start"]: it["end"]])
    env = np.convolve(x > 0.02, np.ones(2400), "same") > 0
    first_silence = np.argmax(~env[int(0.6 * RATE):]) / RATE + 0.6  # where the first sentence ends
    under = bed_level(0.6, first_silence - 0.1)
    pause = bed_level(first_silence + 1.2, first_silence + 2.4)  # after hold and ramp, before the next sentence
    assert pause - under >= 12, (pause, under)  # duck_db is -18; ramps and the band edge take a little
    loud = json.loads((_out(root) / "loudness.json").read_text())
    assert abs(loud["onair"]["integrated"] - -23) <= 0.5


@pytest.mark.parametrize("make", ["flac", "mp3", "ogg", "8k-stereo", "96k-float"])
def test_any_format_ffmpeg_reads(tiny, make):
    seg = tiny / "episodes" / WEEK / "segments"
    record_tones(tiny, 2.0)
    (seg / "welcome.wav").unlink()
    if make == "8k-stereo":
        tone(seg / "welcome.wav", 440, 2.0, -20, rate=8000, channels=2)
    elif make == "96k-float":
        tone(seg / "welcome.wav", 440, 2.0, -20, rate=96000, extra=("-c:a", "pcm_f32le"))
    else:
        tone(seg / f"welcome.{make}", 440, 2.0, -20)
    r = runner_for(tiny)("assemble", WEEK)
    assert r.exit_code == 0, r.err
    it = next(i for i in _as_run(tiny)["onair"]["items"] if i["id"] == "welcome")
    assert abs((it["end"] - it["start"]) / RATE - 2.0) < 0.06  # encoder padding at most


def test_draft_fills_missing_with_speech(tiny):
    record_tones(tiny, 2.0)
    (tiny / "episodes" / WEEK / "segments" / "closing.wav").unlink()
    r = runner_for(tiny)("assemble", WEEK, "--draft")
    assert r.exit_code == 0, r.err
    run = _as_run(tiny)
    assert run["draft"] is True
    drafted = {i["id"]: i["draft"] for i in run["onair"]["items"]}
    assert drafted["closing"] is True and drafted["welcome"] is False
    assert (_out(tiny) / "drafts" / "closing.wav").is_file()


def test_reproducible_bytes(tiny):
    record_tones(tiny, 2.0)
    run = runner_for(tiny)
    assert run("assemble", WEEK).exit_code == 0
    first = {n: (_out(tiny) / n).read_bytes() for n in ("onair.wav", "podcast.mp3", "as-run.json", "loudness.json",
                                                         "audio-report.html", "audio-report-onair.png",
                                                         "audio-report-onair.svg", "audio-report-podcast.png",
                                                         "audio-report-podcast.svg")}
    assert run("assemble", WEEK).exit_code == 0
    for n, data in first.items():
        assert (_out(tiny) / n).read_bytes() == data, n


def test_one_drawer_draws_the_report_of_every_assembly_in_a_process(tiny):
    """Editions built by one command ready matplotlib once; a drawer that died is replaced."""
    from radio.audio import report
    record_tones(tiny, 2.0)
    run = runner_for(tiny)
    assert run("assemble", WEEK).exit_code == 0
    first = {p.pid for p, _ in report._IDLE}
    for p, _ in report._IDLE:
        p.kill()
        p.wait()
    image = _out(tiny) / "audio-report-onair.png"
    image.unlink()
    assert run("assemble", WEEK).exit_code == 0
    assert image.read_bytes().startswith(b"\x89PNG")
    second = {p.pid for p, _ in report._IDLE}
    assert second and not second & first
    image.unlink()
    assert run("assemble", WEEK).exit_code == 0
    assert image.read_bytes().startswith(b"\x89PNG")
    assert {p.pid for p, _ in report._IDLE} == second


def test_podcast_leaves_out_filler_and_onair_only(tiny):
    record_tones(tiny, 2.0)
    rd = tiny / "episodes" / WEEK / "rundown.yaml"
    rd.write_text(rd.read_text().replace("  - id: open-theme\n", "  - id: open-theme\n    onair_only: true\n"))
    assert runner_for(tiny)("assemble", WEEK).exit_code == 0
    run = _as_run(tiny)
    assert [i["id"] for i in run["podcast"]["items"]] == [*SPEECH_ITEMS, "close-theme"]
    assert run["podcast"]["items"][0]["start"] == 0
    pod = samples(_out(tiny) / "podcast.mp3")
    assert abs(len(pod) - run["podcast"]["samples"]) <= 1152 * 2  # MP3 frames


# --- bad input --------------------------------------------------------------------------------------

def _no_masters(root: Path) -> None:
    out = _out(root)
    assert not (out / "onair.wav").exists() and not (out / "podcast.mp3").exists()
    records = {".build.json", ".takes.json"}  # the build's record of its stages and of measured takes
    assert not [p.name for p in out.glob(".*") if p.name not in records] if out.exists() else True


def test_missing_recordings_are_all_named(tiny):
    record_tones(tiny, 2.0)
    seg = tiny / "episodes" / WEEK / "segments"
    (seg / "welcome.wav").unlink()
    (seg / "closing.wav").unlink()
    r = runner_for(tiny)("assemble", WEEK)
    assert r.exit_code == 1
    assert r.err == ("error: 2 recordings missing: episodes/2026-W47/segments/welcome.wav, "
                     "episodes/2026-W47/segments/closing.wav (record them (any format ffmpeg reads), or pass --draft "
                     "to fill them with read-throughs)\n")
    _no_masters(tiny)


@pytest.mark.parametrize("content,message", [
    (b"", "the file is empty (0 bytes) (record or export it again)"),
    (b"this is not audio at all, just words\n" * 20, "ffmpeg cannot decode it: "),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "ffmpeg cannot decode it: "),
])
def test_undecodable_recording(tiny, content, message):
    record_tones(tiny, 2.0)
    p = tiny / "episodes" / WEEK / "segments" / "first-story.wav"
    p.write_bytes(content)
    r = runner_for(tiny)("assemble", WEEK)
    assert r.exit_code == 1
    assert r.err.startswith(f"error: {p}: {message}"), r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    _no_masters(tiny)


def test_previous_masters_survive_a_failed_build(tiny):
    record_tones(tiny, 2.0)
    run = runner_for(tiny)
    assert run("assemble", WEEK).exit_code == 0
    before = (_out(tiny) / "onair.wav").read_bytes()
    (tiny / "episodes" / WEEK / "segments" / "closing.wav").write_bytes(b"junk" * 100)
    assert run("assemble", WEEK).exit_code == 1
    assert (_out(tiny) / "onair.wav").read_bytes() == before
    assert not [p for p in _out(tiny).glob(".*") if p.name not in (".build.json", ".takes.json")]  # no temp files




def test_missing_element_file(tiny):
    record_tones(tiny, 2.0)
    (tiny / "elements" / "theme.wav").unlink()
    r = runner_for(tiny)("assemble", WEEK)
    assert r.exit_code == 1
    assert r.err == (f"error: {tiny / 'radio.toml'}: element 'theme': elements/theme.wav does not exist (fix its "
                     "file = in [elements], or add the file)\n")


def test_segment_longer_than_the_slot(tiny):
    record_tones(tiny, 2.0)
    p = tiny / "episodes" / WEEK / "segments" / "first-story.wav"
    tone(p, 440, 45.0, -20)
    r = runner_for(tiny)("assemble", WEEK)
    assert r.err == (f"error: {p}: item first-story: the recording is 0:45, longer than the whole 0:30 slot (check "
                     "it is the right file, or edit it)\n")


def test_over_run_stops_with_overage_and_cuts_unless_allowed(tiny):
    record_tones(tiny, 6.6)
    run = runner_for(tiny)
    r = run("assemble", WEEK)
    assert r.exit_code == 1
    assert r.err.splitlines()[-1].startswith("error: the show runs over its 0:30 slot by 0:02; cut candidates: second-story (cut or "
                            "shorten items, mark them skip: true, or pass --allow-over)"), r.err
    _no_masters(tiny)
    assert not [t.name for t in threading.enumerate() if t.name in ("radio-mix", "radio-podcast") and t.is_alive()]
    r = run("assemble", WEEK, "--allow-over")
    assert r.exit_code == 0
    assert "warning: the on-air master runs over its slot by 0:02" in r.err
    n = len(samples(_out(tiny) / "onair.wav"))
    assert n == _as_run(tiny)["onair"]["samples"] > 30 * RATE


def test_no_filler_means_silence_with_warning(tmp_path):
    root = tiny_station(tmp_path / "t", filler=False)
    record_tones(root, 2.0)
    r = runner_for(root)("assemble", WEEK)
    assert r.exit_code == 0
    assert "short of its slot: filled with silence (set [audio] filler to a bed to fill it with music)" in r.err
    assert len(samples(_out(root) / "onair.wav")) == 30 * RATE


def test_elements_crossfade(tmp_path):
    root = tiny_station(tmp_path / "t")
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace('theme = { file = "elements/theme.wav", kind = "music", level = -3.0,',
                                           'theme = { file = "elements/theme.wav", kind = "music", level = -3.0, '
                                           'crossfade = 1.0,'))
    rd = root / "episodes" / WEEK / "rundown.yaml"
    # two themes back to back: the second crosses the first
    rd.write_text(rd.read_text().replace("  - id: welcome\n", "  - id: second-theme\n    type: element\n"
                                         "    element: theme\n  - id: welcome\n", 1))
    record_tones(root, 2.0)
    assert runner_for(root)("assemble", WEEK).exit_code == 0
    items = {i["id"]: i for i in _as_run(root)["onair"]["items"]}
    a, b = items["open-theme"], items["second-theme"]
    assert a["end"] - b["start"] == RATE  # one second of overlap
    on = samples(_out(root) / "onair.wav")
    win = RATE // 10

    def level(at: int) -> float:
        return rms_db(on[at - win // 2: at + win // 2])

    # across the crossfade the first theme (523 Hz) goes down while the second comes up: no bump, no hole
    mid = b["start"] + RATE // 2
    assert abs(level(mid) - level(b["start"] - RATE // 4)) < 4
    x = on[b["start"] + RATE - win: b["start"] + RATE].astype(np.float64)
    assert np.abs(x).max() > 0.01  # the second theme sounds at the end of the crossfade

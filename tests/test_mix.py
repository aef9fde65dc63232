"""The mix a broadcast engineer signs off: each case is a finding measured on the masters themselves, with ffmpeg's
ebur128 and numpy. One small show is built once and examined from every side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from tests.audio_util import (SPEECH_ITEMS, WEEK, band_db, ebur128, espeak, ff, rms_db, samples, tiny_station, tone,
                              write_wav, zero_runs)
from tests.conftest import runner_for

RATE = 48000
CLICK_AT = 0.5  # seconds into first-story's take: a click in the room noise before the voice


def _noise(seconds: float, db: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(-1, 1, int(seconds * RATE)) * 10 ** (db / 20)).astype(np.float32)


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    """A 45-second show: theme (with 1.8 s of digital zeros at its end), four takes that each carry a fault,
    a bed under first-story, filler, theme."""
    root = tiny_station(tmp_path_factory.mktemp("mix") / "show", slot="0:45", bed_under_news=True)
    tone(root / "elements" / "bed.wav", 55, 3.0, -20)  # below any voice: told apart by its band
    tone(root / "elements" / "theme.wav", 523.25, 2.0, -12, tail=1.8)
    seg = root / "episodes" / WEEK / "segments"
    voice = espeak("Workers at the depot held a meeting and voted to stop work on Monday.")
    short = espeak("They voted.")
    z = np.zeros
    # welcome: digital silence either side
    write_wav(seg / "welcome.wav", np.concatenate([z(RATE), voice, z(RATE)]))
    # first-story: room noise, a click in it, the voice, a long pause, the same voice with a click in a word
    clicked = voice.copy()
    mid = len(voice) // 2
    clicked[mid: mid + 24] = 0.95
    take = np.concatenate([_noise(2.0, -62, 1), voice, _noise(3.0, -62, 2), clicked, _noise(1.0, -62, 3)])
    at = int(CLICK_AT * RATE)
    take[at: at + 24] = 0.9
    write_wav(seg / "first-story.wav", take)
    # second-story: a DC offset throughout, no silence at either edge
    write_wav(seg / "second-story.wav", np.concatenate([voice, short]) + np.float32(0.01))
    # closing: a tone cut hard at both ends, starting at its peak
    t = np.arange(3 * RATE) / RATE
    write_wav(seg / "closing.wav", (0.3 * np.cos(2 * np.pi * 700 * t)).astype(np.float32))
    r = runner_for(root)("assemble", WEEK)
    assert r.exit_code == 0, r.err
    out = root / "episodes" / WEEK / "out"
    run = json.loads((out / "as-run.json").read_text())
    return {"root": root, "r": r, "out": out, "run": run, "loud": json.loads((out / "loudness.json").read_text()),
            "on": samples(out / "onair.wav"), "pod": samples(out / "podcast.mp3"),
            "items_on": {i["id"]: i for i in run["onair"]["items"]},
            "items_pod": {i["id"]: i for i in run["podcast"]["items"]}, "mid": mid, "voice": len(voice)}


def _span(show, key: str, item: str) -> dict:
    it = show[f"items_{key}"][item]
    return ebur128(show["out"] / ("onair.wav" if key == "on" else "podcast.mp3"), it["start_s"], it["end_s"])


# 1. speech is the anchor ---------------------------------------------------------------------------------------

def test_each_speech_item_is_on_target_in_the_onair_master(show):
    for item in SPEECH_ITEMS:
        got = _span(show, "on", item)["I"]
        assert abs(got - -23) <= 1.0, (item, got)
    assert abs(show["loud"]["onair"]["gain_db"]) <= 1.0
    # the filler plays alone, at the programme's level, not at a ducked bed's
    assert abs(_span(show, "on", "filler")["I"] - -23) <= 1.0


def test_loudness_json_reports_each_item_as_measured_in_each_master(show):
    items = show["loud"]["items"]
    for item in SPEECH_ITEMS:
        for key, name in (("on", "onair"), ("pod", "podcast")):
            m = items[item][name]
            assert abs(m["integrated"] - _span(show, key, item)["I"]) <= 0.5, (item, name)
    for item, both in items.items():
        for name in ("onair", "podcast"):
            m = both[name]
            if m is None:
                continue
            assert m["true_peak"] >= m["sample_peak"], (item, name, m)
            assert m["true_peak"] <= -1.0, (item, name, m)  # what is in the file, never a pre-limiter value


# 2. the podcast: the same balance, louder, by a compressor more than the limiter -------------------------------

def test_podcast_is_on_target_with_the_onair_balance(show):
    p = ebur128(show["out"] / "podcast.mp3")  # mono: -19 as one channel, as loud on two speakers as -16 stereo
    assert abs(p["I"] - -19) <= 0.5 and p["TP"] <= -1.0
    assert abs(ebur128(show["out"] / "podcast.mp3", dualmono=True)["I"] - -16) <= 0.5
    speech = {k: [_span(show, k, i)["I"] for i in SPEECH_ITEMS] for k in ("on", "pod")}
    assert max(speech["pod"]) - min(speech["pod"]) <= 1.5, speech
    for theme in ("open-theme", "close-theme"):
        on = _span(show, "on", theme)["I"] - np.mean(speech["on"])
        pod = _span(show, "pod", theme)["I"] - np.mean(speech["pod"])
        assert abs(pod - on) <= 1.0, (theme, on, pod)
    lim = show["loud"]["podcast"]["limiter"]
    assert lim["p95_db"] <= 3.0 and lim["over_3db"] <= 0.05, lim


# 3. splices ----------------------------------------------------------------------------------------------------

def test_every_splice_is_faded(show):
    on = show["on"]
    it = show["items_on"]["closing"]  # a tone cut hard at its peak at both ends
    hp = butter(6, 8000, "highpass", fs=RATE, output="sos")
    for edge in (it["start"], it["end"]):
        assert np.abs(on[edge - 2: edge + 2]).max() < 0.01
        high = sosfilt(hp, on[edge - RATE // 10: edge + RATE // 10].astype(np.float64))
        assert 20 * np.log10(np.abs(high[RATE // 20: -RATE // 20]).max()) < -60  # no tick: nothing up high
    for i in show["run"]["onair"]["items"]:
        if i["id"] not in ("filler", "first-story"):  # the filler and the bed under first-story run across
            assert abs(on[i["start"]]) < 0.01 and abs(on[i["end"] - 1]) < 0.02, i["id"]


# 4. DC ---------------------------------------------------------------------------------------------------------

def test_a_dc_offset_is_removed(show):
    for key in ("on", "pod"):
        it = show[f"items_{key}"]["second-story"]
        x = show[key][it["start"]: it["end"]].astype(np.float64)
        assert abs(x.mean()) < 0.001, (key, x.mean())
    it = show["items_on"]["second-story"]
    assert np.abs(show["on"][it["start"]: it["start"] + 3]).max() < 0.01  # and no step where it starts


# 5. clicks and clipping ----------------------------------------------------------------------------------------

def test_trimming_skips_a_click_in_the_lead_in_and_says_so(show):
    assert f"warning: item first-story: trimming went past a click in the dead air (at {CLICK_AT:.2f} s)\n" \
        in show["r"].err
    it = show["items_on"]["first-story"]
    x = show["on"][it["start"]: it["start"] + RATE].astype(np.float64)
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / RATE) < 150] = 0  # the voice, not the bed under it
    onset = int(np.argmax(np.abs(np.fft.irfft(spec, len(x))) > 0.02)) / RATE
    assert 0.3 <= onset <= 0.45, onset  # the voice comes 0.4 s in, as for any take


def test_a_click_mid_speech_is_softened_and_the_voice_not_ducked(show):
    assert "warning: item first-story: softened 1 click in the recording" in show["r"].err
    it = show["items_on"]["first-story"]
    on = show["on"]
    # the two readings are the same words; the second has the click in its middle
    first = it["start"] + int(0.4 * RATE)
    second = first + show["voice"] + 3 * RATE
    win = slice(show["mid"] - RATE // 10, show["mid"] + RATE // 10)
    a, b = on[first:][win], on[second:][win]
    assert abs(rms_db(a) - rms_db(b)) <= 1.0
    assert np.abs(b).max() <= np.abs(on[first: first + show["voice"]]).max() * 1.12


def test_a_clipped_take_stops_the_build_unless_allowed(tmp_path):
    root = tiny_station(tmp_path / "t")
    seg = root / "episodes" / WEEK / "segments"
    for i, item in enumerate(SPEECH_ITEMS):
        tone(seg / f"{item}.wav", 300 + 200 * i, 2.0, -18)
    ff("-f", "lavfi", "-i", "aevalsrc='1.5*sin(2*PI*440*t)':s=48000:d=2", "-c:a", "pcm_s16le", str(seg / "closing.wav"))
    run = runner_for(root)
    r = run("assemble", WEEK)
    assert r.exit_code == 1
    assert r.err.endswith("error: item closing: the recording clips in 1760 places (record it again at a lower "
                          "level, or pass --allow-clipped to air it as it is)\n"), r.err
    r = run("assemble", WEEK, "--allow-clipped")
    assert r.exit_code == 0, r.err
    assert "warning: item closing: the recording clips in 1760 places (aired as it is: --allow-clipped)\n" in r.err


# 6. dead air and beds ------------------------------------------------------------------------------------------

def test_no_digital_silence_inside_the_programme(show):
    on = show["on"]
    assert zero_runs(on).max(initial=0) <= 0.5 * RATE, zero_runs(on).max() / RATE
    assert rms_db(on[-RATE // 2:]) > -50  # the closing theme ends on the slot's last sample, not in silence


def test_bed_fades_duck_under_the_neighbouring_voices(show):
    on, items = show["on"], show["items_on"]
    fs = items["first-story"]
    bed = lambda a, b: band_db(on[a:b], 45, 65)  # noqa: E731
    pause = fs["start"] + int(0.4 * RATE) + show["voice"]  # the first reading ends; 3 s of pause follow
    full = bed(pause + int(1.2 * RATE), pause + int(2.2 * RATE))
    before = bed(items["welcome"]["end"] - int(0.6 * RATE), items["welcome"]["end"])  # the bed's lead-in
    after = bed(items["second-story"]["start"], items["second-story"]["start"] + int(0.6 * RATE))  # its tail
    assert full - before >= 10, (full, before)
    assert full - after >= 10, (full, after)


def test_a_dense_jingle_keeps_its_place_in_the_podcast(tmp_path):
    """The demo's station ID is dense (a crest factor far under speech's once compressed): lifted to the podcast's
    level with nothing done to its peaks, the master limiter would take it down against the voices around it.
    Here it stands in for the theme at both ends of a show read by espeak-ng."""
    root = tiny_station(tmp_path / "jingle", slot="0:30")
    ff("-i", str(Path(__file__).parent.parent / "elements" / "id.flac"), str(root / "elements" / "theme.wav"))
    cfg = root / "radio.toml"  # at the speech level, as the demo's ID is
    cfg.write_text(cfg.read_text().replace('kind = "music", level = -3.0', 'kind = "id", level = 0.0'))
    seg = root / "episodes" / WEEK / "segments"
    voice = espeak("Workers at the depot held a meeting and voted to stop work on Monday.")
    for i, item in enumerate(SPEECH_ITEMS):
        write_wav(seg / f"{item}.wav", voice * np.float32(0.5 + 0.15 * i))
    r = runner_for(root)("assemble", WEEK)
    assert r.exit_code == 0, r.err
    out = root / "episodes" / WEEK / "out"
    run = json.loads((out / "as-run.json").read_text())
    level = {}
    for key, name in (("onair", "onair.wav"), ("podcast", "podcast.mp3")):
        at = {i["id"]: i for i in run[key]["items"]}
        level[key] = {i: ebur128(out / name, at[i]["start_s"], at[i]["end_s"])["I"]
                      for i in ("open-theme", "close-theme", *SPEECH_ITEMS)}
    for theme in ("open-theme", "close-theme"):
        on = level["onair"][theme] - np.mean([level["onair"][i] for i in SPEECH_ITEMS])
        pod = level["podcast"][theme] - np.mean([level["podcast"][i] for i in SPEECH_ITEMS])
        # the target is 1 LU either way; a jingle whose peaks went to the master limiter lost a whole LU here
        assert abs(pod - on) <= 0.5, (theme, on, pod, level)


def test_the_podcast_lane_raises_what_failed_in_it_and_leaves_nothing_running():
    import threading
    from radio.audio.mix import Lane
    from radio.errors import AudioError

    laid: list[int] = []

    def lay(src, prep):
        if src == 2:
            raise AudioError("the MP3 encoder failed: disk full", fix="free some space")
        laid.append(src)
    lane = Lane(lay, lambda: laid.append(-1))
    done = [lane.put(k, None) for k in range(2)]  # type: ignore[arg-type]
    for d in done:
        assert d.wait(10)
    lane.put(2, None)  # type: ignore[arg-type]
    with pytest.raises(AudioError, match="disk full"):
        for k in range(3, 50):  # what comes after it is never laid, and the next hand-over says why
            lane.put(k, None)  # type: ignore[arg-type]
    lane.stop()
    assert laid == [0, 1] and not lane.thread.is_alive()
    lane = Lane(lambda src, prep: laid.append(src), lambda: laid.append(-1))
    lane.put(7, None)  # type: ignore[arg-type]
    lane.join()
    assert laid[-2:] == [7, -1] and not lane.thread.is_alive()
    assert "radio-podcast" not in {t.name for t in threading.enumerate()}

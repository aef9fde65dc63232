"""The audio as a station uses it: a long recording costs the memory a short one costs, the podcast is as loud as
listeners hear every other show in either channel layout, and the audio report is a page a producer can read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tests.audio_util import WEEK, ebur128, ff, record_tones, samples, tiny_station
from tests.browser import chrome, needs_chromium
from tests.conftest import runner_for

RATE = 48000
LONG_MIN = 8  # minutes of the long take: 92 MB as float32, held whole once

# the build as the only child of a small process, which reports the largest resident set of its tree
WRAP = r"""
import json, resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(json.dumps({"rc": r.returncode, "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "err": r.stderr.decode("utf-8", "replace")[-2000:]}))
"""


def _assemble_rss(root: Path) -> int:
    env = {**os.environ, "RADIO_STATION": str(root), "SOURCE_DATE_EPOCH": "1763740800"}
    out = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-m", "radio", "-q", "assemble", WEEK,
                          "--allow-under"],
                         capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout)
    assert got["rc"] == 0, got["err"]
    return got["rss_kib"] * 1024


def _out(root: Path) -> Path:
    return root / "episodes" / WEEK / "out"


def _voice(path: Path, seconds: float, freq: float = 220) -> None:
    """A voice-like take: a tone gated at syllable rate over faint room noise, with lead-in and tail to trim."""
    ff("-f", "lavfi", "-i", f"sine=f={freq}:r={RATE}:d={seconds}", "-f", "lavfi",
       "-i", f"anoisesrc=c=white:r={RATE}:a=0.0008:seed=3:d={seconds + 1}", "-filter_complex",
       "[0]volume=0.3,volume='if(lt(mod(t\\,0.27)\\,0.17)\\,1\\,0.05)':eval=frame,adelay=500[v];"
       "[v][1]amix=inputs=2:normalize=0:duration=longest", "-ac", "1", "-c:a", "pcm_s16le", str(path))


@pytest.fixture(scope="module")
def long_show(tmp_path_factory):
    """The same small show twice: once with a short first story, once with a take of LONG_MIN minutes."""
    base = tmp_path_factory.mktemp("long")
    shows = {}
    for name, seconds in (("short", 20), ("long", LONG_MIN * 60)):
        root = tiny_station(base / name, slot=f"{LONG_MIN + 1}:00")
        record_tones(root, 2.0)
        _voice(root / "episodes" / WEEK / "segments" / "first-story.wav", seconds)
        shows[name] = (root, _assemble_rss(root))
    return shows


def test_a_long_take_costs_the_memory_of_a_short_one(long_show):
    (_, rss_short), (long, rss_long) = long_show["short"], long_show["long"]
    whole = LONG_MIN * 60 * RATE * 4  # the take as float32, once
    # holding the take whole even once would pass this; the two runs differ only in that take's length
    assert rss_long < rss_short + whole // 2, (rss_short >> 20, rss_long >> 20)
    # and the masters are exact as ever: the slot to the sample, the long take whole in both
    run = json.loads((_out(long) / "as-run.json").read_text())
    slot = (LONG_MIN + 1) * 60 * RATE
    assert run["onair"]["samples"] == slot
    assert len(samples(_out(long) / "onair.wav")) == slot
    story = next(i for i in run["onair"]["items"] if i["id"] == "first-story")
    # the voice and a pause of at most [audio] max_pause either side of it
    assert 0 <= (story["end"] - story["start"]) - LONG_MIN * 60 * RATE <= 0.8 * RATE
    pod = next(i for i in run["podcast"]["items"] if i["id"] == "first-story")
    assert pod["end"] - pod["start"] == story["end"] - story["start"]
    assert abs(len(samples(_out(long) / "podcast.mp3")) - run["podcast"]["samples"]) <= 1152 * 2
    loud = json.loads((_out(long) / "loudness.json").read_text())
    assert loud["onair"]["ok"] and loud["podcast"]["ok"]
    assert abs(loud["items"]["first-story"]["onair"]["integrated"] - -23) <= 0.5


def test_the_podcast_is_as_loud_as_heard_in_either_layout(long_show, tmp_path):
    import shutil
    mono = long_show["short"][0]
    loud = json.loads((_out(mono) / "loudness.json").read_text())["podcast"]
    theirs = ebur128(_out(mono) / "podcast.mp3")
    heard = ebur128(_out(mono) / "podcast.mp3", dualmono=True)
    assert abs(loud["integrated"] - -19) <= 0.5 and abs(theirs["I"] - -19) <= 0.5 and abs(heard["I"] - -16) <= 0.5
    assert abs(loud["integrated"] - theirs["I"]) <= 0.3 and loud["channels"] == "mono"
    assert loud["true_peak"] <= -1 and theirs["TP"] <= -1
    root = tmp_path / "st"
    shutil.copytree(mono, root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace('channels = "mono"', 'channels = "stereo"'))
    r = runner_for(root)("assemble", WEEK, "--allow-under")
    assert r.exit_code == 0, r.err
    mp3 = _out(root) / "podcast.mp3"
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=channels", "-of", "json",
                                      str(mp3)], capture_output=True, text=True, check=True).stdout)
    assert info["streams"][0]["channels"] == 2
    loud = json.loads((_out(root) / "loudness.json").read_text())["podcast"]
    theirs = ebur128(mp3)
    assert abs(loud["integrated"] - -16) <= 0.5 and abs(theirs["I"] - -16) <= 0.5, (loud["integrated"], theirs)
    assert abs(loud["integrated"] - theirs["I"]) <= 0.3 and loud["channels"] == "stereo" and loud["ok"]
    assert loud["true_peak"] <= -1 and theirs["TP"] <= -1
    left, right = (subprocess.run(["ffmpeg", "-v", "error", "-i", str(mp3), "-af", f"pan=mono|c0=c{c}", "-f", "f32le",
                                   "-"], capture_output=True, check=True).stdout for c in (0, 1))
    assert left == right  # the mono mix in both


def test_an_override_of_the_podcast_target_is_kept(tmp_path):
    from radio.station import Station
    root = tiny_station(tmp_path / "st")
    cfg = root / "radio.toml"
    text = cfg.read_text()
    assert Station.open(root).config.loudness.podcast_lufs == -19.0
    cfg.write_text(text.replace('channels = "mono"', 'channels = "stereo"'))
    assert Station.open(root).config.loudness.podcast_lufs == -16.0
    cfg.write_text(text.replace("[loudness]\n", "[loudness]\npodcast_lufs = -18.0\n"))
    assert Station.open(root).config.loudness.podcast_lufs == -18.0


@needs_chromium
def test_the_audio_report_shows_every_item_and_the_measured_figures(long_show):
    root = long_show["short"][0]
    out = _out(root)
    loud = json.loads((out / "loudness.json").read_text())
    run = json.loads((out / "as-run.json").read_text())
    for key in ("onair", "podcast"):
        for ext, magic in (("png", b"\x89PNG"), ("svg", b"<?xml")):
            assert (out / f"audio-report-{key}.{ext}").read_bytes().startswith(magic)
    from selenium.webdriver.common.by import By
    driver = chrome()
    try:
        driver.get((out / "audio-report.html").as_uri())
        text = driver.find_element(By.TAG_NAME, "body").text
        for item in run["onair"]["items"]:
            assert item["title"] in text, item["id"]
        for key in ("onair", "podcast"):
            table = driver.find_element(By.CSS_SELECTOR, f'table.summary[data-master="{key}"]')
            for field in ("integrated", "lra", "true_peak"):
                assert table.find_element(By.CSS_SELECTOR, f'td[data-key="{field}"]').text == str(loud[key][field])
            img = driver.find_element(By.CSS_SELECTOR, f'#{key} img')
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 1400
        for iid, it in loud["items"].items():
            row = driver.find_element(By.CSS_SELECTOR, f'tr[data-item="{iid}"]')
            cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
            assert cells[2] == str(it["onair"]["integrated"]) and cells[4] == str(it["podcast"]["integrated"] if
                                                                                   it["podcast"] else "–")
            assert cells[3] == str(it["onair"]["true_peak"])
            if "take" in it:
                assert cells[6] == str(it["take"]["gain_db"])
    finally:
        driver.quit()


def _blocked(where, rate, seconds, seed, silences):
    """A speech-like take (a tone and noise under a syllable-rate envelope; with `silences`, whole seconds
    of nothing, cut hard), fed to `Blocks` as a take is decoded."""
    import numpy as np
    from radio.audio.take import CHUNK, Blocks
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t)
    if silences:
        env *= rng.random(n // rate + 1)[t.astype(int)] > 0.2
    x = ((0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)) * env).astype(np.float32)
    blocks = Blocks(where, rate)
    for i in range(0, n, CHUNK):
        blocks.feed(x[i: i + CHUNK])
    return x, blocks


CUTS = dict(rate=st.sampled_from([48000, 44100, 22050]), seconds=st.floats(1.5, 9.0), a=st.integers(0, 40_000),
            cut=st.integers(0, 40_000), seed=st.integers(0, 2**16))


@settings(max_examples=25, deadline=None)
@given(**CUTS)
def test_a_takes_loudness_from_its_blocks_is_what_a_meter_says(tmp_path_factory, rate, seconds, a, cut, seed):
    """The kept part of a take is measured from the K-weighted energy of its 64-sample blocks (one pass over the
    take, whatever is cut): within 0.02 LU of a meter run over those very samples, wherever the cut falls
    against the blocks and the 100 ms, at any rate."""
    from radio.audio import dsp
    x, blocks = _blocked(tmp_path_factory.mktemp("blocks"), rate, seconds, seed, silences=False)
    a, b = min(a, len(x) // 3), max(len(x) - cut, len(x) * 2 // 3)
    meter = dsp.Meter(rate, true_peak=False)
    meter.feed(x[a:b])
    got = blocks.loudness(a, b, rate)
    blocks.close()
    assert abs(got - meter.result()["integrated"]) <= 0.02


@settings(max_examples=25, deadline=None)
@given(**CUTS)
def test_each_100_ms_from_the_blocks_is_off_by_at_most_the_blocks_its_edges_cut(tmp_path_factory, rate, seconds,
                                                                                   a, cut, seed):
    """Where 100 ms begins or ends inside a block, the block's energy is shared in proportion: each 100 ms
    measured from the blocks is the K-weighted energy of its own samples, give or take the energy of the two
    blocks its edges fall in, however hard the sound starts and stops. (That is why a 400 ms block that is
    mostly silence, sitting on the relative gate, may fall the other side of it than in a meter.)"""
    import numpy as np
    from scipy.signal import sosfilt
    from radio.audio import dsp
    from radio.audio.take import _Tenths
    x, blocks = _blocked(tmp_path_factory.mktemp("blocks"), rate, seconds, seed, silences=True)
    a, b = min(a, len(x) // 3), max(len(x) - cut, len(x) * 2 // 3)
    B, sub = dsp.BLOCK, rate // 10
    energy = blocks.energy.read(0, blocks.n).astype(np.float64)
    blocks.close()
    tenths = _Tenths(rate, a)
    tenths.feed(energy[a // B: -(-b // B)])
    got = tenths.result()[: (b - a) // sub] * sub
    y = sosfilt(dsp.k_weighting(rate), x.astype(np.float64))  # over the whole take, as the blocks are
    edges = a + np.arange(len(got) + 1) * sub
    want = np.add.reduceat(y[: edges[-1]] ** 2, edges[:-1])
    slack = energy[edges[:-1] // B] + energy[np.minimum(edges[1:] // B, len(energy) - 1)]
    assert np.all(np.abs(got - want) <= slack + 1e-4 * want + 1e-9)

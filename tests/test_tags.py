from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from tests.audio_util import WEEK, cached, ff, record_tones, samples, tiny_station
from tests.canary import assert_clean, plant
from tests.conftest import runner_for


def make_cover(path: Path, w: int = 1400, h: int = 1400, fmt: str = "png") -> Path:
    return cached(path, ("cover", w, h, fmt), lambda target: ff(
        "-f", "lavfi", "-i", f"color=c=red:s={w}x{h}:d=1", "-frames:v", "1", "-f", "image2", "-c:v",
        {"png": "png", "jpg": "mjpeg"}[fmt], str(target)))


def publish_tones(root: Path, seconds: float = 2.0) -> None:
    """A tiny station published as a user does it: a cover, a tone per item, then assemble and publish."""
    make_cover(root / "elements" / "cover.png")
    record_tones(root, seconds)
    run = runner_for(root)
    for step in (("assemble", WEEK), ("publish", WEEK)):
        r = run(*step)
        assert r.exit_code == 0, (step, r.err)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny station, assembled (and so tagged) once; each test works on its own copy."""
    root = tiny_station(tmp_path_factory.mktemp("tags") / "st")
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    assert runner_for(root)("assemble", WEEK).exit_code == 0
    return root


@pytest.fixture
def station(built, tmp_path):
    import shutil
    dest = tmp_path / "st"
    shutil.copytree(built, dest)
    return dest


def _out(root: Path) -> Path:
    return root / "episodes" / WEEK / "out"


def id3_size(data: bytes) -> int:
    assert data[:3] == b"ID3"
    b = data[6:10]
    return 10 + ((b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3])


def test_mp3_tags_and_chapters(station):
    mp3 = _out(station) / "podcast.mp3"
    after = mp3.read_bytes()
    assert after[id3_size(after)] == 0xFF  # one tag, then the first MPEG frame: no second tag behind it
    t = ID3(mp3)
    assert t.version == (2, 3, 0)
    assert str(t["TIT2"]) == "st, 20 November 2026"
    assert str(t["TPE1"]) == "The Host"
    assert str(t["TALB"]) == "st"
    assert str(t["TCON"]) == "Podcast"
    assert str(t["TDRC"]) == "2026-11-20"
    assert b"TYER" in after[:id3_size(after)] and b"TDAT" in after[:id3_size(after)]  # v2.3 splits the date
    assert t["WXXX:episode"].url == "https://example.org/podcast/st/episodes/2026-W47/"
    from radio.station import Station
    assert str(t["TXXX:PODCAST_GUID"]) == Station.open(station).episode_guid(WEEK)
    apic = t.getall("APIC")[0]
    assert apic.mime == "image/png" and apic.type == 3 and apic.data == (station / "elements" / "cover.png").read_bytes()
    as_run = json.loads((_out(station) / "as-run.json").read_text())
    speech = [i for i in as_run["podcast"]["items"] if i["type"] == "read"]
    toc = t["CTOC:toc"]
    assert toc.child_element_ids == ["chp001", "chp002", "chp003", "chp004"]
    assert int(toc.flags) == 3  # top level, ordered
    chaps = [t[f"CHAP:{c}"] for c in toc.child_element_ids]
    # the chapters cover the whole file: the theme before the first item joins it, each runs to the next
    total = as_run["podcast"]["samples"] * 1000 // as_run["rate"]
    starts = [0] + [i["start_ms"] for i in speech[1:]]
    expected = [(a, b, i["title"]) for a, b, i in zip(starts, starts[1:] + [total], speech)]
    assert speech[0]["start_ms"] > 0
    assert [(c.start_time, c.end_time, str(c.sub_frames["TIT2"])) for c in chaps] == expected
    # ffprobe reads the same chapters, in the same order
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json",
                                       str(mp3)], capture_output=True, text=True).stdout)
    assert [(round(float(c["start_time"]) * 1000), round(float(c["end_time"]) * 1000), c["tags"]["title"])
            for c in probe["chapters"]] == expected
    assert probe["format"]["tags"]["title"] == "st, 20 November 2026"


def test_assembling_twice_gives_the_same_tagged_files(station):
    first = [(_out(station) / n).read_bytes() for n in ("podcast.mp3", "onair.wav", "tags.json")]
    assert runner_for(station)("assemble", WEEK).exit_code == 0
    assert [(_out(station) / n).read_bytes() for n in ("podcast.mp3", "onair.wav", "tags.json")] == first


def test_the_old_tag_command_says_what_the_masters_carry_and_changes_nothing(station):
    first = [(_out(station) / n).read_bytes() for n in ("podcast.mp3", "onair.wav")]
    r = runner_for(station)("tag", WEEK)
    assert r.exit_code == 0, r.err
    assert r.err == "warning: `radio tag` is part of `radio assemble` now; the old command will go\n"
    assert r.out == ("tagged episodes/2026-W47/out/podcast.mp3: st, 20 November 2026, 4 chapters\n"
                     "tagged episodes/2026-W47/out/onair.wav: bext and LIST/INFO\n")
    assert [(_out(station) / n).read_bytes() for n in ("podcast.mp3", "onair.wav")] == first


def _riff(path: Path) -> dict[bytes, bytes]:
    data = path.read_bytes()
    pos, out = 12, {}
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out[cid] = data[pos + 8: pos + 8 + size] if cid != b"data" else b"<%d bytes>" % size
        pos += 8 + size + (size & 1)
    return out


def test_wav_bext_and_info(station):
    wav = _out(station) / "onair.wav"
    as_run = json.loads((_out(station) / "as-run.json").read_text())
    assert len(samples(wav)) == as_run["onair"]["samples"]  # the tags leave the audio as assembled
    chunks = _riff(wav)
    assert list(chunks) == [b"fmt ", b"bext", b"LIST", b"JUNK", b"data"]
    bext = chunks[b"bext"]
    assert bext[:20] == b"st, 20 November 2026"
    assert bext[256:288].rstrip(b"\0") == b"st"
    assert bext[288:320].rstrip(b"\0") == b"st-2026-W47"
    assert bext[320:338] == b"2026-11-2018:00:00"
    assert struct.unpack("<IIH", bext[338:348]) == (0, 0, 2)
    loud = json.loads((_out(station) / "loudness.json").read_text())["onair"]
    lv, lra, tp, mm, ms = struct.unpack("<hhhhh", bext[412:422])
    assert lv == round(loud["integrated"] * 100) and tp == round(loud["true_peak"] * 100)
    assert lra == round(loud["lra"] * 100) and mm == round(loud["max_momentary"] * 100)
    assert bext[602:].startswith(b"A=PCM,F=48000,W=24,M=mono,T=radio ")
    assert chunks[b"LIST"][:4] == b"INFO" and b"INAM" in chunks[b"LIST"]
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(wav)],
                                      capture_output=True, text=True).stdout)["format"]["tags"]
    assert probe["originator_reference"] == "st-2026-W47"
    assert probe["date"] == "2026-11-20" and probe["creation_time"] == "18:00:00"  # ffmpeg's names for them
    assert probe["coding_history"].startswith("A=PCM,F=48000,W=24,M=mono")
    assert probe["title"] == "st, 20 November 2026"


@pytest.mark.parametrize("make,message", [
    (lambda p: make_cover(p, 1200, 1200), "the cover is 1200x1200 px; podcast apps need 1400 to 3000 px"),
    (lambda p: make_cover(p, 1600, 1400), "the cover is 1600x1400 px, not square"),
    (lambda p: make_cover(p, 3200, 3200, "jpg"), "the cover is 3200x3200 px; podcast apps need 1400 to 3000 px"),
    (lambda p: p.write_text("not an image"), "the cover is not a JPEG or PNG image"),
])
def test_bad_cover(station, make, message):
    cover = station / "elements" / "cover.png"
    mp3_before = (_out(station) / "podcast.mp3").read_bytes()
    make(cover)
    r = runner_for(station)("assemble", WEEK)  # refused before any mixing: the masters stay as they were
    assert r.exit_code == 1
    assert r.err.startswith(f"error: {cover}: {message} (make it a square JPEG or PNG of 1400 to 3000 px")
    assert (_out(station) / "podcast.mp3").read_bytes() == mp3_before


def test_no_cover_yet_assembles_but_does_not_publish(station):
    """A producer hears the show before the artwork is done; what goes out has the cover in its tags."""
    cover = station / "elements" / "cover.png"
    kept = cover.read_bytes()
    cover.unlink()
    run = runner_for(station)
    assert run("assemble", WEEK).exit_code == 0
    mp3 = _out(station) / "podcast.mp3"
    assert ID3(mp3).getall("APIC") == [] and str(ID3(mp3)["TIT2"]) == "st, 20 November 2026"
    r = run("publish", WEEK)
    assert r.exit_code == 1
    assert r.err.startswith(f"error: {cover}: the cover image does not exist (make it a square JPEG or PNG")
    cover.write_bytes(kept)
    r = run("publish", WEEK)
    assert r.exit_code == 1
    assert r.err == (f"error: {mp3}: the podcast master has no cover art: the station had no cover when it was "
                     f"assembled (add the image podcast.cover names, then run `radio assemble {WEEK}` again)\n")
    assert not (station / "feeds" / "st" / "feed.xml").exists()
    assert run("build", WEEK).exit_code == 0  # the cover is an input of assembly: the build assembles again
    assert ID3(mp3).getall("APIC")[0].data == kept


def test_a_jpeg_cover_of_the_right_size(station):
    cover = station / "elements" / "cover.jpg"
    make_cover(cover, 1500, 1500, "jpg")
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace('cover = "elements/cover.png"', 'cover = "elements/cover.jpg"'))
    assert runner_for(station)("assemble", WEEK).exit_code == 0
    assert ID3(_out(station) / "podcast.mp3").getall("APIC")[0].mime == "image/jpeg"


def test_too_many_chapters(station):
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace('chapter_types = ["read", "recorded"]',
                                           'chapter_types = ["read", "recorded", "element"]'))
    rundown = station / "episodes" / WEEK / "rundown.yaml"
    text = rundown.read_text()
    first = text.index("  - id: ")
    themes = "".join(f"  - id: theme-{i}\n    type: element\n    element: theme\n" for i in range(256))
    rundown.write_text(text[:first] + themes + text[first:])
    mp3_before = (_out(station) / "podcast.mp3").read_bytes()
    r = runner_for(station)("assemble", WEEK, "--allow-over")
    assert r.exit_code == 1
    assert r.err == (f"error: {rundown}: 262 chapters: an ID3 table of contents holds at most 255 "
                     "(set podcast.chapter_types to fewer item types, or merge items)\n")
    assert (_out(station) / "podcast.mp3").read_bytes() == mp3_before


def test_missing_master(station):
    (_out(station) / "as-run.json").unlink()
    r = runner_for(station)("tag", WEEK)
    assert r.err.endswith(f"error: {_out(station)}: no masters for {WEEK} yet (run `radio assemble {WEEK}` (it tags "
                          "them))\n")


def test_no_private_data_in_any_tag(tmp_path):
    root = tiny_station(tmp_path / "st")
    canaries = plant(root)
    make_cover(root / "elements" / "cover.png")
    record_tones(root, 2.0)
    run = runner_for(root)
    assert run("assemble", WEEK).exit_code == 0
    out = _out(root)
    assert_clean([out / "podcast.mp3", out / "onair.wav", out / "as-run.json", out / "loudness.json",
                  out / "tags.json"], canaries)
    # and the tags themselves, frame by frame
    text = " ".join(str(f) for f in ID3(out / "podcast.mp3").values())
    assert not [c for c in canaries if c in text]

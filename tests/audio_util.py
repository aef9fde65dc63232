"""Small real audio fixtures (ffmpeg tones, espeak-ng speech) and independent measurements (ffmpeg ebur128)."""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from radio.station import init_station

WEEK = "2026-W47"


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


_CACHE: Path | None = None


def cached(path: Path, key: object, make) -> Path:
    """Make a fixture file or folder once per test process (`make(target)`), then copy it to `path`: the same
    tones, covers and stations are needed by many tests, and ffmpeg is the slow part."""
    global _CACHE
    if _CACHE is None:
        _CACHE = Path(tempfile.mkdtemp(prefix="radio-fixtures-"))
        atexit.register(shutil.rmtree, _CACHE, True)
    src = _CACHE / (hashlib.sha256(repr(key).encode()).hexdigest()[:20] + path.suffix)
    if not src.exists():
        tmp = src.with_name("part-" + src.name)
        make(tmp)
        tmp.rename(src)
    path.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, path, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, path)
    return path


def tone(path: Path, freq: float = 440, seconds: float = 2.0, db: float = -20, *, head: float = 0.0,
         tail: float = 0.0, rate: int = 48000, channels: int = 1, extra: tuple[str, ...] = (),
         floor_db: float | None = None, dc: float = 0.0) -> Path:
    """A sine at `db` dBFS peak, with optional silence before and after (digital zeros, or white noise peaking
    at `floor_db` throughout, as a room would give), and an optional DC offset throughout."""
    amp = 10 ** (db / 20)
    expr = f"{amp}*sin(2*PI*{freq}*t)*between(t,{head},{head + seconds})"
    if floor_db is not None:
        expr += f"+{10 ** (floor_db / 20)}*(2*random(0)-1)"
    if dc:
        expr += f"+{dc}"
    layout = "|".join([expr] * channels)

    def make(target: Path) -> None:
        ff("-f", "lavfi", "-i", f"aevalsrc='{layout}':s={rate}:d={head + seconds + tail}", *extra, str(target))

    return cached(path, ("tone", layout, rate, head + seconds + tail, extra, path.suffix), make)


def speech(path: Path, text: str, *, voice: str = "en", head: float = 0.0, db: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(tmp), text], check=True)
    ff("-i", str(tmp), "-af", f"adelay={int(head * 1000)},volume={db}dB", str(path))
    tmp.unlink()
    return path


def ebur128(path: Path, start: float | None = None, end: float | None = None, *, dualmono: bool = False) -> dict:
    """Integrated loudness, LRA and true peak as ffmpeg's ebur128 filter measures them (`dualmono`: a mono file
    as heard on two speakers)."""
    trim = f"atrim={start or 0}:{end},asetpts=N/SR/TB," if end is not None else ""
    dual = ":dualmono=true" if dualmono else ""
    r = subprocess.run(["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-af", f"{trim}ebur128=peak=true{dual}",
                        "-f", "null", "-"], capture_output=True, text=True)
    s = r.stderr[r.stderr.rindex("Summary:"):]
    get = lambda pat: float(re.search(pat, s).group(1))  # noqa: E731
    return {"I": get(r"I:\s+(-?[\d.]+|-inf) LUFS"), "LRA": get(r"LRA:\s+(-?[\d.]+) LU"),
            "TP": get(r"Peak:\s+(-?[\d.]+|-inf) dBFS")}


def samples(path: Path, rate: int = 48000) -> np.ndarray:
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f",
                        "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(r.stdout, dtype="<f4")


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


def tiny_station(root: Path, *, slot: str = "0:30", filler: bool = True, bed_under_news: bool = False) -> Path:
    """A station whose show is a theme, a welcome, two news items, a closing and the theme: small and fast."""
    return cached(root, ("tiny", root.name, slot, filler, bed_under_news),
                  lambda target: _tiny_station(target, root.name, slot, filler, bed_under_news))


def _tiny_station(target: Path, name: str, slot: str, filler: bool, bed_under_news: bool) -> None:
    root = target.parent / f"make-{target.name}" / name  # the station takes its name from its folder
    init_station(root)
    cfg = root / "radio.toml"
    text = cfg.read_text()
    text = text.replace('slot = "28:30"', f'slot = "{slot}"')
    text = text.replace('format = ["welcome", "headlines", "news", "features", "appeals", "closing"]',
                        'format = ["element:theme", "welcome", "news", "closing", "element:theme"]')
    text = text.replace('# filler = "newsbed"', 'filler = "bed"' if filler else "")
    # the takes here are tones of a second or two standing in for whole readings: only a take cut to a tenth of
    # its item's estimate counts as cut short
    text = text.replace("min_fraction = 0.4 ", "min_fraction = 0.1 ")
    text = text.replace("[elements]\n", '[elements]\ntheme = { file = "elements/theme.wav", kind = "music", '
                                          'level = -3.0, title = "Theme" }\nbed = { file = "elements/bed.wav", '
                                          'kind = "bed", level = -6.0, title = "Bed" }\n')
    cfg.write_text(text)
    tone(root / "elements" / "theme.wav", 523.25, 2.0, -12)
    tone(root / "elements" / "bed.wav", 110, 3.0, -20)
    folder = root / "episodes" / WEEK / "reports"
    folder.mkdir(parents=True)
    for rid, pri, title in (("first-story", 1, "First fictional story"), ("second-story", 2, "Second fictional story")):
        (folder / f"{rid}.md").write_text(
            f"---\n# FICTIONAL test report\ntitle: {title}\nreceived: 2026-11-16\nregion: Test Region\nkind: strike\n"
            f"priority: {pri}\nstatus: verified\nchecks:\n  - {{by: a, on: 2026-11-17, method: phone}}\n"
            f"  - {{by: b, on: 2026-11-17, method: visit}}\nexposure: regional\nprivate:\n  correspondent: x\n---\n"
            f"Workers held a meeting today.\n")
    from radio.station import Station
    from radio.rundown.plan import plan
    plan(Station.open(root), WEEK)
    if bed_under_news:
        rd = root / "episodes" / WEEK / "rundown.yaml"
        rd.write_text(rd.read_text().replace("    report: first-story\n", "    report: first-story\n    bed: bed\n"))
    root.rename(target)
    root.parent.rmdir()


SPEECH_ITEMS = ("welcome", "first-story", "second-story", "closing")


def record_tones(root: Path, seconds: float = 3.0, *, db: dict | None = None, head: float = 0.0,
                 floor_db: float | None = None) -> dict[str, Path]:
    """One tone per speech item, each at its own frequency so it can be found in the master."""
    seg = root / "episodes" / WEEK / "segments"
    out = {}
    for i, item in enumerate(SPEECH_ITEMS):
        out[item] = tone(seg / f"{item}.wav", 300 + 200 * i, seconds, (db or {}).get(item, -18), head=head, tail=head,
                         floor_db=floor_db)
    return out


def write_wav(path: Path, x: np.ndarray, rate: int = 48000) -> Path:
    """Float samples as a 32-bit float WAV (ffmpeg reads it like any take)."""
    from scipy.io import wavfile
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, np.asarray(x, dtype=np.float32))
    return path


def espeak(text: str, rate: int = 48000, peak: float = 0.5) -> np.ndarray:
    """espeak-ng reading `text`, at `rate`, scaled to `peak`, without its own silence at either end."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        raw = Path(d) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(raw), text], check=True)
        x = samples(raw, rate).astype(np.float32)
    loud = np.flatnonzero(np.abs(x) > 0.01 * np.abs(x).max())
    x = x[loud[0]: loud[-1] + 1]
    return x * np.float32(peak / np.abs(x).max())


def zero_runs(x: np.ndarray, floor: float = 2 ** -23) -> np.ndarray:
    """Lengths (samples) of the runs of digital silence in `x`."""
    quiet = np.concatenate([[0], (np.abs(x) < floor).astype(np.int8), [0]])
    d = np.diff(quiet)
    return np.nonzero(d == -1)[0] - np.nonzero(d == 1)[0]


def band_db(x: np.ndarray, lo: float, hi: float, rate: int = 48000) -> float:
    """RMS level (dBFS) of `x` between `lo` and `hi` Hz."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.fft.rfftfreq(len(x), 1 / rate)
    spec[(f < lo) | (f > hi)] = 0
    return rms_db(np.fft.irfft(spec, len(x)))

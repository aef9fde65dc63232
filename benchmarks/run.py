"""Benchmarks: radio against the bare tool doing the same work, in the same run. Not tests: they measure.

For generated 30-, 60- and 180-minute shows: `radio build` wall time as a ratio to a bare `ffmpeg` MP3 encode of
the same on-air master, peak RSS of each, and the masters' loudness against the targets; the no-op rebuild;
`radio script` for 200 reports. Prints one table and writes it to benchmarks/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fixtures import WEEK, station_with_reports

ROOT = Path(__file__).resolve().parent.parent
RADIO = [sys.executable, "-m", "radio"]


def measure(cmd: list[str], **kw) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one process (its own, not its children's)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss // 1024


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def show_station(root: Path, minutes: int) -> Path:
    """A station whose show fills `minutes` with 0.4 segments a minute of speech-like sound, a theme either side."""
    n = max(4, round(minutes * 0.4))
    station_with_reports(root, n, slot=f"{minutes // 60}:{minutes % 60:02d}:00")
    cfg = root / "radio.toml"
    text = cfg.read_text()
    text = text.replace('format = ["welcome", "headlines", "news", "appeals", "closing"]',
                        'format = ["element:theme", "news", "element:theme"]')
    text = text.replace('# filler = "newsbed"', 'filler = "bed"')
    text = text.replace("[elements]\n", '[elements]\ntheme = { file = "elements/theme.wav", level = -3.0 }\n'
                                          'bed = { file = "elements/bed.wav", kind = "bed", level = -8.0 }\n')
    cfg.write_text(text)
    ff("-f", "lavfi", "-i", "aevalsrc='0.2*sin(2*PI*261.63*t)+0.15*sin(2*PI*392*t)':s=48000:d=10", str(root / "elements" / "theme.wav"))
    ff("-f", "lavfi", "-i", "aevalsrc='0.1*sin(2*PI*110*t)':s=48000:d=8", str(root / "elements" / "bed.wav"))
    ff("-f", "lavfi", "-i", "color=c=red:s=1400x1400:d=1", "-frames:v", "1", str(root / "elements" / "cover.png"))
    from radio.station import Station
    from radio.rundown import plan
    plan(Station.open(root), WEEK)
    seg = root / "episodes" / WEEK / "segments"
    seg.mkdir(parents=True)
    each = (minutes * 60 - 20 - 20 - n * 0.3 - 30) / n  # themes, gaps, and half a minute of filler
    for i in range(n):
        # pink noise gated at syllable rate, low-passed like a voice, with dead air to trim at either end
        ff("-f", "lavfi", "-i", f"anoisesrc=c=pink:r=48000:a=0.25:seed={i + 1}:d={each - 1.2:.3f}",
           "-af", "lowpass=f=4000,volume='if(lt(mod(t\\,0.27)\\,0.17)\\,1\\,0.04)':eval=frame,"
                  "adelay=600,apad=pad_dur=0.6", "-ac", "1", "-c:a", "pcm_s16le", str(seg / f"report-{i:04d}.wav"))
    return root


def run_show(minutes: int, work: Path) -> dict:
    root = show_station(work / f"show-{minutes}", minutes)
    env = {**os.environ, "RADIO_STATION": str(root)}
    wall, rss = measure([*RADIO, "-q", "build", WEEK], env=env)
    out = root / "episodes" / WEEK / "out"
    ff_wall, ff_rss = measure(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(out / "onair.wav"), "-c:a",
                               "libmp3lame", "-b:a", "128k", "-ac", "1", str(work / "bare.mp3")])
    noop, _ = measure([*RADIO, "-q", "build", WEEK], env=env)
    loud = json.loads((out / "loudness.json").read_text())
    shutil.rmtree(root)
    return {"minutes": minutes, "wall": wall, "rss": rss, "ff_wall": ff_wall, "ff_rss": ff_rss, "noop": noop,
            "onair": loud["onair"], "podcast": loud["podcast"]}


def run_script(work: Path) -> dict:
    root = station_with_reports(work / "reports-200", 200)
    env = {**os.environ, "RADIO_STATION": str(root)}
    subprocess.run([*RADIO, "-q", "plan", WEEK], env=env, check=True)
    wall, rss = measure([*RADIO, "-q", "script", WEEK], env=env)
    startup, _ = measure([*RADIO, "--version"], env=env)
    return {"wall": wall, "rss": rss, "startup": startup}


def table(shows: list[dict], script: dict) -> str:
    lines = [
        f"radio benchmarks — {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| show | radio build | ffmpeg MP3 encode | ratio (target ≤ 1.5) | radio peak RSS | ffmpeg peak RSS | "
        "on air LUFS / dBTP (−23 ±0.5, ≤ −1) | podcast LUFS / dBTP (−16 ±1, ≤ −1) | no-op rebuild (< 1 s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in shows:
        lines.append(f"| {s['minutes']} min | {s['wall']:.1f} s | {s['ff_wall']:.1f} s | {s['wall'] / s['ff_wall']:.2f} | "
                     f"{s['rss']} MiB | {s['ff_rss']} MiB | {s['onair']['integrated']} / {s['onair']['true_peak']} | "
                     f"{s['podcast']['integrated']} / {s['podcast']['true_peak']} | {s['noop']:.2f} s |")
    if len(shows) >= 2:
        by = {s["minutes"]: s for s in shows}
        if 60 in by and 180 in by:
            lines += ["", f"Peak RSS 180 min / 60 min: {by[180]['rss'] / by[60]['rss']:.2f} (target ≤ 1.1)"]
    lines += ["", f"`radio script` for 200 reports: {script['wall']:.2f} s wall, of which {script['startup']:.2f} s is "
                  f"starting Python and radio (`radio --version`); peak RSS {script['rss']} MiB (target < 1 s)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=int, nargs="*", default=[30, 60, 180], help="show lengths to build")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="radio-bench-") as tmp:
        work = Path(tmp)
        shows = []
        for m in args.minutes:
            print(f"building a {m}-minute show ...", file=sys.stderr, flush=True)
            shows.append(run_show(m, work))
        print("scripting 200 reports ...", file=sys.stderr, flush=True)
        script = run_script(work)
    text = table(shows, script)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "RESULTS.md").write_text(text)
    print(text)
    print(f"written to {out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

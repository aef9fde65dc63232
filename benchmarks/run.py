"""Benchmarks: radio against the bare tool doing the same work, in the same run. Not tests: they measure.

For the demo station's own show format (theme, welcome, headlines over the ducked news bed, station ID crossfaded,
reports and features, appeals over the bed, closing, theme, news bed as filler): the realistic hour (nine reads of
about 5 minutes) in one edition and in three, shows with one 15-, 30- and 60-minute take (the 60 also in FLAC,
MP3 and Ogg), and a 3-hour slot, with
44.1 kHz recordings in wav, flac, mp3 and ogg (room noise, digital silence and clicks to trim): `radio build`
against a bare `ffmpeg` MP3 encode of the same on-air master, as wall time and CPU time ratios; peak RSS of each
whole process tree (RUSAGE_CHILDREN of a process that runs only that command); and the masters as
`loudness.json` and ffmpeg's ebur128 measure them: programme loudness and true peak, each speech item in the
on-air master, the podcast's speech spread and its limiter's gain reduction over speech. Also the no-op rebuild
and `radio script` for 200 reports. Prints one table and writes it to benchmarks/results/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fixtures import WEEK, demo_format_station, station_with_reports

ROOT = Path(__file__).resolve().parent.parent
RADIO = [sys.executable, "-m", "radio"]

# Runs one command as its only child and reports what the whole tree used: wall and CPU seconds, and the
# largest resident set among all its processes (getrusage(RUSAGE_CHILDREN) counts every descendant waited for).
WRAP = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": r.returncode, "wall": wall, "cpu": u.ru_utime + u.ru_stime, "rss": u.ru_maxrss // 1024,
                  "err": r.stderr.decode("utf-8", "replace")[-4000:]}))
"""


def measure(cmd: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, env=env, check=True)
    m = json.loads(out.stdout)
    if m["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{m['err']}")
    return m


def ebur128(path: Path) -> dict:
    r = subprocess.run(["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null",
                        "-"], capture_output=True, text=True)
    s = r.stderr[r.stderr.rindex("Summary:"):]
    return {"I": float(re.search(r"I:\s+(-?[\d.]+) LUFS", s).group(1)),  # type: ignore[union-attr]
            "TP": float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", s).group(1))}  # type: ignore[union-attr]


def median(ms: list[dict]) -> dict:
    """The run of median CPU time (CPU time is what a shared machine disturbs least), with every run's figures."""
    m = sorted(ms, key=lambda m: m["cpu"])[len(ms) // 2]
    return {**m, "runs": [(round(x["cpu"], 2), round(x["wall"], 2)) for x in ms],
            "rss": max(x["rss"] for x in ms)}


def run_show(minutes: int, work: Path, filler: float, label: str | None = None, runs: int = 1,
             edition: str | None = None, **kw) -> dict:
    """The show built `runs` times, each time from the same fresh copy (nothing built), and the bare encode of its
    on-air master as many times; the medians by CPU time. `edition`: build only that one."""
    fresh = demo_format_station(work / f"show-{label or minutes}", minutes, filler=filler, **kw)
    builds = []
    for k in range(runs):
        root = work / f"build-{k}"
        shutil.copytree(fresh, root, symlinks=True)
        env = {**os.environ, "RADIO_STATION": str(root)}
        builds.append(measure([*RADIO, "-q", "build", WEEK, *(("--edition", edition) if edition else ())], env=env))
        if k < runs - 1:
            shutil.rmtree(root)
    build = median(builds)
    out = root / "episodes" / WEEK / "out"
    bare = median([measure(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(out / "onair.wav"), "-c:a",
                            "libmp3lame", "-b:a", "128k", "-ac", "1", str(work / "bare.mp3")]) for _ in range(runs)])
    noop = measure([*RADIO, "-q", "build", WEEK, *(("--edition", edition) if edition else ())], env=env)
    shutil.rmtree(fresh)
    loud = json.loads((out / "loudness.json").read_text())
    as_run = json.loads((out / "as-run.json").read_text())
    on_items = as_run["onair"]["items"]
    filler_s = sum(i["end"] - i["start"] for i in on_items if i["type"] == "filler") / as_run["rate"]
    result = {"minutes": minutes, "label": label or f"{minutes} min", "build": build, "bare": bare, "noop": noop["wall"], "loud": loud,
              "filler_share": filler_s / as_run["onair"]["seconds"], "items": len(on_items),
              "ebur_on": ebur128(out / "onair.wav"), "ebur_pod": ebur128(out / "podcast.mp3"),
              "editions": kw.get("editions", 1) if edition is None else 1, "load": os.getloadavg()[0]}
    shutil.rmtree(root)
    return result


def run_script(work: Path) -> dict:
    root = station_with_reports(work / "reports-200", 200)
    env = {**os.environ, "RADIO_STATION": str(root)}
    subprocess.run([*RADIO, "-q", "plan", WEEK], env=env, check=True)
    m = measure([*RADIO, "-q", "script", WEEK], env=env)
    startup = measure([*RADIO, "--version"], env=env)
    return {"wall": m["wall"], "rss": m["rss"], "startup": startup["wall"]}


def table(shows: list[dict], script: dict | None) -> str:
    lines = [
        f"radio benchmarks — {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        "",
        "The demo's show format (theme, welcome, headlines over the ducked bed, ID crossfaded, reports, features, "
        "appeals over the bed, closing, theme), 44.1 kHz recordings in wav/flac/mp3/ogg with room noise, digital "
        "silence and clicks, news bed as filler. Ratios are against a bare ffmpeg MP3 encode of the same on-air "
        "master in the same run (`radio build` is plan, script, assemble, run sheet, tag and publish); CPU is user + "
        "system time of the whole process tree, the primary figure on a shared machine, wall time second; each the "
        "median of the runs shown (CPU s / wall s of every run). RSS is the largest process of each whole tree "
        "(RUSAGE_CHILDREN), the largest of the runs. Load is the 1-minute load average when the row finished.",
        "",
        "| show | items | filler | radio build CPU / wall | ffmpeg encode CPU / wall | CPU ratio | wall ratio "
        "| radio peak RSS (≤ 250 MiB) | ffmpeg peak RSS | no-op rebuild | load | runs: radio; ffmpeg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in shows:
        b, f = s["build"], s["bare"]
        runs = lambda m: ", ".join(f"{c:.1f}/{w:.1f}" for c, w in m.get("runs", [(m["cpu"], m["wall"])]))  # noqa: E731
        lines.append(f"| {s['label']} | {s['items']} | {s['filler_share']:.0%} | {b['cpu']:.1f} s / "
                     f"{b['wall']:.1f} s | {f['cpu']:.1f} s / {f['wall']:.1f} s | {b['cpu'] / f['cpu']:.2f} | "
                     f"{b['wall'] / f['wall']:.2f} | {b['rss']} MiB | {f['rss']} MiB | {s['noop']:.2f} s | "
                     f"{s.get('load', 0):.1f} | {runs(b)}; {runs(f)} |")
    lines += ["", "| show | on air LUFS / dBTP (−23 ±0.5, ≤ −1), ebur128 | on-air speech items LUFS (−23 ±1) | "
                  "on-air master gain (±1 dB) | podcast LUFS / dBTP (mono −19 ±0.5, ≤ −1), ebur128 | podcast speech "
                  "spread (≤ 1.5 LU) | podcast limiter GR on speech: median / p95 / share > 3 dB |",
              "|---|---|---|---|---|---|---|"]
    for s in shows:
        on, pod = s["loud"]["onair"], s["loud"]["podcast"]
        sp_on, sp_pod, lim = on.get("speech") or {}, pod.get("speech") or {}, pod.get("limiter") or {}
        lines.append(f"| {s['label']} | {on['integrated']} / {on['true_peak']} ({s['ebur_on']['I']} / "
                     f"{s['ebur_on']['TP']}) | {sp_on.get('min')} … {sp_on.get('max')} | {on['gain_db']:+.2f} | "
                     f"{pod['integrated']} / {pod['true_peak']} ({s['ebur_pod']['I']} / {s['ebur_pod']['TP']}) | "
                     f"{sp_pod.get('spread')} | {lim.get('median_db')} / {lim.get('p95_db')} dB / "
                     f"{lim.get('over_3db', 0):.1%} |")
    takes = {s["take"]: s for s in shows if s.get("take")}
    if 15 in takes and 60 in takes:
        lines += ["", f"Peak RSS with a 60-minute take / a 15-minute take: "
                      f"{takes[60]['build']['rss'] / takes[15]['build']['rss']:.2f} (target ≤ 1.1)"]
    one = next((s for s in shows if s.get("editions") == 1 and s["label"].startswith("realistic")), None)
    three = next((s for s in shows if s.get("editions") == 3), None)
    if one and three:
        lines += ["", f"Three editions / one edition of the realistic show: CPU "
                      f"{three['build']['cpu'] / one['build']['cpu']:.2f}×, wall "
                      f"{three['build']['wall'] / one['build']['wall']:.2f}× (target ≤ 3×); peak RSS "
                      f"{three['build']['rss']} / {one['build']['rss']} MiB"]
    hour = next((s for s in shows if s.get("editions") == 1 and s["label"].startswith("realistic")), None)
    long = next((s for s in shows if s["minutes"] >= 180 and "take" not in s["label"]), None)
    if hour and long:
        lines += ["", f"Peak RSS {long['label']} / the realistic hour: {long['build']['rss'] / hour['build']['rss']:.2f} "
                      "(target ≤ 1.1)"]
    if script:
        lines += ["", f"`radio script` for 200 reports: {script['wall']:.2f} s wall, of which {script['startup']:.2f} s "
                      f"is starting Python and radio (`radio --version`); peak RSS {script['rss']} MiB (target < 1 s)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=int, nargs="*", default=[180], help="show lengths to build (the 3-hour slot)")
    ap.add_argument("--runs", type=int, default=3, help="builds of the realistic show (one and three editions) "
                    "and bare encodes, each; the median by CPU time is shown (memory-only rows run once)")
    ap.add_argument("--editions", action=argparse.BooleanOptionalAction, default=True,
                    help="also build the realistic show in three editions")
    ap.add_argument("--filler", type=float, default=0.1, help="share of the slot left to the filler (0-0.5)")
    ap.add_argument("--no-script", action="store_true", help="leave out the 200-report script benchmark")
    ap.add_argument("--realistic", action=argparse.BooleanOptionalAction, default=True,
                    help="the realistic show: a 59:00 slot, nine reads of about 5 minutes recorded at 44.1 kHz")
    ap.add_argument("--takes", type=int, nargs="*", default=[15, 30, 60],
                    help="long-take runs: one take of each many minutes (44.1 kHz WAV), every other item 20 s")
    ap.add_argument("--take-formats", nargs="*", default=["flac", "mp3", "ogg"],
                    help="the longest take again, recorded in each of these formats")
    ap.add_argument("--archive", type=int, nargs="*", metavar="WEEKS",
                    help="only the archive benchmark: a new week with this many published behind it (10 100 520), "
                         "then the desk at scale (weeks of 100 and 1,000 reports; 52 weeks of 100)")
    ap.add_argument("--archive-runs", type=int, default=5, help="runs of each archive and desk command (median)")
    ap.add_argument("--no-desk", action="store_true", help="leave the desk at scale out of --archive")
    ap.add_argument("--archive-editions", type=int, nargs="*", default=[1, 3],
                    help="archives of one and of three editions (each measured at every size)")
    args = ap.parse_args()
    if args.archive is not None:
        from benchmarks.archive import build_archive, table as archive_table
        from benchmarks.desk import desk_scale, table as desk_table
        with tempfile.TemporaryDirectory(prefix="radio-bench-") as tmp:
            text = ""
            for eds in args.archive_editions:
                (Path(tmp) / f"archive-{eds}").mkdir()
                text += archive_table(build_archive(Path(tmp) / f"archive-{eds}", args.archive or [10, 100, 520],
                                                    runs=args.archive_runs, editions=eds))
            if not args.no_desk:
                text += desk_table(desk_scale(Path(tmp) / "desk", runs=max(1, args.archive_runs - 2)))
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        (out / "ARCHIVE.md").write_text(text)
        print(text)
        print(f"written to {out / 'ARCHIVE.md'}")
        return
    with tempfile.TemporaryDirectory(prefix="radio-bench-") as tmp:
        work = Path(tmp)
        shows = []

        def done(s: dict, t: float) -> None:
            b, f = s["build"], s["bare"]
            print(f"  {s['label']}: done in {time.perf_counter() - t:.0f} s; wall ratio {b['wall'] / f['wall']:.2f}, "
                  f"peak RSS {b['rss']} MiB", file=sys.stderr, flush=True)
            shows.append(s)
        if args.realistic:
            print("building the realistic show (59:00, nine 5-minute reads) ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            done(run_show(59, work, 0.22, "realistic 59:00, 9 reads", reports=5, runs=args.runs), t)
        if args.editions:
            print("building the realistic show in three editions ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            done(run_show(59, work, 0.22, "realistic 59:00, three editions", reports=5, runs=args.runs,
                          editions=3), t)
        for m in args.takes:
            print(f"building a show with one {m}-minute take ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            slot = max(59, m + 15)
            done({**run_show(slot, work, 0.1, f"{m}-min WAV take, {slot}:00 slot", long_take=m, reports=6,
                             formats=("wav",)), "take": m}, t)
        for ext in args.take_formats if args.takes else ():
            m = max(args.takes)
            print(f"building a show with one {m}-minute {ext} take ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            slot = max(59, m + 15)
            done(run_show(slot, work, 0.1, f"{m}-min {ext.upper()} take, {slot}:00 slot", long_take=m,
                          reports=6, formats=(ext,)), t)
        for m in args.minutes:
            print(f"building a {m}-minute show ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            done(run_show(m, work, args.filler, f"{m}:00 slot" if m % 60 else f"{m // 60}-hour slot"), t)
        script = None
        if not args.no_script:
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

"""The desk at scale: what the everyday commands cost in a big week and in a desk with a year of reports.

A week of 100 reports against a week of 1,000 (the desk must be linear in a week: ≤ ~10×), and a desk of 52
weeks of 100 reports each (5,200 reports, a thread running through every week): `report list` of one week and
of the thread across all weeks, `plan`, `status` and `script` of the newest week. Each command runs in a process
of its own, several times; CPU seconds (user + system of the process tree) are the figure, wall time second;
the median run by CPU is shown, with the peak RSS of the tree. Reports are fictional and generated
(benchmarks/fixtures.py); the index of the desk is made once before the measured runs, as a desk in use has it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from benchmarks.fixtures import WEEK, station_with_reports
from benchmarks.run import RADIO, measure, median

COMMANDS = (("report list", ["report", "list", WEEK]), ("plan", ["plan", WEEK, "--force"]),
            ("status", ["status", WEEK]), ("script", ["script", WEEK]))
THREAD = "bench-strike"


def _commands(root: Path, runs: int, extra: tuple = ()) -> dict[str, dict]:
    env = {**os.environ, "RADIO_STATION": str(root), "SOURCE_DATE_EPOCH": "1763740800"}
    measure([*RADIO, "-q", "plan", WEEK, "--force"], env=env)  # the rundown, and the index made
    got = {}
    for name, args in (*COMMANDS, *extra):
        got[name] = median([measure([*RADIO, "-q", *args], env=env) for _ in range(runs)])
    return got


def desk_scale(work: Path, runs: int = 3, sizes: tuple[int, ...] = (100, 1000), weeks: int = 52) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.archive_util import week_after

    out: dict = {"weeks": {}, "runs": runs}
    for n in sizes:
        t = time.perf_counter()
        root = station_with_reports(work / f"week-{n}", n)
        out["weeks"][n] = _commands(root, runs)
        print(f"  a week of {n} reports measured in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        shutil.rmtree(root)
    t = time.perf_counter()
    root = station_with_reports(work / "desk", min(sizes))
    reports = root / "episodes" / WEEK / "reports"
    first = reports / "report-0000.md"
    first.write_text(first.read_text(encoding="utf-8").replace("kind: strike\n", f"kind: strike\nthread: {THREAD}\n"),
                     encoding="utf-8")
    for k in range(1, weeks):
        shutil.copytree(reports, root / "episodes" / week_after(WEEK, -k) / "reports")
    out["desk"] = _commands(root, runs, (("report list --thread", ["report", "list", "--thread", THREAD]),))
    out["desk_reports"] = sum(1 for _ in (root / "episodes").glob("*/reports/*.md"))
    out["desk_weeks"] = weeks
    print(f"  a desk of {out['desk_reports']} reports measured in {time.perf_counter() - t:.0f} s", file=sys.stderr,
          flush=True)
    return out


def table(r: dict) -> str:
    cell = lambda m: f"{m['cpu']:.2f} s ({m['wall']:.2f}), {m['rss']} MiB"  # noqa: E731
    names = [name for name, _ in COMMANDS]
    lines = ["", f"The desk at scale (median of {r['runs']} runs by CPU: CPU seconds (wall) and peak RSS of the tree; "
                 f"load average at the end {os.getloadavg()[0]:.1f}).", "",
             "| desk | " + " | ".join(names) + " | report list --thread |", "|---" * (len(names) + 2) + "|"]
    for n, got in sorted(r["weeks"].items()):
        lines.append(f"| one week of {n} reports | " + " | ".join(cell(got[c]) for c in names) + " | – |")
    d = r["desk"]
    lines.append(f"| {r['desk_weeks']} weeks, {r['desk_reports']} reports | " + " | ".join(cell(d[c]) for c in names)
                 + f" | {cell(d['report list --thread'])} |")
    sizes = sorted(r["weeks"])
    if len(sizes) > 1:
        lo, hi = r["weeks"][sizes[0]], r["weeks"][sizes[-1]]
        ratios = ", ".join(f"{c} {hi[c]['cpu'] / lo[c]['cpu']:.2f}×" for c in names)
        lines += ["", f"A week of {sizes[-1]} reports against one of {sizes[0]} (CPU): {ratios} "
                      f"(target: at most ~{sizes[-1] // sizes[0]}×)."]
    return "\n".join(lines) + "\n"

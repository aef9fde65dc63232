"""The archive benchmark: what a new week costs with 10, 100 and 520 weeks published behind it.

One week of a tiny station is built for real (tones for takes, assemble, publish) and then copied under the
following ISO weeks, each with its masters tagged for its own week and published through the real commands, as a
station grows. At each size the
next week is measured, each command in a process of its own: `publish` (wall time and peak RSS), and the
desk's `plan`, `script`, `status` and `report list --thread` of that week; then the feed's and show page's
bytes. The ratios 520/10 are what must stay flat (publish ≤ 1.2× in time, ≤ 1.1× in RSS).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from benchmarks.run import RADIO, measure

COMMANDS = ("publish", "plan", "script", "status", "thread")


EDITIONS = ("fr", "es")  # the other two of three editions: podcast-only, every report translated


def build_archive(work: Path, sizes: list[int], runs: int = 3, editions: int = 1) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.archive_util import copy_week, week_after
    from tests.audio_util import WEEK, tiny_station
    from tests.conftest import runner_for
    from tests.test_tags import publish_tones

    root = tiny_station(work / "st")
    report = root / "episodes" / WEEK / "reports" / "first-story.md"
    report.write_text(report.read_text().replace("kind: strike\n", "kind: strike\nthread: test-strike\n"))
    publish_tones(root)
    run = runner_for(root)
    if editions > 1:
        _editions(root, EDITIONS[: editions - 1])
    env = {**os.environ, "RADIO_STATION": str(root), "SOURCE_DATE_EPOCH": "1763740800"}
    have, results = 1, []
    for size in sorted(sizes):
        t = time.perf_counter()
        while have < size:
            week = week_after(WEEK, have)
            copy_week(root, week)
            r = run("publish", week)  # copy_week tagged its masters for the week
            assert r.exit_code == 0, r.err
            have += 1
        print(f"  {size} weeks published in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        got: dict[str, list[dict]] = {c: [] for c in COMMANDS}
        for k in range(runs):  # the next week, published with `size` behind it; then taken back out
            week = week_after(WEEK, have)
            copy_week(root, week)
            for rd in (root / "episodes" / week).rglob("rundown.yaml"):  # every edition's, planned anew
                rd.unlink()
            got["plan"].append(measure([*RADIO, "-q", "plan", week], env=env))
            got["script"].append(measure([*RADIO, "-q", "script", week], env=env))
            got["status"].append(measure([*RADIO, "-q", "status", week], env=env))
            got["thread"].append(measure([*RADIO, "-q", "report", "list", "--thread", "test-strike"], env=env))
            got["publish"].append(measure([*RADIO, "-q", "publish", week], env=env))
            if k < runs - 1:
                _unpublish(root, week)
        have += 1
        site = root / "feeds" / "st"
        med = {c: sorted(ms, key=lambda m: m["cpu"])[len(ms) // 2] for c, ms in got.items()}
        med = {c: {**m, "all": [round(x["cpu"], 2) for x in got[c]]} for c, m in med.items()}
        results.append({"weeks": size, **med, "runs": runs, "editions": editions, "load": os.getloadavg()[0], "feed": (site / "feed.xml").stat().st_size,
                        "page": (site / "index.html").stat().st_size,
                        "items": (site / "feed.xml").read_text().count("<item>")})
    return results


def _editions(root: Path, ids: tuple[str, ...]) -> None:
    """More editions of the built week: each podcast-only, its reports translated (checked), the same takes
    recorded for it, then assembled, tagged and published like the first."""
    import shutil
    from tests.audio_util import WEEK
    from tests.conftest import runner_for
    cfg = root / "radio.toml"
    text = cfg.read_text(encoding="utf-8")
    reports = root / "episodes" / WEEK / "reports"
    for ed in ids:
        text += (f'\n[[editions]]\nid = "{ed}"\nlanguage = "{ed}"\nslug = "st-{ed}"\ntitle = "st {ed}"\n'
                 f'description = "A fictional benchmark edition."\nmax_length = "0:30"\n'
                 f'hosts = [{{ id = "host-{ed}", name = "Host {ed}", voice = "{ed}", rate_wpm = 150 }}]\n')
        for r in sorted(reports.glob("*.md")):
            if r.name.count(".") == 1:
                body = r.read_text(encoding="utf-8").split("---\n", 2)[2]
                r.with_name(f"{r.stem}.{ed}.md").write_text(
                    f"---\n# FICTIONAL generated translation\ntitle: {ed} {r.stem}\ntranslator: bench\n"
                    f"state: checked\n---\n{body}", encoding="utf-8")
    cfg.write_text(text, encoding="utf-8")
    run = runner_for(root)
    for ed in ids:
        shutil.copytree(root / "episodes" / WEEK / "segments", root / "episodes" / WEEK / ed / "segments",
                        copy_function=shutil.copy)  # recorded now, after the translation
        for step in (("plan",), ("assemble", "--allow-stale-take"), ("publish",)):
            r = run(step[0], WEEK, "--edition", ed, *step[1:])  # the same takes, read in another language
            assert r.exit_code == 0, (ed, step, r.err)


def _unpublish(root: Path, week: str) -> None:
    """Take a measured week back out (its files and its line in each edition's record), so the next run
    publishes it anew."""
    import json
    import shutil
    shutil.rmtree(root / "episodes" / week)
    for rec_path in sorted((root / "feeds").glob(".*.published.json")):
        site = root / "feeds" / rec_path.name[1: -len(".published.json")]
        shutil.rmtree(site / "episodes" / week)
        rec = json.loads(rec_path.read_text())
        media = rec["episodes"].pop(week)["media"]
        (site / media).unlink()
        rec["weeks"].pop(week, None)
        rec_path.write_text(json.dumps(rec))


def table(results: list[dict]) -> str:
    eds = results[0]["editions"]
    lines = ["", f"Archive: a new week with N weeks published behind it ({'one edition' if eds == 1 else f'{eds} editions, each command for all of them'}; median of {results[0]['runs']} "
                 "runs by CPU, each command its own process, CPU seconds (user + system, steadier than wall time on "
                 "a shared machine) with wall time in brackets; RSS is the peak of the process tree; the load "
                 "average when the size was done).", "",
             "| weeks behind | publish, peak RSS | plan | script | status | report list --thread | feed.xml | "
             "show page | load |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        cell = {c: f"{r[c]['cpu']:.2f} s ({r[c]['wall']:.2f})" for c in COMMANDS}
        lines.append(f"| {r['weeks']} | {cell['publish']}, {r['publish']['rss']} MiB | {cell['plan']} | "
                     f"{cell['script']} | {cell['status']} | {cell['thread']} | {r['feed'] / 1024:.0f} KB, "
                     f"{r['items']} items | {r['page'] / 1024:.0f} KB | {r['load']:.1f} |")
    lines += ["", "CPU seconds of every run: " + "; ".join(
        f"{r['weeks']} weeks: " + ", ".join(f"{c} {'/'.join(str(v) for v in r[c]['all'])}" for c in COMMANDS)
        for r in results)]
    by = {r["weeks"]: r for r in results}
    lo, hi = min(by), max(by)
    if lo != hi:
        a, b = by[lo], by[hi]
        ratios = ", ".join(f"{c} {b[c]['cpu'] / a[c]['cpu']:.2f}×" for c in COMMANDS)
        lines += ["", f"Ratios {hi}/{lo}: {ratios}; publish peak RSS {b['publish']['rss'] / a['publish']['rss']:.2f}× "
                      f"(targets: time ≤ 1.2×, RSS ≤ 1.1×)."]
    return "\n".join(lines) + "\n"

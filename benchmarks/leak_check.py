"""Benchmark: the leak check on the sealed demo week, three ways, each as `radio script WEEK` in a process of its
own: with an editor's identity (details opened in memory), on a build host with only the leak-check key (keyed
digests), and with --limited-leak-check (the public details only: the floor). Wall and CPU seconds, best of
`--runs`.

    .venv/bin/python -m benchmarks.leak_check [--runs 3]

Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks.run import RADIO, ROOT, measure

WEEK = "2026-W47"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from tests.conftest import copy_station
    identity = ROOT / "keys" / "demo-only" / "elena.key"
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        station = copy_station(work / "station", sealed=True)
        base = {k: v for k, v in os.environ.items() if k not in ("RADIO_IDENTITY", "RADIO_LEAK_CHECK_KEY")}
        base["RADIO_STATION"] = str(station)
        key = work / "host" / "leak-check.key"
        measure([*RADIO, "--identity", str(identity), "keys", "leak-check-key", str(key)], env=base)
        measure([*RADIO, "--identity", str(identity), "plan", WEEK], env=base)
        ways = [("editor's identity (in memory)", [*RADIO, "--identity", str(identity), "-q", "script", WEEK], base),
                ("leak-check key (digests)", [*RADIO, "-q", "script", WEEK], {**base, "RADIO_LEAK_CHECK_KEY": str(key)}),
                ("--limited-leak-check (floor)", [*RADIO, "--limited-leak-check", "-q", "script", WEEK], base)]
        print(f"`radio script {WEEK}` on the sealed demo week, best of {args.runs}")
        print(f"{'':32} {'wall s':>8} {'cpu s':>8}")
        for name, cmd, env in ways:
            runs = [measure(cmd, env=env) for _ in range(args.runs)]
            best = min(runs, key=lambda m: m["cpu"])
            print(f"{name:32} {best['wall']:8.2f} {best['cpu']:8.2f}")


if __name__ == "__main__":
    main()

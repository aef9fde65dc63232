"""Generated stations for benchmarks and scale tests: fictional, deterministic, made on the fly."""

from __future__ import annotations

import random
from pathlib import Path

from radio.station import init_station

WEEK = "2026-W47"
WORDS = ("workers assembly strike wages depot shift committee union pay arrears mine plant school hospital "
         "night crew safety meeting vote gate canteen letter director demand solidarity").split()


def station_with_reports(root: Path, n: int, *, slot: str = "28:30") -> Path:
    """A new station with `n` verified reports in WEEK, each 60-120 words of fictional text."""
    init_station(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('slot = "28:30"', f'slot = "{slot}"')
                   .replace('format = ["welcome", "headlines", "news", "features", "appeals", "closing"]',
                            'format = ["welcome", "headlines", "news", "appeals", "closing"]'), encoding="utf-8")
    folder = root / "episodes" / WEEK / "reports"
    folder.mkdir(parents=True)
    rnd = random.Random(47)
    for i in range(n):
        body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(60, 120))).capitalize() + "."
        appeal = "appeal: Messages can go to the committee.\n" if i % 10 == 0 else ""
        (folder / f"report-{i:04d}.md").write_text(
            f"---\n# FICTIONAL generated report\ntitle: Fictional report number {i}\nreceived: 2026-11-16\n"
            f"region: Region {i % 7}\nkind: strike\npriority: {1 + i % 5}\nstatus: verified\n"
            f"checks:\n  - {{by: a, on: 2026-11-17, method: phone}}\n  - {{by: b, on: 2026-11-17, method: visit}}\n"
            f"{appeal}exposure: regional\nprivate:\n  correspondent: none-{i}\n---\n{body}\n", encoding="utf-8")
    return root

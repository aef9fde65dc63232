"""The audit log: every change made through the desk, one JSON line (when, who, what, which), appended only.

private/desk/audit.jsonl is opened for appending and nothing rewrites it. It names accounts, actions and ids,
never a report's private block, a check's note or a password: producers read it in the browser.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from radio.station import Station


def log_path(station: Station) -> Path:
    return station.private_dir / "desk" / "audit.jsonl"


def record(station: Station, who: str, what: str, target: str = "", **detail: str) -> None:
    p = log_path(station)
    p.parent.mkdir(parents=True, exist_ok=True)
    entry = {"at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(), "who": who, "what": what,
             "target": target, **{k: v for k, v in detail.items() if v}}
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(station: Station, last: int = 500) -> list[dict]:
    p = log_path(station)
    if not p.is_file():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines()[-last:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return list(reversed(out))

"""`radio status` only reads: it measures and judges the takes as a build would, and writes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.audio_util import WEEK
from tests.conftest import runner_for
from tests.test_protection import protection_station


def tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_status_writes_nothing(tmp_path):
    root = protection_station(tmp_path / "st")  # takes never measured nor registered yet
    run = runner_for(root)
    assert run("plan", WEEK).exit_code == 0
    before = tree(root)
    r = run("status", WEEK)
    assert r.exit_code == 0, r.err
    assert "recorded" in r.out  # it did judge the takes
    assert tree(root) == before

"""The README's "producer's week", run as written: every command of its console block, in order, in a copy of
the demo station, each output compared with what the README shows. Change the README and this test follows it;
change the program and the README must follow (a documentation test, as sqlite-utils keeps its docs with cog)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, copy_station


def walkthrough(readme: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) from the first console block after "## The producer's week"."""
    section = readme[readme.index("## The producer's week"):]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, "the producer's week has no console block"
    steps: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line "..." stands for any number of lines, and "..." inside a line for any text."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    pattern = ".*".join(re.escape(part) for part in head.split("..."))
    return bool(actual) and re.fullmatch(pattern, actual[0]) is not None and matches(rest, actual[1:])


def test_the_producers_week_runs_as_the_readme_says(tmp_path):
    steps = walkthrough((REPO / "README.md").read_text(encoding="utf-8"))
    assert [cmd.split()[0] for cmd, _ in steps].count("radio") >= 8
    station = copy_station(tmp_path / "station", editions=True)
    env = {k: v for k, v in os.environ.items() if k != "RADIO_STATION"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `radio` as installed
    env["SOURCE_DATE_EPOCH"] = "1763740800"
    cwd = station
    for cmd, expected in steps:
        if cmd.startswith("cd "):
            cwd = (cwd / cmd[3:]).resolve()
            continue
        r = subprocess.run(cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"$ {cmd}\n{r.stderr}"
        got = r.stdout.splitlines()
        assert matches(expected, got), f"$ {cmd}\nexpected:\n" + "\n".join(expected) + "\ngot:\n" + r.stdout
        if cmd.startswith("radio build"):
            summary = got
        if cmd.startswith("radio status") and "build" in " ".join(c for c, _ in steps[:steps.index((cmd, expected))]):
            # after the build, status gives the build summary's total (both from the as-run)
            total = next(line for line in got if line.startswith("total "))
            timing = next(line for line in summary if line.startswith("timing "))
            assert total.split(" of ")[0].removeprefix("total ") == timing.split()[2]
            assert total.split(": ", 1)[1] == timing.split(": ", 1)[1]


def test_the_matcher_can_fail():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["x ... z"], ["x y z"])
    assert not matches(["a", "d"], ["a", "b", "d"])
    assert not matches(["a", "..."], ["b"])
    assert not matches(["x ... z"], ["x y"])

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from radio.cli import cli

REPO = Path(__file__).resolve().parent.parent
WEEK = "2026-W47"

# Property tests here read and write files and run tools: under load an example can take seconds, which is no
# failure. No wall-clock deadlines.
settings.register_profile("radio", deadline=None)
settings.load_profile("radio")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from this run")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def copy_station(dest: Path) -> Path:
    """A private copy of the demo station (config, elements, private, reports; no outputs)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("radio.toml", "elements", "private"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    shutil.copytree(REPO / "episodes" / WEEK / "reports", dest / "episodes" / WEEK / "reports")
    return dest


@pytest.fixture
def station(tmp_path: Path) -> Path:
    return copy_station(tmp_path / "station")


class Result:
    def __init__(self, r):
        self.exit_code = r.exit_code
        self.out = r.stdout
        self.err = r.stderr
        self.exception = r.exception


def runner_for(station: Path):
    """Run the real CLI against a station; returns exit code, stdout and stderr separately."""

    def go(*args: str, env: dict | None = None) -> Result:
        r = CliRunner().invoke(cli, ["--station", str(station), *args],
                               env={"SOURCE_DATE_EPOCH": "1763740800", **(env or {})}, catch_exceptions=True)
        if r.exception and not isinstance(r.exception, SystemExit):
            raise r.exception
        return Result(r)

    return go


@pytest.fixture
def run(station: Path):
    return runner_for(station)


def golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file; `pytest --update-golden` rewrites it on purpose."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    if not path.exists():
        raise AssertionError(f"golden file {path} is missing; run pytest --update-golden and read the diff")
    assert actual == path.read_text(encoding="utf-8"), f"output differs from {path}"

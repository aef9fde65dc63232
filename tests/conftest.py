from __future__ import annotations

import json
import re
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


def without_editions(toml: str) -> str:
    """radio.toml with its [[editions]] (and the comment above the first) cut off: the English show alone."""
    at = toml.find("\n[[editions]]")
    if at < 0:
        return toml
    lines = toml[:at].split("\n")
    while lines and (lines[-1].startswith("#") or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines) + "\n"


DEMO_IDENTITY = REPO / "keys" / "demo-only" / "elena.key"


def copy_station(dest: Path, editions: bool = False, sealed: bool = False) -> Path:
    """A private copy of the demo station (config, elements, private, reports; no outputs).

    By default only the English edition: a test that builds the station builds one show, as before editions
    existed. `editions=True` keeps the Russian and French editions too.

    The demo ships sealed (its private data encrypted to its fictional editors). A copy is, by default, the
    station as it was before `radio keys init`: opened with the demo's identity into plain files, so a test
    can read and plant private data directly. `sealed=True` keeps it sealed, with its keys/.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("radio.toml", "elements", "private") + (("keys",) if sealed else ()):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    if not editions:
        (dest / "radio.toml").write_text(without_editions((REPO / "radio.toml").read_text(encoding="utf-8")),
                                         encoding="utf-8")
    shutil.copytree(REPO / "episodes" / WEEK / "reports", dest / "episodes" / WEEK / "reports")
    if sealed:
        for p in [dest / "private", dest / "keys", *(dest / "private").rglob("*"), *(dest / "keys").rglob("*")]:
            p.chmod(0o700 if p.is_dir() else 0o600)  # as a checkout made private by `chmod -R go= private keys`
    else:
        unseal(dest)
    return dest


def _demo_identities() -> list:
    from radio.keys.age import parse_identities
    return parse_identities(DEMO_IDENTITY.read_bytes(), DEMO_IDENTITY)


def demo_private(name: str) -> bytes:
    """A file of the demo's private/, opened with the demo identity."""
    import pyrage
    path = REPO / "private" / f"{name}.age"
    return pyrage.decrypt(path.read_bytes(), _demo_identities()) if path.is_file() else \
        (REPO / "private" / name).read_bytes()


def unseal(root: Path) -> None:
    """Turn a copy of the sealed demo into the plain station it was before `radio keys init` (test fixtures only:
    the demo's data is fictional, and its identity is published)."""
    import pyrage
    from radio.keys.age import dearmor
    ids = _demo_identities()
    for p in sorted((root / "private").rglob("*.age")):
        p.with_name(p.name.removesuffix(".age")).write_bytes(pyrage.decrypt(p.read_bytes(), ids))
        p.unlink()
    for p in sorted((root / "episodes").glob("*/reports/*.md")):
        text = p.read_text(encoding="utf-8")
        if "private: |\n  -----BEGIN AGE ENCRYPTED FILE-----" in text:
            head, rest = text.split("private: |\n", 1)
            lines = rest.split("\n")
            n = next(i for i, line in enumerate(lines) if line.strip() == "-----END AGE ENCRYPTED FILE-----")
            block = pyrage.decrypt(dearmor("\n".join(lines[:n + 1]), p), ids).decode("utf-8")
            plain = "private:\n" + "".join(f"  {line}\n" for line in block.splitlines())
            text = head + plain + "\n".join(lines[n + 1:])
        # a check's note and a hold or rejection reason, each sealed on its own
        text = re.sub(r"(?m)^([ \t-]*(?:note|reason): )\|-?\n[ \t]+(-----BEGIN AGE ENCRYPTED FILE-----\n"
                      r"(?:[^\n]*\n)*?)[ \t]*(-----END AGE ENCRYPTED FILE-----)\n",
                      lambda m: m.group(1) + json.dumps(pyrage.decrypt(dearmor(m.group(2) + m.group(3), p), ids)
                                                        .decode("utf-8"), ensure_ascii=False) + "\n", text)
        p.write_text(text, encoding="utf-8")


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

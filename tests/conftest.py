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


def copy_station(dest: Path, editions: bool = False, sealed: bool = False, weeks: tuple[str, ...] = (WEEK,)) -> Path:
    """A private copy of the demo station (config, elements, private, the reports of `weeks`; no outputs).

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
    for week in weeks:
        shutil.copytree(REPO / "episodes" / week / "reports", dest / "episodes" / week / "reports")
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


TEXT = {".xml", ".html", ".json", ".vtt", ".txt", ".atom", ".css", ".js", ".srt", ".csv", ".md", ""}
MANIFEST = "MANIFEST"  # in a golden tree: every file of the tree it stands for, text or not


def golden_tree(golden_dir: Path, tree: Path, update: bool) -> None:
    """Compare a whole output tree with a golden tree: the list of files (so an extra or a missing file fails)
    and every text file byte for byte; audio, images and the search bundles (pagefind's) by name only (their bytes follow from
    espeak-ng and ffmpeg versions). `pytest --update-golden` rewrites the golden tree on purpose."""
    files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    texts = [f for f in files if Path(f).suffix in TEXT and not re.match(r"search/\d{4}/|(bulletin|press)/pagefind/", f)]  # pagefind's
    if update:
        shutil.rmtree(golden_dir, ignore_errors=True)
        for rel in texts:
            (golden_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / rel).write_bytes((tree / rel).read_bytes())
        (golden_dir / MANIFEST).write_text("".join(f + "\n" for f in files), encoding="utf-8")
    if not (golden_dir / MANIFEST).is_file():
        raise AssertionError(f"golden tree {golden_dir} is missing; run pytest --update-golden and read the diff")
    want = (golden_dir / MANIFEST).read_text(encoding="utf-8").splitlines()
    extra, missing = sorted(set(files) - set(want)), sorted(set(want) - set(files))
    assert not extra and not missing, f"{tree}: extra files {extra}, missing files {missing} (against {golden_dir})"
    for rel in texts:
        assert (tree / rel).read_bytes() == (golden_dir / rel).read_bytes(), f"{tree / rel} differs from {golden_dir / rel}"

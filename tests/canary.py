"""Source-protection canaries: plant unique strings in every private place, then prove no output holds them.

Every stage's tests use this: `plant(station_root)` before building, `assert_clean(paths, canaries)` after.
Files are scanned as raw bytes in UTF-8, UTF-16 (either order, as ID3 writes) and Latin-1, so audio tags,
WAV chunks, XML, HTML, JSON and text are all covered without trusting any one parser.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ruamel.yaml import YAML

_yaml = YAML(typ="rt")


def plant(root: Path, tag: str = "CANARY") -> list[str]:
    """Put a distinct canary in each private field of every report and in private/. Returns them all."""
    canaries: list[str] = []
    n = 0

    def new(kind: str) -> str:
        nonlocal n
        n += 1
        c = f"{tag}{kind.upper()}{n:03d}X"
        canaries.append(c)
        return c

    for path in sorted(root.glob("episodes/*/reports/*.md")):
        if path.name.count(".") > 1:  # a translation (<id>.<lang>.md) has no private block to plant in
            continue
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        data = _yaml.load(front)
        private = data.get("private") or {}
        for key in ("correspondent", "contact", "notes"):
            private[key] = new(key)
        private["extra"] = new("extra")
        data["private"] = private
        for check in data.get("checks") or []:
            check["note"] = new("checknote")
            check["by"] = new("checker")
        if data.get("reason") is not None:
            data["reason"] = new("reason")
        import io
        buf = io.StringIO()
        _yaml.dump(data, buf)
        path.write_text(f"---\n{buf.getvalue()}---\n{body}", encoding="utf-8")
    reg = root / "private" / "correspondents.yaml"
    reg.parent.mkdir(exist_ok=True)
    reg.write_text("".join(f"{new('pseud')}: {{name: {new('name')}, contact: {new('phone')}}}\n" for _ in range(3)),
                   encoding="utf-8")
    (root / "private" / "notes.txt").write_text(new("privfile") + "\n", encoding="utf-8")
    return canaries


def _encodings(c: str) -> list[bytes]:
    return [c.encode("utf-8"), c.encode("utf-16-le"), c.encode("utf-16-be"), c.encode("latin-1")]


def leaks(paths: list[Path], canaries: list[str]) -> list[tuple[str, str]]:
    """(file, canary) for every canary found in any of the files (folders are walked)."""
    files: list[Path] = []
    for p in paths:
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    patterns = [(c, re.compile(b"|".join(re.escape(e) for e in _encodings(c)))) for c in canaries]
    # one pass for what every canary starts with, then the canaries one by one only where that was found:
    # a file of audio is read once, not once per canary
    common = os.path.commonprefix(canaries) if canaries else ""
    first = re.compile(b"|".join(re.escape(e) for e in _encodings(common))) if len(common) >= 4 else None
    found = []
    for f in files:
        data = f.read_bytes()
        if first is not None and not first.search(data):
            continue
        for c, pat in patterns:
            if pat.search(data):
                found.append((str(f), c))
    return found


def assert_clean(paths: list[Path], canaries: list[str], *, min_files: int = 1) -> None:
    files = [x for p in paths for x in ([p] if p.is_file() else p.rglob("*")) if x.is_file()]
    assert len(files) >= min_files, f"expected at least {min_files} output files to scan, found {len(files)}"
    found = leaks(paths, canaries)
    assert not found, f"private data leaked: {found[:5]}"

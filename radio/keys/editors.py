"""keys/editors.toml: the station's editors and their public keys. Everything private is encrypted to all of
them. Public keys only: the file is safe to commit and to publish. Its presence is what makes a station sealed."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from radio import fsutil
from radio.keys.age import KeysError, recipient

KEYS_DIR = "keys"
EDITORS = "keys/editors.toml"
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
HEADER = """\
# The station's editors: everything private (report private blocks, private/) is encrypted to each of these
# public keys (age X25519 or ssh-ed25519). Public keys only: safe to commit. Change it with `radio keys add` and
# `radio keys remove` (they re-encrypt everything), not by hand.
"""


@dataclass(frozen=True)
class Editor:
    name: str
    recipient: str


def root_of(x) -> Path:
    """A station's folder from a Station (or anything with a private_dir) or a path."""
    if isinstance(x, (str, Path)):
        return Path(x)
    if hasattr(x, "root"):
        return Path(x.root)
    if hasattr(x, "private_dir"):
        return Path(x.private_dir).parent
    return Path(x)


def path(station) -> Path:
    return root_of(station) / EDITORS


def sealed(station) -> bool:
    """Whether the station keeps its private data encrypted (it has editors)."""
    return path(station).is_file()


def load(station) -> list[Editor]:
    p = path(station)
    if not p.is_file():
        return []
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise KeysError(f"not valid TOML ({e})", where=p, fix="restore it from git") from None
    out = []
    for name, rec in sorted((data.get("editors") or {}).items()):
        if not NAME_RE.match(name) or not isinstance(rec, dict) or not isinstance(rec.get("recipient"), str):
            raise KeysError(f"editor {name!r} has no recipient", where=p,
                            fix='each editor is [editors.NAME] with recipient = "age1..."')
        recipient(rec["recipient"], where=f"{p} [editors.{name}]")
        out.append(Editor(name, " ".join(rec["recipient"].split())))
    return out


def recipients(station) -> list[str]:
    eds = load(station)
    if not eds:
        raise KeysError("the station has no editors", where=path(station),
                        fix="add one with `radio keys add NAME PUBLIC-KEY`")
    return [e.recipient for e in eds]


def is_demo(station) -> bool:
    """A demo station: its editors' identity is published with it (fictional data only), so a finding in its
    history is a warning, not a failure."""
    p = path(station)
    if not p.is_file():
        return False
    try:
        return bool(tomllib.loads(p.read_text(encoding="utf-8")).get("demo", False))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def render(editors: list[Editor], demo: bool = False) -> str:
    body = "".join(f"\n[editors.{e.name}]\nrecipient = {json.dumps(e.recipient)}\n" for e in
                   sorted(editors, key=lambda e: e.name))
    flag = ("# A DEMO station: its editors' identities (keys/demo-only/) are published with it, so its\n"
            "# fictional private data is readable by anyone. A real station never has this line.\n"
            "demo = true\n") if demo else ""
    return HEADER + flag + body


def save(station, editors: list[Editor], demo: bool = False) -> None:
    fsutil.write_text(path(station), render(editors, demo), private=True)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise KeysError(f"{name!r} is not an editor name", fix="use lower-case letters, digits and '-' (e.g. elena)")
    return name

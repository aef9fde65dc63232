"""Creating a station, and the private register of correspondents (read only by the desk)."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from radio import fsutil
from radio.config import CONFIG_NAME, Station
from radio.errors import RadioError, yaml_problem

GITIGNORE = """\
# Never in version control: identities of correspondents, and everything generated.
private/
episodes/*/out/
episodes/.build.lock
episodes/*/reports/.*.lock
feeds/
"""


def init_station(root: Path) -> Path:
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise RadioError("a station already exists here", where=root / CONFIG_NAME,
                         fix="pick an empty directory, or edit the existing radio.toml")
    slug = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-") or "show"
    template = (Path(__file__).parent / "templates" / "radio.toml").read_text(encoding="utf-8")
    text = template.replace("{name}", root.name or "Station").replace("{title}", root.name or "Show") \
        .replace("{slug}", slug[:64].strip("-"))
    for sub in ("elements", "private", "episodes", "feeds", "templates"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    fsutil.write_text(root / ".gitignore", GITIGNORE)
    fsutil.write_text(root / "private" / "correspondents.yaml",
                      "# pseudonym: {name: ..., contact: ...}  (PRIVATE: never published)\n{}\n")
    fsutil.write_text(root / CONFIG_NAME, text)
    Station.open(root)  # what we wrote must load
    return root


def correspondents(station: Station) -> dict:
    path = station.private_dir / "correspondents.yaml"
    if not path.is_file():
        return {}
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as e:  # the register is private: name the line, never quote it
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise RadioError(f"cannot read the correspondents register: {yaml_problem(e)}",
                         where=f"{path}:{line}" if line else path, fix="fix the YAML on that line") from None
    except (YAMLError, UnicodeDecodeError, ValueError):
        raise RadioError("cannot read the correspondents register", where=path, fix="fix the YAML") from None
    return data if isinstance(data, dict) else {}


def correspondent(station: Station, pseudonym: str | None) -> str | None:
    if not pseudonym:
        return None
    rec = correspondents(station).get(pseudonym)
    if not isinstance(rec, dict):
        return None
    return ", ".join(f"{k} {v}" for k, v in rec.items() if v)

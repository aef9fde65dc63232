"""Creating a station, and the private register of correspondents (read only by the desk)."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML
from unidecode import unidecode
from ruamel.yaml.error import YAMLError

from radio import fsutil
from radio.config import CONFIG_NAME, Station
from radio.errors import RadioError

GITIGNORE = """\
# Never in version control: identities of correspondents, and everything generated.
private/
episodes/*/out/
episodes/.build.lock
feeds/
"""


def init_station(root: Path) -> Path:
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise RadioError("a station already exists here", where=root / CONFIG_NAME,
                         fix="pick an empty directory, or edit the existing radio.toml")
    slug = re.sub(r"[^a-z0-9]+", "-", unidecode(root.name).lower()).strip("-") or "show"  # any script
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
    except (YAMLError, UnicodeDecodeError) as e:
        raise RadioError(f"cannot read the correspondents register: {e}", where=path, fix="fix the YAML") from None
    return data if isinstance(data, dict) else {}


def correspondent(station: Station, pseudonym: str | None) -> str | None:
    if not pseudonym:
        return None
    rec = correspondents(station).get(pseudonym)
    if not isinstance(rec, dict):
        return None
    return ", ".join(f"{k} {v}" for k, v in rec.items() if v)

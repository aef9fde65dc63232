"""Template rendering, for every output made from a template: the station's templates/ first, then the defaults;
jinja2 with StrictUndefined (a missing field is an error, not a blank) and autoescape for HTML."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from radio.config import format_ms
from radio.errors import RadioError
from radio.station import Station

TEMPLATES = Path(__file__).parent / "templates"


def environment(station: Station, *, html: bool) -> jinja2.Environment:
    """One environment per station folder, language and kind, kept for the process: templates are compiled once
    (the loader still notices a template edited on disk)."""
    return _environment(str(station.root), station.language, html)


@functools.lru_cache(maxsize=64)
def _environment(root: str, language: str, html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(Path(root) / "templates"), str(TEMPLATES)]),
        undefined=jinja2.StrictUndefined, autoescape=html, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    from radio.i18n import translations
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["clock"] = format_ms
    env.filters["signed"] = lambda ms: format_ms(ms, signed=True)
    return env


def render(station: Station, name: str, context: dict) -> str:
    try:
        return environment(station, html=name.endswith(".html")).get_template(name).render(**context)
    except jinja2.UndefinedError as e:
        raise RadioError(f"template {name}: {e.message}", fix="use only the fields the template context provides "
                         "(see radio/templates)") from None
    except jinja2.TemplateError as e:
        raise RadioError(f"template {name}: {e}", fix="fix the template") from None

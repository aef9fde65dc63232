"""The withheld-detail check: does a public text name a detail the report's exposure keeps off the air?

The one place where that is decided: the desk's own text, its translations, the producer's words in the rundown
and everything generated from them all pass through `find_withheld`."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from unidecode import unidecode

if TYPE_CHECKING:
    from radio.reports.model import Report


# Characters a reader never sees but that split a name for a naive search: soft hyphen, zero-width space,
# joiners, word joiner, byte-order mark. They are removed; every other separator becomes one space.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)


def normalise(text: str) -> str:
    """Text as a reader hears it, for matching names: NFKC, case-folded, accents dropped, invisible
    characters removed, every run of whitespace one space."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Text in one comparable form: transliterated to Latin (Unidecode), case-folded, words single-spaced."""
    return " ".join(re.findall(r"[a-z0-9]+", unidecode(normalise(text))))


def withheld_details(report: Report) -> list[tuple[str, str]]:
    """(field, value) for every detail the report's exposure keeps off the air, with the aliases it lists."""
    details: list[tuple[str, str]] = []
    if report.exposure in ("regional", "none"):
        details += [("place", report.place or ""), ("workplace", report.workplace or "")]
    if report.exposure == "none":
        details += [("region", report.region or "")]
    details += [(field, alias) for field, _ in list(details) for alias in report.aliases.get(field, [])]
    return [(f, v) for f, v in details if v.strip()]


@lru_cache(maxsize=4096)
def _name_pattern(value: str) -> re.Pattern | None:
    words = re.findall(r"[^\W_]+", normalise(value))
    if not words:
        return None
    # A word that starts with the name names it ("Kestrel Ridge's", "KestrelRidge", "Kestrel-Ridge").
    return re.compile(r"(?<![^\W_])" + r"[\W_]*".join(map(re.escape, words)))


def _mentions(text: str, name: str) -> bool:
    """Whether `text` names `name`: in its own script on normalised text (case, every kind of space, soft
    hyphens and accents ignored; a word that starts with the name counts), or transliterated, in any script:
    'Кедровый' is caught as 'Kedrovyi' and back."""
    pat = _name_pattern(name)
    if pat is not None and pat.search(normalise(text)):
        return True
    folded = _fold(name)
    if not folded:
        return False
    # a name first written in another script is matched with a short ending too: Russian declines names
    # (Стоунбридж, в Стоунбридже), so the transliterated stem is what stays the same
    ending = "[a-z]{0,3}" if not name.isascii() else ""
    return bool(re.search(rf"(?<![a-z0-9]){re.escape(folded)}{ending}(?![a-z0-9])", _fold(text)))


def find_withheld(text: str, details: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first withheld (field, value) that `text` names, or None.

    The one place where "does this public text name that detail?" is decided: the desk's own text, its
    translations, the producer's words in the rundown and everything generated from them all pass through it.
    """
    if not text or not details:
        return None
    for field, value in details:
        if _mentions(text, value):
            return field, value
    return None


def public_texts(report: Report) -> dict[str, str]:
    """Every text of a report that is published as written."""
    return {"title": report.title, "attribution": report.attribution or "", "appeal": report.appeal or "",
            "sector": report.sector or "", "text": report.body,
            "thread": (report.thread or "").replace("-", " ")}  # a thread's name is shown on the site


def exposure_conflict(report: Report) -> tuple[str, str, str] | None:
    """(public text, field, value) when a public text names a detail the exposure withholds."""
    details = withheld_details(report)
    for name, text in public_texts(report).items():
        hit = find_withheld(text, details)
        if hit:
            return name, *hit
    return None

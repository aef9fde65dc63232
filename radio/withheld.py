"""The withheld-detail check: does a public text name a detail the report's exposure keeps off the air?

The one place where that is decided: the desk's own text, its translations, the producer's words in the rundown
and everything generated from them all pass through `find_withheld`."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

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


def withheld_details(report: Report) -> list[tuple[str, str]]:
    """(field, value) for every detail kept off the air: what the exposure withholds (with the aliases it lists),
    everything the private block says about the source, and the correspondent's register entry.
    Fields say what kind of detail it is (radio/sources.py); error messages name them, never the values."""
    from radio.sources import source_details
    details: list[tuple[str, str]] = []
    if report.exposure in ("regional", "none"):
        details += [("place", report.place or ""), ("workplace", report.workplace or "")]
    if report.exposure == "none":
        details += [("region", report.region or "")]
    details += [(field, alias) for field, _ in list(details) for alias in report.aliases.get(field, [])]
    details += source_details(report.private.model_dump(), report._register, report._public_names)
    seen: set[tuple[str, str]] = set()
    details = [d for d in details if d[1].strip() and not (d in seen or seen.add(d))]
    # a sealed private block that no editor's key opened: what it says, known by its keyed digests only
    # (radio/keys/digests.py), in the order the desk would list it
    return details + [d for d in report._digest_details if not (d in seen or seen.add(d))]


def find_withheld(text: str, details: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first withheld (field, value) that `text` names, or None.

    The one place where "does this public text name that detail?" is decided: the desk's own text, its
    translations, the producer's words in the rundown and everything generated from them all pass through it.
    Both sides are compared as sets of canonical forms (radio/matching.py: confusable skeletons, phone numbers
    as numbers, addresses in their written-out forms, words rejoined across lines and markup).
    """
    if not text or not details:
        return None
    from radio import matching
    from radio.sources import kind_of
    found = None
    for field, value in details:
        if not isinstance(value, str):  # known by its keyed digests only: the same forms, compared as digests
            if value.named_by(text):
                return field, value
            continue
        if found is None:
            found = matching.text_candidates(text)
        forms = matching.detail_forms(value, kind_of(field))
        if forms and not forms.isdisjoint(found):
            return field, value
    return None


def public_texts(report: Report) -> dict[str, str]:
    """Every text of a report that is published as written."""
    return {"title": report.title, "attribution": report.attribution or "", "appeal": report.appeal or "",
            "sector": report.sector or "", "text": report.body,
            "thread": (report.thread or "").replace("-", " "),  # a thread's name is shown on the site
            "id": report.id.replace("-", " ")}  # never published (radio/publicid.py), but the whole desk sees it


def exposure_conflict(report: Report) -> tuple[str, str, str] | None:
    """(public text, field, value) when a public text names a detail the exposure withholds."""
    return _conflict(tuple(public_texts(report).items()), tuple(withheld_details(report)))


# The answer depends on the texts and the details only. A command asks it of every report several times (loading
# the week, the run sheet, the rundown's verdicts): asked again, it is not worked out again, so a week of a
# thousand reports does not outgrow the cache of text forms (radio/matching.py) and pay for each of them anew.
@lru_cache(maxsize=8192)
def _conflict(texts: tuple[tuple[str, str], ...], details: tuple) -> tuple[str, str, str] | None:
    for name, text in texts:
        hit = find_withheld(text, list(details))
        if hit:
            return name, *hit
    return None

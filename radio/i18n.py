"""Our own words in the edition's language: gettext catalogs (radio/locale, made with Babel) and CLDR dates.

English is the source language: with no catalog, every string is itself, so an English show reads exactly
as it always has. Catalogs: `pybabel extract -F babel.cfg -k gettext:2 -k _ -k N_ -o radio/locale/radio.pot .`, then
`pybabel update` and `pybabel compile -d radio/locale -D radio` (scripts/i18n does all three).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "radio"


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The compiled catalog for a language (pt-BR falls back to pt), or the identity for English."""
    tag = lang.replace("-", "_")
    t = Translations.load(str(LOCALE_DIR), [tag, tag.split("_")[0]], domain=DOMAIN)
    return t if isinstance(t, Translations) else NullTranslations()


def N_(message: str) -> str:
    """Marks a string kept in a constant for the catalogs; it is translated where it is used."""
    return message


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def long_date(lang: str, day: dt.date) -> str:
    """'Friday 20 November 2026', 'пятница 20 ноября 2026', 'vendredi 20 novembre 2026'."""
    return format_date(day, "EEEE d MMMM y", locale=locale(lang))


def day_month_year(lang: str, day: dt.date) -> str:
    """'20 November 2026', '20 ноября 2026', '20 novembre 2026'."""
    return format_date(day, "d MMMM y", locale=locale(lang))


def clock(lang: str, when: dt.datetime) -> str:
    return format_time(when, "HH:mm", locale=locale(lang))


def number(lang: str, value: float) -> str:
    return format_decimal(value, locale=locale(lang))


def joined(lang: str, names: list[str]) -> str:
    """'Anna and Tomas'; 'Анна и Томас'; 'Anna et Tomas'."""
    conjunction = gettext(lang, "and")
    return f" {conjunction} ".join(names)

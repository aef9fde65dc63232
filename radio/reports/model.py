"""A report as the desk holds it (private block included), its verification policy, and PublicReport: the
projection that publishing code holds, which has no field for anything said in confidence."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from unidecode import unidecode

from radio.config import ID_RE, LANG_RE, Verification
from radio.errors import ReportError
from radio.withheld import exposure_conflict


Status = Literal["unverified", "verified", "held", "rejected"]


Exposure = Literal["named", "regional", "none"]


KINDS = ("strike", "assembly", "arrest", "dismissal", "statement", "wages", "protest", "safety",
         "court", "feature", "interview", "other")


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(min_length=1)
    on: dt.date
    method: str = Field(min_length=1)
    note: str | None = None


class Private(BaseModel):
    """What the desk knows in confidence. Free-form beyond these; never leaves the desk."""

    model_config = ConfigDict(extra="allow")
    correspondent: str | None = None
    contact: str | None = None
    notes: str | None = None
    _sealed: bool = PrivateAttr(default=False)  # encrypted to the editors and not unlocked: nothing is known
    _armor: str | None = PrivateAttr(default=None)  # that ciphertext, as stored (its leak-check digests' key)

    @property
    def sealed(self) -> bool:
        return self._sealed


class Report(BaseModel):
    """A whole report, private block included. Only the desk (this module, the CLI) holds one."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str = Field(min_length=1)
    received: dt.date
    event_date: dt.date | None = None
    place: str | None = None
    workplace: str | None = None
    region: str | None = None
    sector: str | None = None
    kind: Literal[KINDS] = "other"  # type: ignore[valid-type]
    attribution: str | None = None
    priority: int = Field(default=3, ge=1, le=5)
    status: Status = "unverified"
    reason: str | None = None
    checks: list[Check] = Field(default_factory=list)
    appeal: str | None = None
    exposure: Exposure = "named"
    thread: str | None = None  # a story followed across weeks, e.g. kestrel-ridge-strike
    lang: str | None = None  # the report's language (BCP 47); default the station's
    embargo: dt.datetime | None = None  # not on any public page or feed before this time (the press service)
    # other spellings of withheld details (another script, a nickname), checked like the details themselves
    aliases: dict[Literal["place", "workplace", "region"], list[str]] = Field(default_factory=dict)
    private: Private = Field(default_factory=Private)
    body: str = ""
    _gap: str | None = PrivateAttr(default=None)  # why this edition cannot air it (no checked translation)
    _source: Path | None = PrivateAttr(default=None)  # the file its public text came from
    _original_title: str | None = PrivateAttr(default=None)  # a translation's: the title its public id is made from
    _register: dict | None = PrivateAttr(default=None)  # its correspondent's entry in private/correspondents.yaml
    _public_names: frozenset = PrivateAttr(default=frozenset())  # name parts the station publishes (its hosts)
    # (field, keyed digests) of a sealed private block no key opened: radio/keys/digests.py
    _digest_details: tuple = PrivateAttr(default=())

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str | None) -> str | None:
        if v is not None and not LANG_RE.match(v):
            raise ValueError(f"{v!r} is not a BCP 47 language tag (e.g. en, ru, fr)")
        return v

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        check_id(v)
        return v

    @field_validator("thread")
    @classmethod
    def _thread(cls, v: str | None) -> str | None:
        return check_id(v, "thread") if v is not None else None


@dataclass(frozen=True)
class PublicReport:
    """What may be published of a report. It has no field for anything said in confidence, nor for its desk id:
    `id` is its public id (radio/publicid.py), which names nothing the report withholds."""

    id: str
    title: str
    event_date: dt.date | None
    place: str | None
    workplace: str | None
    region: str | None
    sector: str | None
    kind: str
    attribution: str
    priority: int
    appeal: str | None
    text: str
    thread: str | None = None
    embargo: dt.datetime | None = None

    @property
    def dateline(self) -> str:
        return ", ".join(x for x in (self.workplace, self.place, self.region) if x)


def check_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise ValueError(f"{value!r} is not a valid {what} (lower-case letters, digits and '-', "
                         "starting and ending with a letter or digit, at most 64 characters)")
    return value


def make_id(title: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A safe, readable, unique id from a title: ascii, lower case, hyphens, at most 48 characters."""
    text = unidecode(unicodedata.normalize("NFC", title))  # Cyrillic and other scripts transliterated, not dropped
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-") or "report"
    candidate, n = slug, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = slug[: 64 - len(suffix)].strip("-") + suffix
        n += 1
    return candidate


def policy_counts(checks: list[Check], policy: Verification) -> tuple[int, int]:
    """(checks that count, checks needed). The same person with the same method counts once."""
    unique = {(c.by.strip().lower(), c.method.strip().lower()) for c in checks}
    people = len({b for b, _ in unique})
    methods = len({m for _, m in unique})
    done = {"people": people, "methods": methods, "either": max(people, methods),
            "both": min(people, methods)}[policy.distinct]
    return done, policy.min_checks


def policy_holds(checks: list[Check], policy: Verification) -> bool:
    done, need = policy_counts(checks, policy)
    return done >= need


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean(text: str) -> str:
    """Published text without control characters: XML cannot hold them and no listener needs them."""
    return _CONTROL.sub("", text)


def public(report: Report, where: Path | str | None = None, *, public_id: str) -> PublicReport:
    """The publishable view of a report under its public id (radio/publicid.py), enforcing its exposure level.

    With `regional` the town and workplace are withheld, with `none` the region too; if the public
    text still names a withheld detail, that is an error (jigsaw identification), not a silent leak.
    """
    conflict = exposure_conflict(report)
    if conflict:
        name, field, _ = conflict
        from radio.sources import refusal
        what, fix = refusal(report, name, field)
        raise ReportError(f"the {name} names {what}", where=where or report.id, fix=fix)
    named = report.exposure == "named"
    place = report.place if named else None
    region = report.region if report.exposure != "none" else None
    if report.attribution:
        attribution = report.attribution
    else:
        from radio.i18n import gettext
        lang = report.lang or "en"
        attribution = gettext(lang, "Our correspondent in {place}").format(place=place or region) \
            if (place or region) else gettext(lang, "Our correspondent")
    opt = lambda v: clean(v).strip() or None if v else None  # noqa: E731
    return PublicReport(id=public_id, title=clean(report.title).strip(), event_date=report.event_date,
                        place=opt(place), workplace=opt(report.workplace) if named else None, region=opt(region),
                        sector=opt(report.sector), kind=report.kind, attribution=clean(attribution).strip(),
                        priority=report.priority, appeal=opt(report.appeal), text=clean(report.body).strip(),
                        thread=report.thread, embargo=report.embargo)

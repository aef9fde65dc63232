"""Reports: the desk's files, their verification policy, and the public projection later stages hold."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from unidecode import unidecode
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from radio import fsutil, yamlio
from radio.config import ID_RE, LANG_RE, Verification
from radio.errors import RadioError, ReportError, from_validation, yaml_problem
from radio.station import Station, Week
from radio.yamlio import MarkedYAMLError, YAMLError

Status = Literal["unverified", "verified", "held", "rejected"]
Exposure = Literal["named", "regional", "none"]
KINDS = ("strike", "assembly", "arrest", "dismissal", "statement", "wages", "protest", "safety",
         "court", "feature", "interview", "other")
FRONT = "---"


def _yaml():
    return yamlio.round_trip(preserve_quotes=True)


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
    # other spellings of withheld details (another script, a nickname), checked like the details themselves
    aliases: dict[Literal["place", "workplace", "region"], list[str]] = Field(default_factory=dict)
    private: Private = Field(default_factory=Private)
    body: str = ""
    _gap: str | None = PrivateAttr(default=None)  # why this edition cannot air it (no checked translation)
    _source: Path | None = PrivateAttr(default=None)  # the file its public text came from

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
    """What may be published of a report. It has no field for anything said in confidence."""

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


# --- the file -------------------------------------------------------------------------------------

@dataclass
class ReportFile:
    """A report on disk: the parsed model, and the round-trip data that keeps the producer's text."""

    path: Path
    data: CommentedMap
    body: str
    report: Report

    def save(self) -> None:
        buf = io.StringIO()
        _yaml().dump(self.data, buf)
        fsutil.write_text(self.path, f"{FRONT}\n{buf.getvalue()}{FRONT}\n{self.body}")


def _line_of(data: Any, key: str | int) -> int | None:
    try:
        return data.lc.key(key)[0] + 2 if isinstance(key, str) else data.lc.item(key)[0] + 2
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _split(path: Path, raw: bytes) -> tuple[str, str]:
    if not raw.strip():
        raise ReportError("empty file", where=path,
                          fix="a report starts with '---', YAML front matter, '---', then the text; "
                              "`radio report new` writes one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReportError(f"not UTF-8 text (byte {e.start + 1})", where=path, fix="save the file as UTF-8") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[0].strip() != FRONT:
        raise ReportError("no front matter", where=f"{path}:1",
                          fix="start the file with a line '---', then the YAML fields, then '---'")
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == FRONT:
            return "\n".join(lines[1:i]) + "\n", "\n".join(lines[i + 1:])
    raise ReportError("front matter is not closed", where=f"{path}:1",
                      fix="end the YAML fields with a line '---'")


def _bad_date_line(front: str) -> tuple[int, str]:
    for i, line in enumerate(front.splitlines(), start=2):
        m = re.match(r"\s*-?\s*([A-Za-z_]+):\s*(\d{4}-\d{1,2}-\d{1,2})\s*(#.*)?$", line)
        if m:
            try:
                dt.date.fromisoformat(m.group(2))
            except ValueError:
                return i, m.group(1)
    return 2, "?"


def read_report(path: Path, policy: Verification, *, editable: bool = False) -> ReportFile:
    """Parse and validate one report file; every failure names the file, line and field.

    Reading uses the fast safe loader; `editable` (and any error, for its line number) uses the round-trip
    loader, which keeps the producer's comments and order.
    """
    front, body = _split(path, path.read_bytes())
    try:
        data = (_yaml() if editable else yamlio.safe()).load(front)
    except MarkedYAMLError as e:
        line = (e.problem_mark.line + 2) if e.problem_mark else 1
        raise ReportError(f"malformed YAML: {yaml_problem(e)}", where=f"{path}:{line}",
                          fix="fix the YAML syntax on that line (quote text that holds ':' or '#')") from None
    except YAMLError:
        raise ReportError("malformed YAML", where=path, fix="fix the YAML syntax") from None
    except ValueError as e:  # a date-shaped value that is no date (2026-13-40) fails inside the YAML loader
        line, field = _bad_date_line(front)
        raise ReportError(f"field {field!r}: not a date ({e})", where=f"{path}:{line}",
                          fix="write dates as YYYY-MM-DD") from None
    try:
        return _validate(path, data, body, policy)
    except ReportError as first:
        if editable:
            raise
        try:  # again with the round-trip loader, for the line numbers
            again = _yaml().load(front)
        except (YAMLError, ValueError):  # the two parsers disagree on some odd input: keep the first answer
            raise first from None
        return _validate(path, again, body, policy)


def _validate(path: Path, data: Any, body: str, policy: Verification) -> ReportFile:
    if not isinstance(data, dict):
        raise ReportError("front matter is not a set of fields", where=f"{path}:2",
                          fix="write one 'field: value' per line")
    fields = dict(data)
    fields.setdefault("id", path.stem)
    if fields["id"] != path.stem:
        raise ReportError(f"id {fields['id']!r} does not match the file name", where=f"{path}:{_line_of(data, 'id')}",
                          fix=f"rename the file to {fields['id']}.md or set id: {path.stem}")
    try:
        report = Report.model_validate({**fields, "body": body})
    except ValidationError as e:
        def line_of(loc: tuple) -> str:
            key = str(loc[0]) if loc else "?"
            return f"{path}:{_line_of(data, key) if key in data else 2}"

        date = "write dates as YYYY-MM-DD"
        raise from_validation(
            e, where=path, cls=ReportError, where_at=lambda loc: path if e.errors()[0]["type"] == "missing"
            else line_of(loc), known=lambda loc: list(Report.model_fields) if len(loc) == 1 else [],
            unknown_fix="remove it, or move private matters under 'private:'",
            missing_fix="add '{what}:' to the front matter",
            fixes={"date_from_datetime_parsing": date, "date_parsing": date, "date_type": date,
                   "literal_error": "use one of the values listed"}) from None
    return ReportFile(path, data, body, report)


def policy_error(rf: ReportFile, policy: Verification) -> ReportError | None:
    """A report marked verified whose checks do not meet the policy (edited by hand, or the policy changed)."""
    report = rf.report
    if report.status != "verified" or policy_holds(report.checks, policy):
        return None
    done, need = policy_counts(report.checks, policy)
    line = _line_of(rf.data, "status")
    if line is None:  # read with the fast loader: find the line again
        line = next((i for i, t in enumerate(rf.path.read_text(encoding="utf-8").splitlines(), start=1)
                     if t.startswith("status:")), None)
    return ReportError(f"status is verified but it has {done} of {need} checks the policy needs",
                       where=f"{rf.path}:{line}" if line else rf.path,
                       fix=f"add checks with `radio report verify {report.id}` or set status: unverified")


# --- the desk --------------------------------------------------------------------------------------

def reports_dir(station: Station, week: str) -> Path:
    return station.week_dir(week) / "reports"


MAX_BYTES = 256 * 1024  # a report is read aloud: 256 KB is hours of speech, and a drafting tool's limit is near


def readable(station: Station, path: Path) -> None:
    """Refuse a report file that is not a regular file inside the station, or is too large to be a report."""
    why = fsutil.not_regular(station.root, path)
    if why:
        raise ReportError(f"not read: {why}", where=path, fix="put the report itself in the folder, as a file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ReportError(f"the file is {size // 1024} KB; a report may be at most {MAX_BYTES // 1024} KB", where=path,
                          fix="shorten it to what is read on air; keep long documents elsewhere")


def is_template_text(body: str) -> bool:
    """Whether a report's text is still what `report new` wrote (or nothing at all)."""
    text = " ".join(body.split())
    return not text or text == TEMPLATE_TEXT


def load_week(station: Station, week: str, *, strict: bool = True) -> tuple[list[ReportFile], list[RadioError]]:
    """Every report of a week, sorted by id; broken files come back as errors, not as a crash.

    `strict` also counts a report marked verified without the checks the policy needs as broken (the
    desk's view); otherwise it is returned, and `on_air_ready` keeps it off the air.
    """
    folder = reports_dir(station, week)
    good: list[ReportFile] = []
    bad: list[RadioError] = []
    if not folder.is_dir():
        return good, bad
    for path in sorted(folder.glob("*.md")):
        if translation_name(path):
            continue
        try:
            if not ID_RE.match(path.stem):
                raise ReportError(f"{path.stem!r} is not a valid report id", where=path,
                                  fix="rename the file: lower-case letters, digits and '-', then .md")
            readable(station, path)
            rf = read_report(path, station.config.verification)
            err = policy_error(rf, station.config.verification) if strict else None
            if err:
                raise err
            good.append(rf)
        except RadioError as e:
            bad.append(e)
    return good, bad


def report_path(station: Station, report_id: str, week: str | None = None) -> Path:
    """Where a report is, by id, in the given week or in any week (the newest first)."""
    try:
        check_id(report_id, "report id")
    except ValueError as e:
        raise ReportError(str(e), fix="name a report by its id, as `radio report list` shows it") from None
    weeks = [week] if week else sorted(station.weeks(), reverse=True)
    for w in weeks:
        path = reports_dir(station, w) / f"{report_id}.md"
        if path.is_file() or path.is_symlink():
            readable(station, path)
            return path
    raise ReportError(f"no report {report_id!r}" + (f" in {week}" if week else ""),
                      fix="see `radio report list WEEK` for the ids")


def find_report(station: Station, report_id: str, week: str | None = None) -> ReportFile:
    """A report by id, in the given week or in any week (the newest first)."""
    return read_report(report_path(station, report_id, week), station.config.verification, editable=True)


LOCK_WAIT_S = 30.0


@contextmanager
def editing(station: Station, report_id: str, week: str | None = None) -> Iterator[ReportFile]:
    """A report read, changed and saved by one desk command at a time.

    The lock is a file beside the report (`.ID.lock`), held with fcntl from before the read until after the
    save, so two editors' changes both land; one that cannot get it in time fails instead of guessing.
    """
    path = report_path(station, report_id, week)
    busy = lambda: ReportError("another desk command is still changing this report", where=path,  # noqa: E731
                               fix="nothing was changed; run the command again")
    with fsutil.locked(path.with_name(f".{path.stem}.lock"), busy, wait=LOCK_WAIT_S):
        if not path.is_file():  # removed or renamed while we waited
            raise ReportError(f"no report {report_id!r}", where=path, fix="see `radio report list WEEK`")
        yield read_report(path, station.config.verification, editable=True)


def week_reports(station: Station, week: str) -> list[Report]:
    """The week's reports, refusing if any file is broken (later stages need the whole desk sound)."""
    good, bad = load_week(station, week, strict=False)
    if bad:
        raise bad[0]
    return [f.report for f in good]


NEW_TEMPLATE = """\
---
# FICTIONAL SAMPLE FIELDS: replace with the correspondent's report.
id: {id}
title: {title}
received: {received}
event_date:
place: {place}        # town or city: published only with exposure: named
workplace:            # mine, plant, depot, school: published only with exposure: named
region: {region}       # published unless exposure: none
sector: {sector}
kind: {kind}           # {kinds}
attribution:          # the public line, e.g. "our correspondent in the Urals"; blank = derived from exposure
priority: 3           # 1 (lead) to 5
status: unverified    # set by `radio report verify / hold / reject / reopen`
checks: []
appeal:               # public: where solidarity messages or money can go
exposure: named       # named | regional (region only) | none (no place at all)
thread:               # optional: a story followed across weeks, e.g. kestrel-ridge-strike
private:              # NEVER published: who told us, how to reach them, what they asked
  correspondent:      # pseudonym from private/correspondents.yaml
  contact:
  notes:
---
{text}
"""
TEMPLATE_TEXT = "The text the host reads, in plain sentences."


def _scalar(v: str | None) -> str:
    if not v:
        return ""
    buf = io.StringIO()
    yamlio.safe(pure=True).dump(v, buf)
    return buf.getvalue().strip().removesuffix("\n...").strip()


def new_report(station: Station, week: str, title: str, *, place: str | None = None, region: str | None = None,
               sector: str | None = None, kind: str = "other", received: dt.date | None = None) -> Path:
    if not title.strip():
        raise ReportError("the title is empty", fix="pass --title with a few words")
    if kind not in KINDS:
        raise ReportError(f"--kind {kind!r} is not a report kind", fix=f"use one of: {', '.join(KINDS)}")
    when = received or Week(week).day(1)
    return _create(station, week, title, lambda rid: NEW_TEMPLATE.format(
        id=rid, title=_scalar(title), received=when.isoformat(), place=_scalar(place), region=_scalar(region),
        sector=_scalar(sector), kind=kind, kinds=" | ".join(KINDS), text=TEMPLATE_TEXT))


def _create(station: Station, week: str, title: str, render: Callable[[str], str]) -> Path:
    """Write a new report under a fresh id from its title. Two commands filing at the same moment get two ids:
    the file is linked into place, which fails rather than overwrite one the other just wrote."""
    folder = reports_dir(station, week)
    taken: set[str] = set()  # ids found taken; the folder is not listed (intake files a thousand in a row)
    while True:
        rid = make_id(title, taken)
        path = folder / f"{rid}.md"
        if path.exists():
            taken.add(rid)
            continue
        text = render(rid)
        front, body = _split(path, text.encode("utf-8"))
        _validate(path, _yaml().load(front), body, station.config.verification)  # what we write must read back
        tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
        try:
            fsutil.write_text(tmp, text)
            os.link(tmp, path)
            return path
        except FileExistsError:
            taken.add(rid)
        finally:
            tmp.unlink(missing_ok=True)


def file_report(station: Station, week: str, title: str, *, received: dt.date, body: str,
                attribution: str | None = None, region: str | None = None, sector: str | None = None,
                kind: str = "other", private: dict | None = None) -> Path:
    """A whole report written at once (intake from mail): unverified, no checks, validated before it is written."""
    if not title.strip():
        raise ReportError("the title is empty", fix="give the report a title")

    def render(rid: str) -> str:
        data = CommentedMap()
        for key, value in (("id", rid), ("title", title.strip()), ("received", received), ("region", region),
                           ("sector", sector), ("kind", kind), ("attribution", attribution), ("priority", 3),
                           ("status", "unverified"), ("checks", CommentedSeq()), ("exposure", "named")):
            if value is not None:
                data[key] = value
        data["private"] = CommentedMap(private or {})
        data.yaml_set_comment_before_after_key("private", before="NEVER published: who sent it and how it came in")
        buf = io.StringIO()
        _yaml().dump(data, buf)
        return f"{FRONT}\n{buf.getvalue()}{FRONT}\n{body.strip()}\n"

    return _create(station, week, title, render)


def _set(data: CommentedMap, key: str, value: Any, after: str | None = None) -> None:
    """Set a field in place; a new field goes after `after` (keeping the producer's order)."""
    if key in data or after is None or after not in data:
        data[key] = value
    else:
        data.insert(list(data).index(after) + 1, key, value)


def add_check(station: Station, report_id: str, by: str, method: str, note: str | None = None,
              on: dt.date | None = None) -> tuple[ReportFile, int, int]:
    if not by.strip() or not method.strip():
        raise ReportError("a check needs --by and --method", fix="say who checked and how (phone, visit, document)")
    with editing(station, report_id) as rf:
        return _add_check(station, rf, by, method, note, on)


def _add_check(station: Station, rf: ReportFile, by: str, method: str, note: str | None,
               on: dt.date | None) -> tuple[ReportFile, int, int]:
    if is_template_text(rf.body):
        raise ReportError("its text is still the template's, so there is nothing to verify", where=rf.path,
                          fix="write the correspondent's report below the front matter, then verify it")
    entry = CommentedMap(by=by, on=on or dt.date.today(), method=method)
    if note:
        entry["note"] = note
    checks = rf.data.get("checks")
    if not isinstance(checks, CommentedSeq):
        checks = CommentedSeq(list(checks or []))
        _set(rf.data, "checks", checks, after="status")
    checks.append(entry)
    policy = station.config.verification
    report = rf.report.model_copy(update={"checks": [*rf.report.checks, Check.model_validate(dict(entry))]})
    if report.status == "unverified" and policy_holds(report.checks, policy):
        _set(rf.data, "status", "verified", after="priority")
        report = report.model_copy(update={"status": "verified"})
    before = rf.report.status
    rf.report = report
    rf.save()
    from radio import history  # the log sits beside the desk; imported here to keep the import order one way
    week = rf.path.parent.parent.name
    history.append(station, week, rf.report.id, "check", by=by, method=method, note=note)
    if report.status != before:
        history.append(station, week, rf.report.id, "status", **{"from": before, "to": report.status})
    done, need = policy_counts(report.checks, policy)
    return rf, done, need


def set_status(station: Station, report_id: str, status: Status, reason: str | None) -> ReportFile:
    if status in ("held", "rejected") and not (reason or "").strip():
        raise ReportError(f"--reason is required to mark {report_id} {status}", fix="say why, for the desk's record")
    with editing(station, report_id) as rf:
        return _set_status(station, rf, status, reason)


def _set_status(station: Station, rf: ReportFile, status: Status, reason: str | None) -> ReportFile:
    if status == "unverified":  # reopen: back to what the checks allow
        status = "verified" if policy_holds(rf.report.checks, station.config.verification) else "unverified"
        rf.data.pop("reason", None)
    else:
        _set(rf.data, "reason", reason, after="status")
    _set(rf.data, "status", status, after="priority")
    before = rf.report.status
    rf.report = rf.report.model_copy(update={"status": status, "reason": rf.data.get("reason")})
    rf.save()
    from radio import history
    history.append(station, rf.path.parent.parent.name, rf.report.id, "status",
                   **{"from": before, "to": status, "reason": reason})
    return rf


# --- the public projection -------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean(text: str) -> str:
    """Published text without control characters: XML cannot hold them and no listener needs them."""
    return _CONTROL.sub("", text)


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


def public(report: Report, where: Path | str | None = None) -> PublicReport:
    """The publishable view of a report, enforcing its exposure level.

    With `regional` the town and workplace are withheld, with `none` the region too; if the public
    text still names a withheld detail, that is an error (jigsaw identification), not a silent leak.
    """
    conflict = exposure_conflict(report)
    if conflict:
        name, field, value = conflict
        raise ReportError(f"the {name} names the {field} {value!r} but exposure is {report.exposure}",
                          where=where or report.id,
                          fix=f"remove it from the {name}, or set exposure: named if the editor allows it")
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
    return PublicReport(id=report.id, title=clean(report.title).strip(), event_date=report.event_date,
                        place=opt(place), workplace=opt(report.workplace) if named else None, region=opt(region),
                        sector=opt(report.sector), kind=report.kind, attribution=clean(attribution).strip(),
                        priority=report.priority, appeal=opt(report.appeal), text=clean(report.body).strip(),
                        thread=report.thread)


def on_air_ready(report: Report, policy: Verification | None = None) -> str | None:
    """Why a report cannot go on air, or None when it can.

    Verified under the current policy (a stricter policy unverifies it), and no public text names a
    detail its exposure withholds. The reason names fields, never the withheld values.
    """
    if report.status != "verified":
        return {"unverified": "is not verified yet", "held": "is held", "rejected": "was rejected"}[report.status]
    if report._gap:  # this edition has no checked translation of it
        return report._gap
    if policy is not None and not policy_holds(report.checks, policy):
        done, need = policy_counts(report.checks, policy)
        return f"has {done} of the {need} checks the verification policy now needs"
    conflict = exposure_conflict(report)
    if conflict:
        name, field, _ = conflict
        return f"names its withheld {field} in the {name} (exposure {report.exposure})"
    return None


# --- translations: one report, several languages ------------------------------------------------------

TRANSLATION_RE = re.compile(r"^(?P<id>[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\.(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.md$")
TranslationState = Literal["draft", "checked"]


class Translation(BaseModel):
    """A report's public text in another language. It has no private block: status and exposure are the original's."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    attribution: str | None = None
    appeal: str | None = None
    translator: str | None = None
    state: TranslationState = "draft"
    body: str = ""


def translation_name(path: Path) -> re.Match | None:
    return TRANSLATION_RE.match(path.name)


def translation_path(station: Station, week: str, report_id: str, lang: str) -> Path:
    return reports_dir(station, week) / f"{report_id}.{lang}.md"


def read_translation(path: Path) -> Translation:
    front, body = _split(path, path.read_bytes())
    try:
        data = _yaml().load(front)
    except (YAMLError, ValueError) as e:
        raise ReportError(f"malformed YAML: {e}", where=path, fix="fix the YAML syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ReportError("front matter is not a set of fields", where=f"{path}:2", fix="write one 'field: value' per line")
    if "private" in data:
        raise ReportError("a translation has a private block", where=f"{path}:{_line_of(data, 'private')}",
                          fix="delete it: what was said in confidence stays in the original report's private: block")
    allowed = [k for k in Translation.model_fields if k != "body"]
    for key in data:
        if key not in allowed:
            raise ReportError(f"field {key!r} does not belong in a translation", where=f"{path}:{_line_of(data, key)}",
                              fix=f"a translation holds only {', '.join(allowed)}; status, exposure and places "
                                  "come from the original")
    try:
        t = Translation.model_validate({**{k: v for k, v in data.items()}, "body": body.strip()})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ReportError(f"field {field!r}: {err['msg'].removeprefix('Value error, ')}",
                          where=f"{path}:{_line_of(data, str(err['loc'][0])) or 2}", fix="use draft or checked"
                          if field == "state" else "correct the value") from None
    if t.state == "checked" and not ((t.title or "").strip() and t.body):
        raise ReportError("a checked translation needs a title and the text", where=path,
                          fix="translate them, or set state: draft")
    return t


def week_translations(station: Station, week: str) -> dict[tuple[str, str], Path]:
    """(report id, language) -> translation file, for the week."""
    folder = reports_dir(station, week)
    out = {}
    for path in sorted(folder.glob("*.*.md")) if folder.is_dir() else []:
        m = translation_name(path)
        if m:
            out[(m.group("id"), m.group("lang"))] = path
    return out


def report_language(station: Station, report: Report) -> str:
    return report.lang or station.primary_language


def edition_reports(station: Station, week: str) -> list[Report]:
    """The week's reports as this edition speaks them.

    A report in the edition's language is itself. Otherwise its checked translation's public fields stand in
    for the original's; status, exposure, places and aliases stay the original's, so a hold or a lowered
    exposure reaches every edition, and the withheld-detail check runs on the translated text. Without a
    checked translation the report is listed but cannot go on air in this edition.
    """
    lang = station.language
    originals = week_reports(station, week)
    ids = {r.id for r in originals}
    translations = week_translations(station, week)
    for (rid, tl), path in translations.items():
        if rid not in ids:
            raise ReportError(f"a translation of {rid!r}, but there is no such report", where=path,
                              fix=f"rename it to <report-id>.{tl}.md, or delete it")
    out = []
    for r in originals:
        if report_language(station, r) == lang:
            r = r.model_copy()
            r._source = reports_dir(station, week) / f"{r.id}.md"
            out.append(r)
            continue
        path = translations.get((r.id, lang))
        t = read_translation(path) if path else None
        if t is None or t.state != "checked":
            r = r.model_copy()
            r._gap = (f"has no checked {lang} translation" + (f" ({path.name} is a draft)" if t else
                      f" (`radio report translate {r.id} --lang {lang}`)"))
            out.append(r)
            continue
        tr = r.model_copy(update={"title": t.title, "attribution": t.attribution, "appeal": t.appeal,
                                  "body": t.body, "lang": lang})
        tr._source = path
        out.append(tr)
    return out


TRANSLATE_TEMPLATE = """\
---
# Translation of {id} into {lang}. PUBLIC FIELDS ONLY: no private block here (it is an error).
# Status, exposure and places are the original's: holding it holds every translation.
title:
attribution:          # blank: derived from the exposure, in {lang}
appeal:
translator:
state: draft          # draft | checked: only a checked translation goes on air
#
# The original ({orig_lang}), to work from:
{original}
---
"""


def translate(station: Station, report_id: str, lang: str) -> Path:
    """Create <id>.<lang>.md beside the report, with the original's public text as comments."""
    if not LANG_RE.match(lang):
        raise ReportError(f"--lang {lang!r} is not a BCP 47 language tag", fix="write e.g. fr, ru, es, pt-BR")
    rf = find_report(station, report_id)
    r = rf.report
    orig_lang = report_language(station, r)
    if lang == orig_lang:
        raise ReportError(f"{report_id} is already in {lang}", fix="name another language")
    path = rf.path.with_name(f"{r.id}.{lang}.md")
    if path.exists():
        raise ReportError("the translation exists already", where=path, fix="edit it")
    pub = public(r, rf.path)
    lines = [f"title: {pub.title}", f"attribution: {r.attribution or ''}", f"appeal: {pub.appeal or ''}", "text:"]
    lines += pub.text.splitlines()
    original = "\n".join(("# " + x).rstrip() for x in lines)
    fsutil.write_text(path, TRANSLATE_TEMPLATE.format(id=r.id, lang=lang, orig_lang=orig_lang, original=original))
    read_translation(path)  # what we wrote must read back
    return path

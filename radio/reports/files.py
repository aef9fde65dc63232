"""Report files on the desk: reading and validating them (every failure names the file, line and field), finding
one by id, the week's desk, and the per-report lock under which a desk command changes one."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from radio import fsutil, yamlio
from radio.keys import block as keys_block
from radio.keys import editors as keys_editors
from radio.config import ID_RE, Verification
from radio.errors import RadioError, ReportError, from_validation, yaml_problem
from radio.reports.model import Report, check_id, policy_counts, policy_holds
from radio.station import Station
from radio.yamlio import MarkedYAMLError, YAMLError


FRONT = "---"


def _yaml():
    return yamlio.round_trip(preserve_quotes=True)


@dataclass
class ReportFile:
    """A report on disk: the parsed model, and the round-trip data that keeps the producer's text."""

    path: Path
    data: CommentedMap
    body: str
    report: Report
    sealed_as: tuple[str, str] | None = None  # (ciphertext read, its block as read): unchanged blocks keep it
    sealed_values: dict[str, str] = field(default_factory=dict)  # a note or reason as read -> its ciphertext

    def save(self) -> None:
        buf = io.StringIO()
        root = keys_block.station_of(self.path)
        sealed = root is not None and keys_editors.sealed(root)
        stored = _sealed_data(root, self.data, self.sealed_as, self.sealed_values) if sealed else self.data
        _yaml().dump(stored, buf)
        fsutil.write_text(self.path, f"{FRONT}\n{buf.getvalue()}{FRONT}\n{self.body}", private=sealed)
        block = self.data.get("private")
        if sealed and isinstance(block, dict) and \
                (self.sealed_as is None or str(stored["private"]) != self.sealed_as[0]):
            _record_digests(root, self.sealed_as[0] if self.sealed_as else None, str(stored["private"]), block)


def _record_digests(root: Path, old: str | None, armor: str, block: dict) -> None:
    """The leak-check digests of a block just sealed, so a build host with only the leak-check key checks what
    it withholds (radio/keys/digests.py). Where they cannot be made now, the build says so."""
    from radio.keys import digests
    from radio.keys.age import KeysError
    from radio.station import correspondents
    register = digests.given_register()
    known = register is not None
    if not known and block.get("correspondent"):
        try:
            register, known = correspondents(root), True
        except (KeysError, RadioError):
            register = None
    digests.record(root, old, armor, block, register, register_known=known or not block.get("correspondent"))


def _block_text(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def _sealed_data(root: Path, data: CommentedMap, sealed_as: tuple[str, str] | None,
                 sealed_values: dict[str, str]) -> CommentedMap:
    """The front matter as it is stored on a sealed station: the private block, each check's note and the
    hold or rejection reason encrypted to the editors (each with the ciphertext it was read with, if it did not
    change, so an edit elsewhere leaves their bytes alone). Who checked and how stay plain: the verification
    policy is counted from them."""
    out = data.copy()
    block = data.get("private")
    if isinstance(block, dict):
        if sealed_as and _block_text(block) == sealed_as[1]:
            text = sealed_as[0]
        else:
            text = keys_block.seal_block(root, block)
        out["private"] = LiteralScalarString(text)

    def seal(value):
        if not isinstance(value, str) or not value.strip() or keys_block.is_sealed(value):
            return value
        return LiteralScalarString(sealed_values.get(value) or keys_block.seal_value(root, value))

    if "reason" in data:
        out["reason"] = seal(data["reason"])
    checks = data.get("checks")
    if isinstance(checks, list) and any(isinstance(c, dict) and c.get("note") for c in checks):
        seq = copy.deepcopy(checks)
        for c in seq:
            if isinstance(c, dict) and "note" in c:
                c["note"] = seal(c["note"])
        out["checks"] = seq
    return out


def _open_values(path: Path, data: Any, fields: dict) -> dict[str, str]:
    """A sealed check note or reason opened in place when an identity is unlocked (`data` then holds the plain
    text, sealed again on saving); without one the model sees none, and the file keeps the ciphertext."""
    opened: dict[str, str] = {}

    def value(v):
        if not keys_block.is_sealed(v):
            return v
        plain = keys_block.open_value(path, str(v))
        if plain is None:
            return keys_block.SEALED_MARK  # the desk sees there is one, and nothing of it
        opened[plain] = str(v)
        return plain

    if keys_block.is_sealed(fields.get("reason")):
        fields["reason"] = value(fields["reason"])
        if fields["reason"] in opened:
            data["reason"] = fields["reason"]
    checks = fields.get("checks")
    if isinstance(checks, list) and any(isinstance(c, dict) and keys_block.is_sealed(c.get("note")) for c in checks):
        copies = []
        for i, c in enumerate(checks):
            if isinstance(c, dict) and keys_block.is_sealed(c.get("note")):
                c2 = dict(c)
                c2["note"] = value(c["note"])
                if c2["note"] in opened:
                    data["checks"][i]["note"] = c2["note"]
                copies.append(c2)
            else:
                copies.append(c)
        fields["checks"] = copies
    return opened


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
    sealed_as = None
    if keys_block.is_sealed(fields.get("private")):  # encrypted to the editors: opened if one is unlocked
        opened = keys_block.open_block(path, str(fields["private"]))
        fields["private"] = dict(opened) if opened is not None else {}
        if opened is not None:
            sealed_as = (str(data["private"]), _block_text(opened))
            data["private"] = opened  # an edit changes the block itself; saving seals it again
    sealed_values = _open_values(path, data, fields)
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
    if keys_block.is_sealed(data.get("private")):
        report.private._sealed = True
        report.private._armor = str(data["private"])
    return ReportFile(path, data, body, report, sealed_as, sealed_values)


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


def reports_dir(station: Station, week: str) -> Path:
    return station.reports_dir(week)


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
            _with_register(station, rf)
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
    return _with_register(station, read_report(report_path(station, report_id, week), station.config.verification,
                                               editable=True))


def _with_register(station: Station, rf: ReportFile) -> ReportFile:
    """The report with its correspondent's register entry, whose every detail it withholds."""
    from radio.sources import public_names
    from radio.station import correspondents
    from radio.keys.age import KeysError
    try:
        register = correspondents(station)
    except KeysError:  # sealed and not unlocked: the public work goes on without the register's details
        register = {}
    entry = register.get(rf.report.private.correspondent or "")
    rf.report._register = entry if isinstance(entry, dict) else None
    rf.report._public_names = public_names(station.config)
    if rf.report.private.sealed:  # no key opened it: what it withholds is known by its leak-check digests
        from radio.keys import digests
        rf.report._digest_details = tuple(digests.sealed_details(station, rf.path, rf.report.private._armor,
                                                                 rf.report._public_names))
    return rf


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
    with fsutil.locked(station.report_lock_path(path), busy, wait=LOCK_WAIT_S):
        if not path.is_file():  # removed or renamed while we waited
            raise ReportError(f"no report {report_id!r}", where=path, fix="see `radio report list WEEK`")
        yield _with_register(station, read_report(path, station.config.verification, editable=True))


def week_reports(station: Station, week: str) -> list[Report]:
    """The week's reports, refusing if any file is broken (later stages need the whole desk sound)."""
    good, bad = load_week(station, week, strict=False)
    if bad:
        raise bad[0]
    return [f.report for f in good]


TEMPLATE_TEXT = "The text the host reads, in plain sentences."


TRANSLATION_RE = re.compile(r"^(?P<id>[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\.(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.md$")


def translation_name(path: Path) -> re.Match | None:
    return TRANSLATION_RE.match(path.name)

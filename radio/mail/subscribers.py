"""private/subscribers.csv: the member organisations that get the bulletin. Checked whole before any send."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from radio.station import Station
from radio.errors import RadioError

FILE = "subscribers.csv"
COLUMNS = ("address", "organisation", "language", "format")
FORMATS = ("html", "text", "pdf")  # html: text + HTML alternatives; text: plain only; pdf: html with the PDF attached
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def valid_address(address: str) -> bool:
    """Syntax as email-validator reads it (no DNS look-up: sending tells us whether it is delivered)."""
    from email_validator import EmailNotValidError, validate_email
    try:
        validate_email(address, check_deliverability=False)
        return True
    except EmailNotValidError:
        return False


@dataclass(frozen=True)
class Subscriber:
    line: int
    address: str
    organisation: str
    language: str
    format: str


def path(station: Station, name: str = FILE) -> Path:
    return station.private_dir / name


def load(station: Station, name: str = FILE) -> list[Subscriber]:
    """Every subscriber in private/NAME (subscribers.csv, or press.csv for the press list), or a RadioError
    naming the first bad row's line number."""
    p = path(station, name)
    if not p.is_file():
        raise RadioError("no subscriber list", where=p,
                         fix=f"write {name} with the columns {','.join(COLUMNS)} (one organisation a row)")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RadioError(f"not UTF-8 text (byte {e.start + 1})", where=p, fix="save it as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RadioError("the subscriber list is empty", where=f"{p}:1", fix=f"start with the header {','.join(COLUMNS)}") \
            from None
    except csv.Error as e:
        raise RadioError(f"not CSV: {e}", where=f"{p}:1", fix="fix the quoting") from None
    if tuple(header) != COLUMNS:
        raise RadioError(f"the header is {','.join(header)!r}", where=f"{p}:1", fix=f"make it {','.join(COLUMNS)}")
    out: list[Subscriber] = []
    seen: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise RadioError(f"not CSV: {e}", where=f"{p}:{reader.line_num}", fix="fix the quoting on that line") \
                from None
        line = reader.line_num
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        where = f"{p}:{line}"
        if len(row) != len(COLUMNS):
            raise RadioError(f"{len(row)} columns, not {len(COLUMNS)}", where=where,
                             fix=f"write {','.join(COLUMNS)}; quote a name that holds a comma")
        start = line - sum(c.count("\n") for c in row)  # the row's first line
        for col, c in zip(COLUMNS, row):
            if "\n" in c or "\r" in c:
                raise RadioError(f"the {col} field holds a line break", where=f"{p}:{start}",
                                 fix="keep each field on one line (a quoted field may not span lines here)")
        address, organisation, language, fmt = (c.strip() for c in row)
        if not ADDRESS.fullmatch(address) or not valid_address(address):
            raise RadioError(f"{address!r} is not an e-mail address", where=where, fix="correct the address")
        if not organisation:
            raise RadioError("no organisation", where=where, fix="name the member organisation")
        if not LANGUAGE.fullmatch(language):
            raise RadioError(f"{language!r} is not a language code", where=where, fix="write e.g. en, de, pt-BR")
        if fmt not in FORMATS:
            raise RadioError(f"format {fmt!r} is unknown", where=where, fix=f"use one of: {', '.join(FORMATS)}")
        key = address.lower()
        if key in seen:
            raise RadioError(f"{address!r} is listed twice (first on line {seen[key]})", where=where,
                             fix="keep one row per address")
        seen[key] = line
        out.append(Subscriber(line, address, organisation, language, fmt))
    if not out:
        raise RadioError("the subscriber list has no subscribers", where=p, fix="add a row per organisation")
    return out

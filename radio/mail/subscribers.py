"""private/subscribers.csv: the member organisations that get the bulletin. Checked whole before any send.

The one place the list is read and written: `load`, `save`, and `editing` (read, change, save under a lock).
On a sealed station the list is stored encrypted to the editors (private/subscribers.csv.age, radio.keys.store);
nothing else should open the file.
"""

from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import hashlib
import hmac
import os
import secrets

from radio import fsutil
from radio.keys import store
from radio.station import Station
from radio.errors import RadioError

FILE = "subscribers.csv"
PENDING = "unsubscribe-pending.txt"  # one-click unsubscribes of a sealed list: tokens, applied when it is opened
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
    """The list's file as it is on disk (sealed or plain), for messages."""
    return store.where(station, name)


def load(station: Station, name: str = FILE) -> list[Subscriber]:
    """Every subscriber in private/NAME (subscribers.csv, or press.csv for the press list), or a RadioError
    naming the first bad row's line number."""
    p = path(station, name)
    raw = store.read_bytes(station, name, "reading the subscriber list")
    if raw is None:
        raise RadioError("no subscriber list", where=p,
                         fix=f"write {name} with the columns {','.join(COLUMNS)} (one organisation a row)")
    return _without_pending(station, parse(raw, p))


def _without_pending(station: Station, rows: list[Subscriber]) -> list[Subscriber]:
    """The list less those who unsubscribed while it was sealed (their tokens are in PENDING)."""
    pending_file = store.folder(station) / PENDING
    if not pending_file.is_file():
        return rows
    pending = set(pending_file.read_text(encoding="utf-8").split())
    return [s for s in rows if unsubscribe_token(station, s.address) not in pending]


def render(subscribers: list[Subscriber]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for s in subscribers:
        w.writerow([s.address, s.organisation, s.language, s.format])
    return buf.getvalue()


def save(station: Station, subscribers: list[Subscriber]) -> None:
    """Write the whole list (checked first: what is written must load), atomically, encrypted when sealed."""
    text = render(subscribers)
    parse(text.encode("utf-8"), path(station))
    store.write_text(station, FILE, text)


@contextmanager
def editing(station: Station) -> Iterator[list[Subscriber]]:
    """The list, changed in place by the block and saved at its end; one writer at a time (a lock)."""
    lock = store.folder(station) / f".{FILE}.lock"
    with fsutil.locked(lock, lambda: RadioError("another change to the subscriber list is running", where=lock,
                                                fix="try again"), wait=5.0, private=True):
        raw = store.read_bytes(station, FILE, "changing the subscriber list")
        rows = _without_pending(station, parse(raw, path(station))) if raw is not None and raw.strip() else []
        yield rows
        save(station, [Subscriber(n, s.address, s.organisation, s.language, s.format)
                       for n, s in enumerate(rows, start=2)])


def parse(raw: bytes, p: Path | str) -> list[Subscriber]:
    """The list from its CSV bytes, or a RadioError naming `p` and the first bad row's line."""
    try:
        text = raw.decode("utf-8-sig")
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


# --- the one-click unsubscribe token ------------------------------------------------------------------

def _secret(station: Station) -> bytes:
    secret = os.environ.get("RADIO_UNSUBSCRIBE_SECRET", "").encode()
    if not secret:
        from radio.keys import store  # encrypted to the editors on a sealed station
        if not store.exists(station, "unsubscribe.key"):
            store.write_text(station, "unsubscribe.key", secrets.token_hex(32) + "\n")
        secret = store.read_text(station, "unsubscribe.key", "making unsubscribe links").strip().encode()
    return secret


def unsubscribe_token(station: Station, address: str) -> str:
    """HMAC of the address with the station's secret: stable, unguessable, says nothing about the address."""
    return hmac.new(_secret(station), address.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]

"""`radio subscribers import CSV`: readers from a file (address,editions,lists), checked whole before any is added."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from radio.errors import RadioError
from radio.station import Station

COLUMNS = ("address", "editions", "lists")


def import_csv(station: Station, path: Path) -> int:
    from radio.subscriptions import store
    try:
        text = _read(station, path).decode("utf-8-sig")
    except OSError as e:
        raise RadioError(f"cannot read it: {e.strerror}", where=path, fix="name a CSV file") from None
    except UnicodeDecodeError as e:
        raise RadioError(f"not UTF-8 text (byte {e.start + 1})", where=path, fix="save it as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if tuple(header) != COLUMNS:
            raise RadioError(f"the header is {','.join(header)!r}", where=f"{path}:1", fix=f"make it {','.join(COLUMNS)}")
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            where = f"{path}:{start}"
            if not row or not "".join(row).strip():
                continue
            if any("\n" in f or "\r" in f for f in row):
                raise RadioError("a field holds a line break", where=where,
                                 fix="keep each field on one line")
            if len(row) != len(COLUMNS):
                raise RadioError(f"{len(row)} columns, not {len(COLUMNS)}", where=where, fix=f"write {','.join(COLUMNS)}")
            addr, eds, lists = (f.strip() for f in row)
            try:
                addr = store.normalise_address(addr)
                eds_l, lists_l = store.check_choice(station, eds.replace(";", " ").split(), lists.replace(";", " ").split())
            except RadioError as e:
                raise RadioError(str(e.message).removesuffix(f" ({e.fix})"), where=where, fix=e.fix) from None
            rows.append((addr, eds_l, lists_l))
    except csv.Error as e:
        raise RadioError(f"not CSV: {e}", where=f"{path}:{reader.line_num}", fix="fix the quoting") from None
    if not rows:
        raise RadioError("no addresses in it", where=path, fix=f"one row per reader under the header {','.join(COLUMNS)}")
    t = store.stamp(store.now())
    with store.editing(station, "importing readers" if store.sealed(station) else None) as entries:
        for addr, eds_l, lists_l in rows:
            store.place(station, entries, store.Entry(addr, eds_l, lists_l, "active", t, t, source="import", changed=t))
    return len(rows)


def _read(station: Station, path: Path) -> bytes:
    """The CSV's bytes; a file kept under the station's private/ (named from the station's folder or any other
    way) is read as the station keeps it: sealed to the editors on a sealed station, opened in memory."""
    from radio.keys import store
    for p in ([station.root / path] if not path.is_absolute() else []) + [path]:
        try:
            rel = p.resolve().relative_to(station.private_dir.resolve())
        except ValueError:
            continue
        data = store.read_bytes(station, str(rel), "importing subscribers")
        if data is not None:
            return data
    return path.read_bytes()

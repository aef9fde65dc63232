"""The quarantine: messages intake would not take in, kept as they came (or, when too large to keep, their headers
and first bytes) under private/quarantine/WEEK/ with a record of why, for an editor to look at and release
(`radio intake release`). Encrypted to the editors on a sealed station."""

from __future__ import annotations

import email.utils
import json
import shutil
from pathlib import Path

from radio import fsutil
from radio.keys import editors as keys_editors
from radio.keys import store
from radio.mail import stream
from radio.mail.mailbox import Incoming
from radio.station import Station


def quarantine_dir(station: Station, week: str) -> Path:
    return station.private_dir / "quarantine" / week


def quarantine_list(station: Station, week: str) -> list[dict]:
    out = []
    for name in store.names(station, f"quarantine/{week}/*.json"):
        try:
            rec = json.loads(store.read_text(station, name, "listing the quarantine"))
        except (ValueError, OSError):
            continue
        out.append({"id": Path(name).stem, "received": rec.get("received") or "", "reason": rec.get("reason", "")})
    return sorted(out, key=lambda r: (r["received"], r["id"]))


def render_quarantine(rows: list[dict], week: str) -> str:
    from radio.text import table
    if not rows:
        return f"nothing in quarantine for {week}"
    body = [[r["id"], r["received"], r["reason"]] for r in rows]
    return (table(["ID", "RECEIVED", "REASON"], body, widths={2: 80})
            + f"\n{len(rows)} quarantined: the messages are in private/quarantine/{week}/ "
              "(`radio intake release ID --as CODENAME` takes one in after checking it by hand)")


def keep(station: Station, week: str, qid: str, mid: str, item: Incoming, reason: str, head,
                scan: stream.Scan | None = None, digest: str | None = None, *, whole: bool = True) -> None:
    """The message kept as it came (or, when it is too large to keep, its headers and its first bytes) with a
    record of why, for an editor to look at and release."""
    folder = quarantine_dir(station, week)
    if whole and keys_editors.sealed(station):  # encrypted to the editors on a sealed station
        with item.open() as f:
            store.write_bytes(station, f"quarantine/{week}/{qid}.eml", f.read())
    elif whole:
        with item.open() as f, fsutil.atomic_open(folder / f"{qid}.eml") as out:
            shutil.copyfileobj(f, out, 1 << 20)
    else:
        store.write_bytes(station, f"quarantine/{week}/{qid}.eml", scan.first if scan else b"")
    try:
        when = email.utils.parsedate_to_datetime(head.get("Date", "")).date().isoformat()
    except (TypeError, ValueError, IndexError):
        when = None
    rec = {"message_id": mid, "reason": reason, "received": when, "source": item.where}
    if digest:
        rec["content_digest"] = digest
    if not whole:
        rec["kept"] = f"headers and the first {len(scan.first) if scan else 0} bytes of {scan.size if scan else 0}"
    store.write_text(station, f"quarantine/{week}/{qid}.json", json.dumps(rec, ensure_ascii=False, indent=1) + "\n")

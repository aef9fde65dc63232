"""Intake: messages from known correspondents become unverified reports; everything else is quarantined.

A message is read whole before anything is written. The sender's address, name and identifying headers go only
into the report's private block; the public attribution comes from the correspondent's record in
private/correspondents.yaml (looked up by address, never taken from the message). Attachments are kept under
private/intake/<report-id>/. A message is taken in once: its Message-ID is kept in the report's private block
(or in the quarantine), and a rerun skips every Message-ID it has seen.

Maildir, mbox and IMAP all give the same reports: messages are processed in one canonical order (date,
Message-ID), whatever order the mailbox holds them in. Where messages come from is radio/mail/mailbox.py, who sent
them radio/mail/sender.py, and what is not taken in goes to radio/mail/quarantine.py.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.utils
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Callable

from radio import fsutil
from radio.desk.commands import file_report
from radio.errors import RadioError
from radio.keys import editors as keys_editors
from radio.keys import store
from radio.mail import quarantine, stream
from radio.mail.headers import is_dsn
from radio.mail.mailbox import Incoming, from_maildir, from_mbox, imap_session
from radio.mail.message import Taken, message_id_of, read_message, short_id
from radio.mail.sender import Quarantined, register_by_address
from radio.station import Station, correspondents, parse_week
from radio.text import printable

@dataclass
class Outcome:
    taken: list[tuple[str, str]] = field(default_factory=list)  # (report id, pseudonym)
    marked: dict[str, str] = field(default_factory=dict)  # report id -> why its sender is not verified
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (quarantine id, reason)
    duplicates: list[str] = field(default_factory=list)  # quarantine-style ids of skipped messages
    bounced: list[tuple[str, int, str]] = field(default_factory=list)  # (address, bounces, state) from DSNs

    def lines(self) -> list[str]:
        out = [f"took in {rid} (from {who}" + (f"; sender not verified: {self.marked[rid]})"
                                                if rid in self.marked else ")") for rid, who in self.taken]
        out += [f"quarantined {qid}: {printable(why)}" for qid, why in self.quarantined]
        out += [f"bounced {printable(addr)}: {n} bounce{'s' if n != 1 else ''}, {state}"
                for addr, n, state in self.bounced]
        out.append(f"{len(self.taken)} taken in, {len(self.quarantined)} quarantined, "
                   f"{len(self.duplicates)} already taken in" + (f", {len(self.bounced)} bounced" if self.bounced else ""))
        return out


# A delivery failure report (RFC 3464) that came back for a list's message: given to the list's owner
# (radio.subscriptions.bounces, wired by the command), never taken in as a report. Returns (address, bounces, state).
Bounces = Callable[[Message, str], list[tuple[str, int, str]]]



# --- the desk side -------------------------------------------------------------------------------------

def seen_message_ids(station: Station) -> dict[str, set[str | None]]:
    """Every Message-ID already on the desk (any week) or in the quarantine, with the digests of the contents
    it came with (None where that was not recorded)."""
    seen: dict[str, set[str | None]] = {}
    for path in sorted(station.root.glob("episodes/*/reports/*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"(?m)^\s+message_id:\s*['\"]?(<[^>\s]+>)", text)
        if m:
            d = re.search(r"(?m)^\s+content_digest:\s*['\"]?([0-9a-f]{64})", text)
            seen.setdefault(m.group(1), set()).add(d.group(1) if d else None)
        elif "-----BEGIN AGE ENCRYPTED FILE-----" in text:  # a sealed private block: opened in memory
            from radio.keys import block
            start = text.index("-----BEGIN AGE ENCRYPTED FILE-----")
            end = text.find("-----END AGE ENCRYPTED FILE-----", start)
            if end > 0:
                opened = block.open_block(path, text[start:end + 32], "taking in mail")
                mid = opened.get("message_id") if isinstance(opened, dict) else None
                dig = opened.get("content_digest") if isinstance(opened, dict) else None
                if isinstance(mid, str):
                    seen.setdefault(mid, set()).add(dig if isinstance(dig, str) else None)
    for name in store.names(station, "quarantine/*/*.json"):
        try:
            rec = json.loads(store.read_text(station, name, "taking in mail"))
            seen.setdefault(rec["message_id"], set()).add(rec.get("content_digest"))
        except (ValueError, KeyError, OSError):
            continue
    return seen


def _intake_lock(station: Station):
    path = station.intake_lock_path
    return fsutil.locked(path, lambda: RadioError("another intake is running", where=path,
                                                  fix="wait for it to finish"), private=True)


def _safe_name(name: str, n: int, used: set[str]) -> str:
    base = re.sub(r"[^\w.\-]+", "_", Path(name.replace("\\", "/")).name).strip("._") or f"attachment-{n}.bin"
    base = base[:100]
    candidate, k = base, 2
    while candidate in used:
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem}-{k}.{ext}" if dot and stem else f"{base}-{k}"
        k += 1
    used.add(candidate)
    return candidate


def _sort_key(item: Incoming) -> tuple:
    head = item.head()
    msg = BytesParser(policy=policy.compat32).parsebytes(head, headersonly=True)
    try:
        when = email.utils.parsedate_to_datetime(msg.get("Date", ""))
        stamp = when.timestamp() if when.tzinfo else when.replace(tzinfo=dt.timezone.utc).timestamp()
    except (TypeError, ValueError, IndexError):
        stamp = float("inf")
    # a copy that came through fewer servers (fewer trace headers, so shorter) before its redeliveries
    return (stamp, str(msg.get("Message-ID", "")).strip(), len(head), hashlib.sha256(head).hexdigest(), item.where)


HEAD_MAX = 16_000_000  # the text and headers of one message, kept in memory to be parsed
DKIM_MAX = 25_000_000  # a message up to this size is read whole once more, to check its DKIM signature


def _dns(station: Station):
    """DKIM keys pinned in private/dkim-keys.txt ("SELECTOR._domainkey.DOMAIN TXT-RECORD" a line), looked up
    there and nowhere else; without the file, in the DNS."""
    path = station.private_dir / "dkim-keys.txt"
    if not path.is_file():
        return None
    keys: dict[bytes, bytes] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, record = line.strip().partition(" ")
            keys[name.rstrip(".").lower().encode() + b"."] = record.strip().encode()
    return lambda name, timeout=5: keys.get(name.lower())


def take_in(station: Station, week: str, items: list[Incoming], *, dnsfunc=None, bounces: Bounces | None = None) -> Outcome:
    """Take a mailbox's messages onto WEEK's desk. One bad message never stops the others."""
    parse_week(week)
    cfg = station.config.mail
    register = register_by_address(station)
    max_bytes = int(cfg.max_attachment_mb * 1_000_000)
    dnsfunc = dnsfunc or _dns(station)
    outcome = Outcome()
    monday = dt.date.fromisocalendar(*parse_week(week), 1)
    with _intake_lock(station):
        seen = seen_message_ids(station)
        for item in sorted(items, key=_sort_key):
            staging = station.private_dir / "intake" / f".incoming-{hashlib.sha256(item.where.encode()).hexdigest()[:12]}"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                _one(station, week, item, staging, seen, register, max_bytes, dnsfunc, monday, outcome, bounces)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            _mark(item)
    return outcome


def _one(station: Station, week: str, item: Incoming, staging: Path, seen: dict[str, set[str | None]],
         register: dict,
         max_bytes: int, dnsfunc, monday: dt.date, outcome: Outcome, bounces: Bounces | None = None) -> None:
    cfg = station.config.mail
    with item.open() as f:
        scan = stream.scan(f, staging, limit=max_bytes, head_max=HEAD_MAX)
    head = BytesParser(policy=policy.compat32).parsebytes(scan.head, headersonly=True)
    try:
        mid = message_id_of(BytesParser(policy=policy.default).parsebytes(scan.head, headersonly=True), scan.head)
    except Exception:  # noqa: BLE001 (a header so broken the modern parser fails)
        mid = f"<sha256.{scan.digest[:32]}@no-message-id>"
    try:
        sender = " ".join(a for _, a in email.utils.getaddresses(head.get_all("From") or [])).lower()
    except Exception:  # noqa: BLE001
        sender = ""
    digest = hashlib.sha256(f"{sender}\n".encode() + scan.digest.encode()).hexdigest()
    qid = short_id(mid)
    if mid in seen:
        if seen[mid] & {None, digest}:  # the same message delivered again
            outcome.duplicates.append(qid)
            return
        qid = short_id(f"{mid} {digest}")
        reason = "the Message-ID of a message already taken in, with another sender or other content"
        quarantine.keep(station, week, qid, mid, item, reason, head, scan, digest)
        outcome.quarantined.append((qid, reason))
        seen[mid].add(digest)
        return
    seen[mid] = {digest}
    if scan.over is not None or scan.text_over:
        reason = (f"attachment of {scan.over / 1e6:.2f} MB is over the {max_bytes / 1e6:g} MB limit"
                  if scan.over is not None else f"the text of the message is over {HEAD_MAX / 1e6:g} MB")
        quarantine.keep(station, week, qid, mid, item, reason, head, scan, digest, whole=False)
        outcome.quarantined.append((qid, reason))
        return
    if bounces is not None and is_dsn(head) and scan.size <= DKIM_MAX:
        with item.open() as f:
            whole = email.message_from_binary_file(f, policy=policy.compat32)
        try:
            outcome.bounced.extend(bounces(whole, mid))
            return
        except RadioError as e:  # e.g. a sealed list and no editor's key: kept until an editor runs intake
            reason = f"a delivery failure report not counted: {e.message}"
            quarantine.keep(station, week, qid, mid, item, reason, head, scan, digest)
            outcome.quarantined.append((qid, reason))
            return
    full = None
    if scan.size <= DKIM_MAX:
        with item.open() as f:
            full = f.read()
    try:
        taken = read_message(scan.head, register, max_bytes=max_bytes, authserv=cfg.authserv_id, dnsfunc=dnsfunc,
                             attachments=scan.files, full=full, unverified=cfg.unverified)
    except Quarantined as q:
        quarantine.keep(station, week, qid, mid, item, q.reason, head, scan, digest)
        outcome.quarantined.append((qid, q.reason))
    except Exception as e:  # noqa: BLE001 (any other failure to read is bad input too)
        reason = f"unreadable message ({type(e).__name__})"
        quarantine.keep(station, week, qid, mid, item, reason, head, scan, digest)
        outcome.quarantined.append((qid, reason))
    else:
        taken.private["content_digest"] = digest
        rid = _file(station, week, taken, item, monday)
        outcome.taken.append((rid, taken.pseudonym))
        if not taken.verified:
            outcome.marked[rid] = taken.unverified_why or "unknown"


def _mark(item: Incoming) -> None:
    if item.mark:
        item.mark()


def _file(station: Station, week: str, taken: Taken, item: Incoming, monday: dt.date) -> str:
    """The report through the desk's own filing (which picks its id), its attachments into
    private/intake/<report-id>/. They are written first, beside it, and renamed into place once the id is known:
    a report never names files that are not there."""
    rec = taken.record
    names: list[str] = []
    used: set[str] = set()
    staging_name = f"intake/.incoming-{short_id(taken.message_id)}"
    staging = station.private_dir / staging_name
    for n, (name, data) in enumerate(taken.attachments, start=1):
        names.append(_safe_name(name, n, used))
        if keys_editors.sealed(station):  # encrypted to the editors on a sealed station
            store.write_bytes(station, f"{staging_name}/{names[-1]}",
                              data.read_bytes() if isinstance(data, Path) else data)
        elif isinstance(data, Path):  # streamed to disk already: moved, not copied into memory
            staging.mkdir(parents=True, exist_ok=True)
            os.replace(data, staging / names[-1]) if data.exists() else fsutil.write_bytes(staging / names[-1], b"")
        else:
            fsutil.write_bytes(staging / names[-1], data)
    private = {**taken.private, "intake": {"source": item.where, "attachments": names}}
    path = file_report(station, week, taken.title, received=taken.received or monday, body=taken.body,
                       attribution=_str(rec.get("attribution")), region=_str(rec.get("region")),
                       sector=_str(rec.get("sector")), private=private)
    if names:
        target = station.private_dir / "intake" / path.stem
        if target.exists():  # the same id in another week took the folder: this one goes beside it, and says so
            target = target.with_name(f"{path.stem}-{week}-{short_id(taken.message_id)}")
            from radio.reports.files import editing
            with editing(station, path.stem, week) as rf:
                rf.data["private"]["intake"]["folder"] = f"private/intake/{target.name}"
                rf.save()
        staging.rename(target)
    return path.stem


def _str(v: object) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def release(station: Station, qid: str, codename: str, *, by: str | None = None) -> tuple[str, str]:
    """Take a quarantined message onto the desk as a report from CODENAME, after an editor checked it by hand.
    Returns (report id, week). The release is recorded in the report's history and private block."""
    if not re.fullmatch(r"[0-9a-f]{12}", qid):
        raise RadioError(f"{printable(qid)!r} is not a quarantine id",
                         fix="use an ID from `radio report list WEEK --quarantine`")
    found = sorted((station.private_dir / "quarantine").glob(f"*/{qid}.json"))
    if not found:
        raise RadioError(f"no quarantined message {qid}", fix="see `radio report list WEEK --quarantine`")
    meta = found[0]
    week = meta.parent.name
    register = correspondents(station)
    if codename not in register or not isinstance(register.get(codename), dict):
        raise RadioError(f"no correspondent {printable(codename)!r} in the register",
                         where=station.private_dir / "correspondents.yaml",
                         fix="name a codename listed in private/correspondents.yaml")
    rec = json.loads(meta.read_text(encoding="utf-8"))
    if rec.get("kept"):
        raise RadioError(f"only the {rec['kept']} of this message were kept ({rec.get('reason')})",
                         where=meta, fix="ask the correspondent to send it again, smaller")
    eml = meta.with_suffix(".eml")
    cfg = station.config.mail
    by_address = {addr: entry for addr, entry in register_by_address(station).items()}
    by_address.setdefault(f"{codename}@release.invalid", (codename, register[codename]))
    with _intake_lock(station):
        staging = station.private_dir / "intake" / f".release-{qid}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            with open(eml, "rb") as f:
                scan = stream.scan(f, staging, limit=int(cfg.max_attachment_mb * 1_000_000), head_max=HEAD_MAX)
            try:
                taken = read_message(scan.head, by_address, max_bytes=int(cfg.max_attachment_mb * 1_000_000),
                                     attachments=scan.files, as_codename=codename)
            except Quarantined as q:
                raise RadioError(f"cannot take it in: {q.reason}", where=eml,
                                 fix="it stays in quarantine; the correspondent must send it again") from None
            taken.private["content_digest"] = rec.get("content_digest")
            taken.private["released"] = {"from_quarantine": qid, "reason": rec.get("reason"), "by": by}
            taken.private = {k: v for k, v in taken.private.items() if v is not None}
            monday = dt.date.fromisocalendar(*parse_week(week), 1)
            rid = _file(station, week, taken, Incoming(rec.get("source") or f"quarantine/{qid}"), monday)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        from radio import history
        history.append(station, week, rid, "released", correspondent=codename, quarantine=qid,
                       reason=rec.get("reason"), by=by)
        eml.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
    return rid, week


def intake(station: Station, week: str, *, maildir: str | None = None, mbox: str | None = None,
           imap: str | None = None, bounces: Bounces | None = None) -> Outcome:
    chosen = [x for x in (maildir, mbox, imap) if x]
    if len(chosen) != 1:
        raise RadioError("name one mailbox", fix="pass exactly one of --maildir DIR, --mbox FILE, --imap URL")
    if maildir:
        return take_in(station, week, from_maildir(Path(maildir)), bounces=bounces)
    if mbox:
        return take_in(station, week, from_mbox(Path(mbox)), bounces=bounces)
    with imap_session(station, imap) as (_conn, items):  # type: ignore[arg-type]
        return take_in(station, week, items, bounces=bounces)


def file_submission(station: Station, week: str, *, submission_id: str, title: str, body: str, received: dt.date,
                    private: dict, attachments: list[tuple[str, bytes]], source: str) -> str:
    """A report sent through the desk's submission form, filed exactly as a message is (same fields, same
    private block layout, attachments under private/intake/<report-id>/). Returns the report id."""
    parse_week(week)
    taken = Taken(f"<{submission_id}@desk>", title[:200], body.strip(), received, "", {}, private, attachments)
    return _file(station, week, taken, Incoming(source, b""), received)

"""Intake: messages from known correspondents become unverified reports; everything else is quarantined.

A message is read whole before anything is written. The sender's address, name and identifying headers go only
into the report's private block; the public attribution comes from the correspondent's record in
private/correspondents.yaml (looked up by address, never taken from the message). Attachments are kept under
private/intake/<report-id>/. A message is taken in once: its Message-ID is kept in the report's private block
(or in the quarantine), and a rerun skips every Message-ID it has seen.

Maildir, mbox and IMAP all give the same reports: messages are processed in one canonical order (date,
Message-ID), whatever order the mailbox holds them in.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.errors
import email.utils
import hashlib
import html.parser
import imaplib
import json
import mailbox
import re
import ssl
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Callable, Iterator

from radio import fsutil
from radio.station import Station, parse_week
from radio.errors import RadioError
from radio.mail.secrets import credentials
from radio.desk.commands import file_report
from radio.station import correspondents

# Structural damage: the message cannot be read the way its sender meant it.
SERIOUS = (email.errors.StartBoundaryNotFoundDefect, email.errors.CloseBoundaryNotFoundDefect,
           email.errors.NoBoundaryInMultipartDefect, email.errors.FirstHeaderLineIsContinuationDefect,
           email.errors.MissingHeaderBodySeparatorDefect, email.errors.MultipartInvariantViolationDefect,
           email.errors.InvalidMultipartContentTransferEncodingDefect, email.errors.InvalidBase64PaddingDefect,
           email.errors.InvalidBase64CharactersDefect, email.errors.InvalidBase64LengthDefect)
# Headers that say who sent a message or from where: private block only.
IDENTIFYING = ("From", "Sender", "Reply-To", "Return-Path", "To", "Cc", "Received", "X-Originating-IP",
               "X-Mailer", "User-Agent", "Organization", "DKIM-Signature", "Authentication-Results",
               "Received-SPF", "Message-ID")


@dataclass
class Incoming:
    """One message as a mailbox gives it: where it is, its bytes, and how to mark it as taken in."""

    where: str
    raw: bytes
    mark: Callable[[], None] | None = None


@dataclass
class Taken:
    message_id: str
    title: str
    body: str
    received: dt.date | None
    pseudonym: str
    record: dict
    private: dict
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


class Quarantined(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = " ".join(reason.split())


@dataclass
class Outcome:
    taken: list[tuple[str, str]] = field(default_factory=list)  # (report id, pseudonym)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (quarantine id, reason)
    duplicates: list[str] = field(default_factory=list)  # quarantine-style ids of skipped messages

    def lines(self) -> list[str]:
        out = [f"took in {rid} (from {who})" for rid, who in self.taken]
        out += [f"quarantined {qid}: {why}" for qid, why in self.quarantined]
        out.append(f"{len(self.taken)} taken in, {len(self.quarantined)} quarantined, "
                   f"{len(self.duplicates)} already taken in")
        return out


# --- reading one message ---------------------------------------------------------------------------

class _Scripts(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed") and not self.found:
            self.found = f"<{tag}>"
        for name, value in attrs:
            if self.found:
                return
            if name.lower().startswith("on"):
                self.found = f"an {name} handler"
            elif value and re.sub(r"\s", "", value).lower().startswith(("javascript:", "vbscript:")):
                self.found = "a javascript: link"


def scripts_in(text: str) -> str | None:
    p = _Scripts()
    p.feed(text)
    p.close()
    return p.found


def html_to_text(text: str) -> str:
    import html2text
    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_emphasis = True
    h.unicode_snob = True
    return h.handle(text)


def message_id_of(msg: EmailMessage, raw: bytes) -> str:
    value = str(msg.get("Message-ID", "") or "").strip()
    m = re.search(r"<[^<>\s]+>", value)
    if m:
        return m.group(0)
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id>"


def short_id(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:12]


def _register_by_address(station: Station) -> dict[str, tuple[str, dict]]:
    out: dict[str, tuple[str, dict]] = {}
    for pseudonym, rec in correspondents(station).items():
        if not isinstance(rec, dict):
            continue
        addrs = rec.get("email") or []
        for a in [addrs] if isinstance(addrs, str) else addrs:
            if isinstance(a, str) and a.strip():
                out[a.strip().lower()] = (str(pseudonym), rec)
    return out


def _auth_results(msg: EmailMessage, authserv: str | None) -> list[dict]:
    out = []
    for value in msg.get_all("Authentication-Results") or []:
        text = " ".join(str(value).split())
        server = text.split(";", 1)[0].strip().split()[0] if text else ""
        entry = {"server": server, "trusted": bool(authserv) and server.lower() == (authserv or "").lower()}
        for method in ("dkim", "spf", "dmarc"):
            m = re.search(rf"\b{method}=(\w+)", text)
            if m:
                entry[method] = m.group(1).lower()
        out.append(entry)
    return out


def dkim_result(raw: bytes, dnsfunc=None) -> str:
    """dkimpy's verdict on the message's own DKIM-Signature: pass, fail or error (no key, no DNS)."""
    import dkim
    try:
        ok = dkim.verify(raw, dnsfunc=dnsfunc) if dnsfunc else dkim.verify(raw, timeout=3)
    except Exception as e:  # noqa: BLE001 (dkimpy raises many kinds; any of them means "not verified")
        return f"error ({type(e).__name__})"
    return "pass" if ok else "fail"


def _defects(msg: EmailMessage) -> list[str]:
    found = []
    for part in msg.walk():
        found += [type(d).__name__ for d in part.defects if isinstance(d, SERIOUS)]
    return found


def read_message(raw: bytes, register: dict[str, tuple[str, dict]], *, max_bytes: int,
                 authserv: str | None = None, dnsfunc=None) -> Taken:
    """Parse and judge one message; raises Quarantined with a one-line reason."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    mid = message_id_of(msg, raw)
    bad = _defects(msg)
    if bad:
        raise Quarantined(f"malformed MIME ({bad[0]})")
    try:
        sender = msg["From"]
        addresses = list(sender.addresses) if sender is not None else []
    except (email.errors.HeaderParseError, AttributeError, IndexError, ValueError):
        raise Quarantined("unreadable From header") from None
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Quarantined("no single sender address")
    address, name = addresses[0].addr_spec.strip().lower(), addresses[0].display_name.strip()
    if address not in register:
        raise Quarantined("unknown sender (not in private/correspondents.yaml)")
    pseudonym, record = register[address]

    plain: str | None = None
    markup: str | None = None
    attachments: list[tuple[str, bytes]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        is_attachment = part.get_content_disposition() == "attachment" or ctype not in ("text/plain", "text/html")
        if is_attachment:
            data = part.get_payload(decode=True) or b""
            if len(data) > max_bytes:
                raise Quarantined(f"attachment of {len(data) / 1e6:.2f} MB is over the "
                                  f"{max_bytes / 1e6:g} MB limit")
            attachments.append((part.get_filename() or "", data))
            continue
        charset = part.get_content_charset() or "us-ascii"
        try:
            codecs.lookup(charset)
        except LookupError:
            raise Quarantined(f"unknown charset {charset[:40]!r}") from None
        try:
            text = part.get_content()
        except (LookupError, UnicodeError, ValueError) as e:
            raise Quarantined(f"unreadable text part ({type(e).__name__})") from None
        if ctype == "text/html":
            found = scripts_in(text)
            if found:
                raise Quarantined(f"HTML with scripts ({found})")
            markup = markup if markup is not None else text
        elif plain is None:
            plain = text
    body = plain if plain is not None and plain.strip() else html_to_text(markup) if markup else ""
    body, signature = _split_signature(body.replace("\r\n", "\n"))
    body = _withhold(body, address, name)
    if not body.strip():
        raise Quarantined("no text")
    subject = " ".join(str(msg.get("Subject", "") or "").split())
    title = _withhold(subject, address, name).strip() or " ".join(body.split()[:8])
    received = None
    try:
        when = msg["Date"].datetime if msg["Date"] is not None else None
        if when is not None:
            received = (when.astimezone(dt.timezone.utc) if when.tzinfo else when).date()
    except (AttributeError, ValueError, TypeError):
        received = None

    headers: dict[str, object] = {}
    for h in IDENTIFYING:
        values = [" ".join(str(v).split()) for v in (msg.get_all(h) or [])]
        if values:
            headers[h.lower()] = values if len(values) > 1 else values[0]
    auth: dict[str, object] = {"results": _auth_results(msg, authserv),
                               "note": "recorded for the desk; never counts as a verification check"}
    if msg.get("DKIM-Signature"):
        auth["dkim_verify"] = dkim_result(raw, dnsfunc)
    private = {"correspondent": pseudonym, "contact": address, "sender_name": name or None,
               "message_id": mid, "headers": headers, "authentication": auth,
               "signature": signature or None}
    return Taken(mid, title[:200], body.strip(), received, pseudonym, record,
                 {k: v for k, v in private.items() if v is not None}, attachments)


def _split_signature(body: str) -> tuple[str, str]:
    """The text above the signature separator ("-- "), and the signature (it names the sender: private)."""
    m = re.search(r"(?m)^-- ?$", body)
    if not m:
        return body, ""
    return body[:m.start()], body[m.end():].strip()


def _withhold(text: str, address: str, name: str) -> str:
    text = re.sub(re.escape(address), "[withheld]", text, flags=re.IGNORECASE)
    if len(name) >= 3:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[withheld]", text, flags=re.IGNORECASE)
    return text


# --- mailboxes ---------------------------------------------------------------------------------------

def from_maildir(path: Path) -> list[Incoming]:
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise RadioError("not a Maildir (no cur/ or new/)", where=path, fix="name the folder that holds cur/ and new/")
    box = mailbox.Maildir(str(path), factory=None, create=False)
    return [Incoming(f"{path.name}/{key}", box.get_bytes(key)) for key in sorted(box.keys())]


def from_mbox(path: Path) -> list[Incoming]:
    if not path.is_file():
        raise RadioError("no such mbox file", where=path, fix="name an mbox file")
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        return [Incoming(f"{path.name}#{key}", box.get_bytes(key)) for key in box.keys()]
    finally:
        box.close()


@contextmanager
def imap_session(station: Station, url: str) -> Iterator[tuple[imaplib.IMAP4, list[Incoming]]]:
    """Log in over TLS (imaps://) or STARTTLS (imap://), select the folder, fetch every message unseen-safe."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("imaps", "imap"):
        raise RadioError(f"{u.scheme or '(none)'}: is not an IMAP URL scheme",
                         fix="write imaps://HOST[:PORT]/FOLDER (TLS) or imap://HOST[:PORT]/FOLDER (STARTTLS)")
    if u.password is not None:
        raise RadioError("the IMAP URL holds a password",
                         fix="never put it on the command line: set RADIO_IMAP_PASSWORD or write it into "
                             "private/mail-credentials.toml [imap]")
    if not u.hostname:
        raise RadioError("the IMAP URL names no server", fix="write imaps://HOST/INBOX")
    user, password = credentials(station, "imap", required=True)  # type: ignore[misc]
    if u.username:
        user = urllib.parse.unquote(u.username)
    folder = urllib.parse.unquote(u.path.lstrip("/")) or "INBOX"
    ctx = ssl.create_default_context()
    where = f"{u.scheme}://{u.hostname}:{u.port or (993 if u.scheme == 'imaps' else 143)}/{folder}"
    try:
        if u.scheme == "imaps":
            conn = imaplib.IMAP4_SSL(u.hostname, u.port or 993, ssl_context=ctx, timeout=30)
        else:
            conn = imaplib.IMAP4(u.hostname, u.port or 143, timeout=30)
            conn.starttls(ssl_context=ctx)
    except ssl.SSLError as e:
        raise RadioError(f"TLS with the IMAP server failed: {e.reason or e}", where=where,
                         fix="check the server's certificate (SSL_CERT_FILE names a private CA)") from None
    except (OSError, imaplib.IMAP4.error) as e:
        raise RadioError(f"cannot reach the IMAP server: {e}", where=where,
                         fix="check the host and port; imaps:// is TLS on 993, imap:// STARTTLS on 143") from None
    try:
        try:
            conn.login(user, password)
        except imaplib.IMAP4.error:
            raise RadioError("the IMAP server refused the login", where=where,
                             fix="check RADIO_IMAP_USER / RADIO_IMAP_PASSWORD or private/mail-credentials.toml") \
                from None
        typ, _ = conn.select(_quote(folder))
        if typ != "OK":
            raise RadioError(f"no folder {folder!r}", where=where, fix="name an existing folder, e.g. INBOX")
        typ, data = conn.uid("SEARCH", None, "ALL")
        uids = (data[0] or b"").split() if typ == "OK" else []
        items = []
        for uid in uids:
            typ, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None) if typ == "OK" else None
            if raw is None:
                continue
            items.append(Incoming(f"{folder}#{uid.decode()}", raw,
                                  (lambda u=uid: conn.uid("STORE", u, "+FLAGS", "(\\Flagged)"))))
        yield conn, items
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the desk side -------------------------------------------------------------------------------------

def quarantine_dir(station: Station, week: str) -> Path:
    return station.private_dir / "quarantine" / week


def seen_message_ids(station: Station) -> set[str]:
    """Every Message-ID already on the desk (any week) or in the quarantine."""
    seen: set[str] = set()
    for path in sorted(station.root.glob("episodes/*/reports/*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"(?m)^\s+message_id:\s*['\"]?(<[^>\s]+>)", text)
        if m:
            seen.add(m.group(1))
    for path in sorted((station.private_dir / "quarantine").glob("*/*.json")):
        try:
            seen.add(json.loads(path.read_text(encoding="utf-8"))["message_id"])
        except (ValueError, KeyError, OSError):
            continue
    return seen


def quarantine_list(station: Station, week: str) -> list[dict]:
    out = []
    for path in sorted(quarantine_dir(station, week).glob("*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        out.append({"id": path.stem, "received": rec.get("received") or "", "reason": rec.get("reason", "")})
    return sorted(out, key=lambda r: (r["received"], r["id"]))


def render_quarantine(rows: list[dict], week: str) -> str:
    from radio.text import table
    if not rows:
        return f"nothing in quarantine for {week}"
    body = [[r["id"], r["received"], r["reason"]] for r in rows]
    return (table(["ID", "RECEIVED", "REASON"], body, widths={2: 80})
            + f"\n{len(rows)} quarantined: the messages are in private/quarantine/{week}/ "
              "(delete one's .json to take it in again)")


def _intake_lock(station: Station):
    path = station.intake_lock_path
    return fsutil.locked(path, lambda: RadioError("another intake is running", where=path,
                                                  fix="wait for it to finish"))


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
    msg = BytesParser(policy=policy.compat32).parsebytes(item.raw, headersonly=True)
    try:
        when = email.utils.parsedate_to_datetime(msg.get("Date", ""))
        stamp = when.timestamp() if when.tzinfo else when.replace(tzinfo=dt.timezone.utc).timestamp()
    except (TypeError, ValueError, IndexError):
        stamp = float("inf")
    return (stamp, str(msg.get("Message-ID", "")).strip(), hashlib.sha256(item.raw).hexdigest())


def take_in(station: Station, week: str, items: list[Incoming], *, dnsfunc=None) -> Outcome:
    """Take a mailbox's messages onto WEEK's desk. One bad message never stops the others."""
    parse_week(week)
    cfg = station.config.mail
    register = _register_by_address(station)
    max_bytes = int(cfg.max_attachment_mb * 1_000_000)
    outcome = Outcome()
    monday = dt.date.fromisocalendar(*parse_week(week), 1)
    with _intake_lock(station):
        seen = seen_message_ids(station)
        for item in sorted(items, key=_sort_key):
            head = BytesParser(policy=policy.compat32).parsebytes(item.raw, headersonly=True)
            try:
                mid = message_id_of(BytesParser(policy=policy.default).parsebytes(item.raw, headersonly=True),
                                    item.raw)
            except Exception:  # noqa: BLE001 (a header so broken the modern parser fails)
                mid = f"<sha256.{hashlib.sha256(item.raw).hexdigest()[:32]}@no-message-id>"
            qid = short_id(mid)
            if mid in seen:
                outcome.duplicates.append(qid)
                _mark(item)
                continue
            try:
                taken = read_message(item.raw, register, max_bytes=max_bytes, authserv=cfg.authserv_id,
                                     dnsfunc=dnsfunc)
            except Quarantined as q:
                _quarantine(station, week, qid, mid, item, q.reason, head)
                outcome.quarantined.append((qid, q.reason))
            except Exception as e:  # noqa: BLE001 (any other failure to read is bad input too)
                reason = f"unreadable message ({type(e).__name__})"
                _quarantine(station, week, qid, mid, item, reason, head)
                outcome.quarantined.append((qid, reason))
            else:
                rid = _file(station, week, taken, item, monday)
                outcome.taken.append((rid, taken.pseudonym))
            seen.add(mid)
            _mark(item)
    return outcome


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
    staging = station.private_dir / "intake" / f".incoming-{short_id(taken.message_id)}"
    for n, (name, data) in enumerate(taken.attachments, start=1):
        names.append(_safe_name(name, n, used))
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


def _quarantine(station: Station, week: str, qid: str, mid: str, item: Incoming, reason: str, head) -> None:
    folder = quarantine_dir(station, week)
    fsutil.write_bytes(folder / f"{qid}.eml", item.raw)
    try:
        when = email.utils.parsedate_to_datetime(head.get("Date", "")).date().isoformat()
    except (TypeError, ValueError, IndexError):
        when = None
    rec = {"message_id": mid, "reason": reason, "received": when, "source": item.where}
    fsutil.write_text(folder / f"{qid}.json", json.dumps(rec, ensure_ascii=False, indent=1) + "\n")


def intake(station: Station, week: str, *, maildir: str | None = None, mbox: str | None = None,
           imap: str | None = None) -> Outcome:
    chosen = [x for x in (maildir, mbox, imap) if x]
    if len(chosen) != 1:
        raise RadioError("name one mailbox", fix="pass exactly one of --maildir DIR, --mbox FILE, --imap URL")
    if maildir:
        return take_in(station, week, from_maildir(Path(maildir)))
    if mbox:
        return take_in(station, week, from_mbox(Path(mbox)))
    with imap_session(station, imap) as (_conn, items):  # type: ignore[arg-type]
        return take_in(station, week, items)


def file_submission(station: Station, week: str, *, submission_id: str, title: str, body: str, received: dt.date,
                    private: dict, attachments: list[tuple[str, bytes]], source: str) -> str:
    """A report sent through the desk's submission form, filed exactly as a message is (same fields, same
    private block layout, attachments under private/intake/<report-id>/). Returns the report id."""
    parse_week(week)
    taken = Taken(f"<{submission_id}@desk>", title[:200], body.strip(), received, "", {}, private, attachments)
    return _file(station, week, taken, Incoming(source, b""), received)

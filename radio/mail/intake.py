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
import io
import os
import shutil
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
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from radio import fsutil
from radio.station import Station, parse_week
from radio.errors import RadioError
from radio.mail.secrets import credentials
from radio.desk.commands import file_report
from radio.keys import store
from radio.keys import editors as keys_editors
from radio.station import correspondents
from radio.text import printable
from radio.mail import stream
from radio.mail.headers import is_dsn

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
    """One message as a mailbox gives it: where it is, how to read it (bytes, or a file opened when it is
    read, so a large message is never held whole), and how to mark it as taken in."""

    where: str
    raw: bytes | None = None
    mark: Callable[[], None] | None = None
    opener: Callable[[], BinaryIO] | None = None
    size: int | None = None

    def open(self) -> BinaryIO:
        return self.opener() if self.opener else io.BytesIO(self.raw or b"")

    def head(self, n: int = 256 * 1024) -> bytes:
        with self.open() as f:
            return f.read(n)


@dataclass
class Taken:
    message_id: str
    title: str
    body: str
    received: dt.date | None
    pseudonym: str
    record: dict
    private: dict
    attachments: list[tuple[str, bytes | Path]] = field(default_factory=list)
    verified: bool = True
    unverified_why: str | None = None


class Quarantined(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = " ".join(reason.split())


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


def _auth_results(msg: EmailMessage, authserv: str | None) -> tuple[dict | None, list[dict]]:
    """(what our own receiving server said, every Authentication-Results header as recorded).

    Only the topmost header counts, and only when its authserv-id is ours: our server adds its header on top
    of what the message brought (RFC 8601), so one of ours further down was written by the sender."""
    import authres
    out = []
    ours = None
    for n, value in enumerate(msg.get_all("Authentication-Results") or []):
        text = " ".join(str(value).split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(text)
            server = str(parsed.authserv_id or "")
            results = {str(r.method).lower(): str(r.result).lower() for r in reversed(parsed.results)}
            props = {f"{r.method}.{p.type}.{p.name}".lower(): str(p.value).lower()
                     for r in parsed.results for p in r.properties}
        except Exception:  # noqa: BLE001 (authres raises its own syntax errors and more: unreadable is untrusted)
            server, results, props = (text.split(";", 1)[0].split() or [""])[0], {}, {}
        claims_ours = bool(authserv) and server.lower() == (authserv or "").lower()
        entry: dict = {"server": server, "trusted": claims_ours and n == 0}
        if claims_ours and n > 0:
            entry["forged"] = "claims our server's name below the top: not added by our server"
        entry.update({m: results[m] for m in ("dkim", "spf", "dmarc") if m in results})
        out.append(entry)
        if entry["trusted"]:
            ours = {**results, **props}
    return ours, out


def dkim_result(raw: bytes, dnsfunc=None) -> str:
    """dkimpy's verdict on the message's own DKIM-Signature: pass, fail or error (no key, no DNS)."""
    return _dkim(raw, dnsfunc)[0]


def _dkim(raw: bytes, dnsfunc=None) -> tuple[str, str | None]:
    """(pass | fail | error (...), the signing domain)."""
    import dkim
    try:
        d = dkim.DKIM(raw)
        ok = d.verify(dnsfunc=dnsfunc) if dnsfunc else d.verify()
        domain = d.domain.decode("ascii", "replace").lower() if isinstance(d.domain, bytes) else d.domain
    except dkim.ValidationError:  # the body or a signed header changed after signing
        return "fail", None
    except Exception as e:  # noqa: BLE001 (dkimpy raises many kinds; any of them means "not verified")
        return f"error ({type(e).__name__})", None
    return ("pass" if ok else "fail"), domain


def _aligned(domain: str | None, sender_domain: str) -> bool:
    return bool(domain) and (sender_domain == domain or sender_domain.endswith("." + str(domain)))


def sender_verdict(msg: EmailMessage, raw: bytes | None, address: str, authserv: str | None,
                   dnsfunc=None) -> tuple[str | None, dict]:
    """(why the sender is not verified, or None; what was found, for the private block).

    Verified means a DKIM signature of the sender's own domain that dkimpy checks against the published key,
    or our own receiving server's word (its topmost Authentication-Results) that DMARC, or an aligned DKIM or
    SPF, passed. Anything else a message says about itself is recorded and believed by nobody."""
    sender_domain = address.rsplit("@", 1)[1]
    ours, recorded = _auth_results(msg, authserv)
    auth: dict[str, object] = {"results": recorded,
                               "note": "recorded for the desk; never counts as a verification check"}
    why: list[str] = []
    verified = False
    if msg.get("DKIM-Signature"):
        if raw is None:
            verdict, domain = "not checked (message too large)", None
        else:
            verdict, domain = _dkim(raw, dnsfunc)
        if verdict == "pass" and not _aligned(domain, sender_domain):
            verdict = f"pass for another domain ({domain})"
        auth["dkim_verify"] = verdict
        verified = verdict == "pass"
        if not verified:
            why.append(f"dkim {verdict}")
    else:
        why.append("no dkim signature")
    if ours is not None:
        if ours.get("dmarc") == "fail":
            verified = False
            why.insert(0, "dmarc fail")
        elif ours.get("dmarc") == "pass" \
                or (ours.get("dkim") == "pass" and _aligned(ours.get("dkim.header.d"), sender_domain)) \
                or (ours.get("spf") == "pass" and _aligned((ours.get("spf.smtp.mailfrom") or "").rsplit("@", 1)[-1],
                                                           sender_domain)):
            verified = verified or True
        else:
            why += [f"{m} {ours[m]}" for m in ("dkim", "spf", "dmarc") if m in ours and ours[m] != "pass"] \
                or ["our server did not pass it"]
    elif authserv:
        why.append("no result from our server")
    if any(e.get("forged") for e in recorded):
        verified = False
        why.insert(0, "forged Authentication-Results")
    return (None if verified else ", ".join(why)), auth


def _defects(msg: EmailMessage) -> list[str]:
    found = []
    for part in msg.walk():
        found += [type(d).__name__ for d in part.defects if isinstance(d, SERIOUS)]
    return found


def sender_of(msg: EmailMessage) -> tuple[str, str]:
    """(address, display name) of a From that parses strictly to exactly one address; else Quarantined.

    The lenient reading of `a@b.example <c@d.example>` or `<a@b.example>@d.example` is one of the two addresses
    (which one depends on the parser): a message whose From is not plainly one address is nobody's."""
    froms = msg.get_all("From") or []
    if len(froms) != 1:
        raise Quarantined("no From header" if not froms else f"{len(froms)} From headers")
    try:
        sender = msg["From"]
        addresses = list(sender.addresses)
        defects = [d for d in sender.defects if not isinstance(d, email.errors.NonASCIILocalPartDefect)]
    except (email.errors.HeaderParseError, AttributeError, IndexError, ValueError, TypeError):
        raise Quarantined("unreadable From header") from None
    if defects:
        raise Quarantined(f"ambiguous From header ({str(defects[0]).rstrip('.')})")
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Quarantined("no single sender address")
    address = addresses[0].addr_spec.strip().lower()
    name = " ".join(addresses[0].display_name.split())
    local, _, domain = address.rpartition("@")
    if not local or not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+",
                                     domain):
        raise Quarantined("the From address has no plain domain")
    if "@" in name or re.search(r"[<>]", name):
        raise Quarantined("the From name holds an address: the sender is not plain")
    return address, name


def read_message(raw: bytes, register: dict[str, tuple[str, dict]], *, max_bytes: int,
                 authserv: str | None = None, dnsfunc=None, attachments: list[Path] | None = None,
                 full: bytes | None = None, unverified: str = "mark", as_codename: str | None = None) -> Taken:
    """Parse and judge one message; raises Quarantined with a one-line reason.

    `raw` is the message, or (from a stream) its head: every attachment's body is then in `attachments`, one
    file each, in order, and `full` is the whole message when it is small enough to check its DKIM signature.
    `as_codename` is an editor's release of a quarantined message: the sender is taken to be that
    correspondent, whoever the message says it is from."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    mid = message_id_of(msg, raw)
    bad = _defects(msg)
    if bad:
        raise Quarantined(f"malformed MIME ({bad[0]})")
    if as_codename is None:
        address, name = sender_of(msg)
        if address not in register:
            raise Quarantined("unknown sender (not in private/correspondents.yaml)")
        pseudonym, record = register[address]
        not_verified, auth = sender_verdict(msg, full if full is not None else (raw if attachments is None else None),
                                            address, authserv, dnsfunc)
        if not_verified and unverified == "quarantine":
            raise Quarantined(f"sender not verified: {not_verified}")
    else:
        try:
            address, name = sender_of(msg)
        except Quarantined:
            address, name = "", ""
        pseudonym, record = as_codename, next((r for p, r in register.values() if p == as_codename), {})
        not_verified, auth = None, {}  # an editor checked it by hand: the release is recorded instead

    plain: str | None = None
    markup: str | None = None
    found: list[tuple[str, bytes | Path]] = []
    files = iter(attachments or [])
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        is_attachment = part.get_content_disposition() == "attachment" or ctype not in ("text/plain", "text/html")
        if is_attachment:
            if attachments is not None:
                data: bytes | Path = next(files, None) or b""
                size = data.stat().st_size if isinstance(data, Path) and data.exists() else 0
            else:
                data = part.get_payload(decode=True) or b""
                size = len(data)
            if size > max_bytes:
                raise Quarantined(f"attachment of {size / 1e6:.2f} MB is over the {max_bytes / 1e6:g} MB limit")
            found.append((part.get_filename() or "", data))
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
            scripts = scripts_in(text)
            if scripts:
                raise Quarantined(f"HTML with scripts ({scripts})")
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
        try:
            values = [" ".join(str(v).split()) for v in (msg.get_all(h) or [])]
        except Exception:  # noqa: BLE001 (a header the modern parser cannot even print is kept as it came)
            values = [" ".join(str(v).split()) for v in (email.message_from_bytes(raw).get_all(h) or [])]
        if values:
            headers[h.lower()] = values if len(values) > 1 else values[0]
    private = {"correspondent": pseudonym, "contact": address or None, "sender_name": name or None,
               "message_id": mid, "headers": headers, "authentication": auth or None,
               "sender": {"verified": not not_verified, "why": not_verified} if not_verified else None,
               "signature": signature or None}
    return Taken(mid, title[:200], body.strip(), received, pseudonym, record,
                 {k: v for k, v in private.items() if v is not None}, found, not not_verified, not_verified)


def _split_signature(body: str) -> tuple[str, str]:
    """The text above the signature separator ("-- "), and the signature (it names the sender: private)."""
    m = re.search(r"(?m)^-- ?$", body)
    if not m:
        return body, ""
    return body[:m.start()], body[m.end():].strip()


def _withhold(text: str, address: str, name: str) -> str:
    if address:
        text = re.sub(re.escape(address), "[withheld]", text, flags=re.IGNORECASE)
    if len(name) >= 3:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[withheld]", text, flags=re.IGNORECASE)
    return text


# --- mailboxes ---------------------------------------------------------------------------------------

def from_maildir(path: Path) -> list[Incoming]:
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise RadioError("not a Maildir (no cur/ or new/)", where=path, fix="name the folder that holds cur/ and new/")
    box = mailbox.Maildir(str(path), factory=None, create=False)
    return [Incoming(f"{path.name}/{key}", opener=(lambda k=key: box.get_file(k))) for key in sorted(box.keys())]


def from_mbox(path: Path) -> list[Incoming]:
    if not path.is_file():
        raise RadioError("no such mbox file", where=path, fix="name an mbox file")
    box = mailbox.mbox(str(path), factory=None, create=False)
    return [Incoming(f"{path.name}#{key}", opener=(lambda k=key: box.get_file(k))) for key in box.keys()]


@contextmanager
def imap_session(station: Station, url: str) -> Iterator[tuple[imaplib.IMAP4, list[Incoming]]]:
    """Log in over TLS (imaps://) or STARTTLS (imap://), select the folder, list every message with its size;
    each is read (unseen-safe) a piece at a time when intake reads it, never whole."""
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
            typ, data = conn.uid("FETCH", uid, "(RFC822.SIZE)")
            sizes = [re.search(rb"RFC822\.SIZE (\d+)", d if isinstance(d, bytes) else d[0])
                     for d in (data if typ == "OK" else []) if d]
            size = next((int(m.group(1)) for m in sizes if m), None)
            if size is None:
                continue
            # read a piece at a time when it is read, never whole: a message may be far larger than memory
            items.append(Incoming(f"{folder}#{uid.decode()}", None,
                                  (lambda u=uid: conn.uid("STORE", u, "+FLAGS", "(\\Flagged)")),
                                  opener=(lambda u=uid, n=size: io.BufferedReader(ImapBody(conn, u, n, where),
                                                                                  IMAP_PIECE)), size=size))
        yield conn, items
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


IMAP_PIECE = 1 << 20  # a message is fetched from the IMAP server this much at a time


class ImapBody(io.RawIOBase):
    """A message on the IMAP server, read in pieces of at most IMAP_PIECE bytes with partial fetches
    (`BODY.PEEK[]<offset.length>`, RFC 3501 6.4.5): imaplib holds a fetched literal whole in memory, so a message
    fetched in one piece would cost its whole size. Reading it again starts a new one."""

    def __init__(self, conn: imaplib.IMAP4, uid: bytes, size: int, where: str) -> None:
        self.conn, self.uid, self.left, self.at, self.where = conn, uid, size, 0, where

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        want = min(len(buf), IMAP_PIECE, self.left)
        if want <= 0:
            return 0
        try:
            typ, parts = self.conn.uid("FETCH", self.uid, f"(BODY.PEEK[]<{self.at}.{want}>)")
        except (OSError, imaplib.IMAP4.error) as e:
            raise RadioError(f"the IMAP server stopped answering: {e}", where=self.where,
                             fix="run the intake again: what was taken in is not taken in twice") from None
        data = next((p[1] for p in parts if isinstance(p, tuple)), None) if typ == "OK" else None
        if not data:
            self.left = 0
            return 0
        n = min(len(data), want)
        buf[:n] = data[:n]
        self.at += n
        self.left = 0 if n < want else self.left - n  # a shorter piece is the end of the message
        return n


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the desk side -------------------------------------------------------------------------------------

def quarantine_dir(station: Station, week: str) -> Path:
    return station.private_dir / "quarantine" / week


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
    register = _register_by_address(station)
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
        _quarantine(station, week, qid, mid, item, reason, head, scan, digest)
        outcome.quarantined.append((qid, reason))
        seen[mid].add(digest)
        return
    seen[mid] = {digest}
    if scan.over is not None or scan.text_over:
        reason = (f"attachment of {scan.over / 1e6:.2f} MB is over the {max_bytes / 1e6:g} MB limit"
                  if scan.over is not None else f"the text of the message is over {HEAD_MAX / 1e6:g} MB")
        _quarantine(station, week, qid, mid, item, reason, head, scan, digest, whole=False)
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
            _quarantine(station, week, qid, mid, item, reason, head, scan, digest)
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
        _quarantine(station, week, qid, mid, item, q.reason, head, scan, digest)
        outcome.quarantined.append((qid, q.reason))
    except Exception as e:  # noqa: BLE001 (any other failure to read is bad input too)
        reason = f"unreadable message ({type(e).__name__})"
        _quarantine(station, week, qid, mid, item, reason, head, scan, digest)
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


def _quarantine(station: Station, week: str, qid: str, mid: str, item: Incoming, reason: str, head,
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
    by_address = {addr: entry for addr, entry in _register_by_address(station).items()}
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

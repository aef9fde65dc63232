"""One message read and judged, before anything is written: its sender (radio/mail/sender.py), its text (plain,
or HTML made plain; scripts refused), its attachments, and what goes where. The sender's address, name and
identifying headers go only into the report's private block; the public attribution comes from the
correspondent's record, never from the message. Raises Quarantined with a one-line reason."""

from __future__ import annotations

import codecs
import datetime as dt
import email.errors
import hashlib
import html.parser
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from radio.mail.sender import Quarantined, sender_of, sender_verdict

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


def _defects(msg: EmailMessage) -> list[str]:
    found = []
    for part in msg.walk():
        found += [type(d).__name__ for d in part.defects if isinstance(d, SERIOUS)]
    return found


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

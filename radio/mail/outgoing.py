"""Sending anything but the bulletin (press items, the digest, confirmations) the bulletin's way: one message per
recipient over the same SMTP connection, journal, rate limit, DKIM signature and lock (radio/mail/send.py).

`send_all` takes the recipients and a function that builds each one's message; the journal (private/send/
KEY.jsonl) makes a rerun send only what was not sent, and names what a killed run may or may not have delivered.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import urllib.parse
from email.message import EmailMessage
from typing import Callable

from radio import fsutil
from radio.errors import RadioError
from radio.mail import headers
from radio.mail import send as bulletin_send
from radio.mail.send import Connection, Journal, Outgoing, SendResult
from radio.mail.subscribers import Subscriber
from radio.mail.subscribers import _secret as secret
from radio.station import Station


def from_address(station: Station) -> str:
    return bulletin_send._from_address(station)


def message_id(station: Station, kind: str, key: str, address: str) -> str:
    """Stable for a person's copy, keyed with the station's secret as the bulletin's are: a plain hash of the
    address could be checked against a guessed list of addresses by anyone who sees the ID."""
    h = hmac.new(secret(station), f"{kind}\n{key}\n{address.strip().lower()}".encode(),
                 hashlib.sha256).hexdigest()[:20]
    return f"<{kind}.{key}.{h}@{from_address(station).rsplit('@', 1)[1]}>"


def unsubscribe_url(station: Station, address: str) -> str:
    return station.full_config.mail.unsubscribe_url.replace("{token}",
                                                              bulletin_send.unsubscribe_token(station, address))


def list_headers(station: Station, msg: EmailMessage, list_name: str, address: str) -> str:
    """List-Id, List-Unsubscribe (the https link and a mailto, both read as links) and List-Unsubscribe-Post
    (RFC 8058 one click). Returns the https link for the message's footer."""
    cfg = station.full_config
    url = unsubscribe_url(station, address)
    links = [f"<{url}>"]
    if cfg.mail.unsubscribe_mailto:
        token = bulletin_send.unsubscribe_token(station, address)
        links.append(f"<mailto:{cfg.mail.unsubscribe_mailto}?subject={urllib.parse.quote('unsubscribe ' + token)}>")
    domain = from_address(station).rsplit("@", 1)[1]
    msg["List-Id"] = f"{list_name} <{list_name}.{cfg.show.slug}.{domain}>"
    msg["List-Unsubscribe"] = ", ".join(links)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return url


def new_message(station: Station, to: str, subject: str, mid: str, when) -> EmailMessage:
    from email import policy
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = email.utils.formataddr((station.full_config.station.name, from_address(station)))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = mid
    return msg


def as_bytes(msg: EmailMessage, mid: str) -> bytes:
    n = 0
    for part in msg.walk():  # fixed boundaries: the same message for the same reader is the same bytes
        if part.is_multipart():
            n += 1
            part.set_boundary(f"=_radio_{hashlib.sha256(mid.encode()).hexdigest()[:16]}_{n}")
    return msg.as_bytes(policy=headers.SMTP)


def send_all(station: Station, key: str, fingerprint: str, people: list[Subscriber],
             build: Callable[[Subscriber], Outgoing], *, uncertain: str | None = None,
             dry_run: bool = False) -> SendResult:
    """One message per person, each once; KEY names the journal (e.g. digest-2026-11-fr)."""
    result = SendResult()
    if not people:
        return result
    for p in people[:1]:
        build(p)  # a message that cannot be made stops the run before any send
    if dry_run:
        folder = station.private_dir / "outbox" / key
        for s in people:
            target = folder / f"line-{s.line:04d}.eml"
            fsutil.write_bytes(target, build(s).data)
            result.written.append(target)
        return result
    lock = station.private_dir / "send" / f".{key}.lock"
    with fsutil.locked(lock, lambda: RadioError(f"another send of {key} is running", where=lock,
                                                fix="wait for it to finish"), private=True):
        journal = Journal(station.private_dir / "send" / f"{key}.jsonl", fingerprint, station, f"send/{key}.jsonl")
        return bulletin_send.deliver_all(station, journal, people, build, uncertain=uncertain, result=result)


def send_one(station: Station, to: str, data: bytes) -> None:
    """A single message now (a confirmation request): no journal, it is asked for again if it is lost."""
    conn = Connection(station)
    try:
        smtp = conn.open()
        try:
            smtp.sendmail(from_address(station), [to], data)
        except Exception as e:  # refused or dropped: the reader is told to try again
            raise RadioError(f"the confirmation message could not be sent: {e}",
                             fix="try again in a few minutes") from None
    finally:
        conn.quit()

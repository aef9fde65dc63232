"""Sending the bulletin: one message per subscriber over SMTP (STARTTLS or TLS), with a journal.

The journal (private/send/<week>.jsonl, appended and fsynced) makes a crash, a kill or a rerun safe:

  data  <address>   written just before the message's DATA goes to the server
  sent  <address>   written when the server has answered 250 for it
  failed <address>  the server refused it (nothing was delivered; a rerun tries again)

A rerun skips everyone with `sent` and sends to everyone with nothing or `failed`. An address whose last line
is `data` is uncertain: the run stopped between handing the message over and hearing the answer, and no
SMTP client can know whether it was delivered. Such an address is neither resent nor dropped silently: the
run names it and exits 1, and the producer, having checked the server's log, reruns with
`--uncertain resend` (it was not delivered) or `--uncertain sent` (it was). Message-IDs are deterministic
(week, language, address), so even a resend is recognisably the same message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

from markupsafe import escape

from radio import fsutil
from radio.station import Station
from radio.errors import RadioError
from radio.mail import headers
from radio.mail import subscribers as subs
from radio.mail.subscribers import _secret, unsubscribe_token  # noqa: F401 (the bulletin's own names for them)
from radio.i18n import day_month_year, gettext
from radio.mail.bulletin import fingerprint, out_paths
from radio.mail.bulletin import title as bulletin_title
from radio.mail.secrets import credentials


@dataclass
class Outgoing:
    subscriber: subs.Subscriber
    message_id: str
    data: bytes


@dataclass
class SendResult:
    sent: list[subs.Subscriber] = field(default_factory=list)
    already: list[subs.Subscriber] = field(default_factory=list)
    uncertain: list[subs.Subscriber] = field(default_factory=list)
    failed: list[tuple[subs.Subscriber, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"uncertain: line {s.line} ({s.organisation}): stopped before the server answered"
               for s in self.uncertain]
        out += [f"failed: line {s.line} ({s.organisation}): {why}" for s, why in self.failed]
        if self.written:
            out.append(f"dry run: wrote {len(self.written)} messages into "
                       f"{self.written[0].parent.relative_to(self.written[0].parents[3])}/ (nothing sent)")
        else:
            out.append(f"{len(self.sent)} sent, {len(self.already)} already sent, {len(self.uncertain)} uncertain, "
                       f"{len(self.failed)} failed")
        return out

    def outcome(self, week: str) -> RadioError | None:
        """Why the run must exit 1 (messages that may not have arrived, or were refused), or None."""
        if self.uncertain:
            return RadioError(f"{len(self.uncertain)} message(s) may or may not have arrived",
                              fix=f"check the server's log, then `radio send {week} --uncertain resend` "
                                  "(not delivered) or `--uncertain sent` (delivered)")
        if self.failed:
            return RadioError(f"{len(self.failed)} message(s) were refused",
                              fix=f"correct them and run `radio send {week}` again")
        return None


# --- the messages ---------------------------------------------------------------------------------------

def _from_address(station: Station) -> str:
    return station.config.mail.from_address or station.config.station.email


def message_id(station: Station, week: str, language: str, address: str) -> str:
    """Stable for a subscriber's copy (a resend is the same message), keyed with the station's secret: a plain
    hash of the address could be checked against a guessed list of addresses by anyone who sees the ID."""
    h = hmac.new(_secret(station), f"message-id\n{week}\n{language}\n{address.strip().lower()}".encode(),
                 hashlib.sha256).hexdigest()[:20]
    return f"<bulletin.{week}.{language}.{h}@{_from_address(station).rsplit('@', 1)[1]}>"


def _bulletin_for(station: Station, week: str, language: str) -> Station:
    """The edition whose bulletin a subscriber gets: their language's (pt-BR also takes pt) if it was made,
    else the station's own."""
    editions = station.editions()
    want = language.lower()
    ranked = [e for e in editions if e.language.lower() == want] + \
             [e for e in editions if e.language.lower().split("-")[0] == want.split("-")[0]] + editions[:1]
    for ed in ranked:
        html, text, _ = out_paths(ed, week)
        if html.is_file() and text.is_file():
            return ed
    html, _, _ = out_paths(editions[0], week)
    raise RadioError(f"no bulletin for {week} yet", where=html, fix=f"run `radio bulletin {week}` first")


DKIM_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
                b"list-unsubscribe-post", b"content-type", b"mime-version"]


def dkim_key(station: Station) -> bytes | None:
    selector = station.config.mail.dkim_selector
    if not selector:
        return None
    from radio.keys import store  # encrypted to the editors on a sealed station
    path = store.where(station, "dkim.pem")
    if not store.exists(station, "dkim.pem"):
        raise RadioError(f"[mail] dkim_selector is {selector!r} but there is no signing key", where=path,
                         fix="put the PEM private key there (its public half is published at "
                             f"{selector}._domainkey.<your domain>), or remove dkim_selector")
    return store.read_bytes(station, "dkim.pem", "signing the bulletin (DKIM)")


def sign(station: Station, data: bytes, key: bytes) -> bytes:
    """A DKIM-Signature over the headers RFC 8058 needs signed (List-Unsubscribe and -Post among them)."""
    import dkim
    domain = _from_address(station).rsplit("@", 1)[1]
    selector = station.config.mail.dkim_selector or ""
    try:
        sig = dkim.sign(data, selector.encode(), domain.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=DKIM_HEADERS)
    except dkim.DKIMException as e:
        raise RadioError(f"cannot sign with the DKIM key: {e}", where=station.private_dir / "dkim.pem",
                         fix="use an RSA private key in PEM form") from None
    return sig + data


def build_message(station: Station, week: str, sub: subs.Subscriber) -> Outgoing:
    ed = _bulletin_for(station, week, sub.language)
    cfg, lang = ed.config, ed.language
    html_path, text_path, pdf_path = out_paths(ed, week)
    title = bulletin_title(ed)
    when = station.air_datetime(week)
    token = unsubscribe_token(station, sub.address)
    url = cfg.mail.unsubscribe_url.replace("{token}", token)
    links = [f"<{url}>"]
    if cfg.mail.unsubscribe_mailto:
        links.append(f"<mailto:{cfg.mail.unsubscribe_mailto}?subject={urllib.parse.quote('unsubscribe ' + token)}>")
    mid = message_id(station, week, lang, sub.address)
    sender = _from_address(station)

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = email.utils.formataddr((cfg.station.name, sender))
    msg["To"] = email.utils.formataddr((sub.organisation, sub.address))
    msg["Subject"] = f"{title}, {day_month_year(lang, when.date())}"
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = mid
    msg["List-Id"] = f"{title} <bulletin.{cfg.show.slug}.{sender.rsplit('@', 1)[1]}>"
    msg["List-Unsubscribe"] = ", ".join(links)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: one click, no confirmation page
    text = text_path.read_text(encoding="utf-8")
    text += "\n-- \n" + gettext(lang, "Sent to {organisation}. To stop receiving this bulletin: {url}").format(
        organisation=sub.organisation, url=url) + "\n"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if sub.format in ("html", "pdf"):
        page = html_path.read_text(encoding="utf-8")
        foot = ('<p style="font-size: 12px; color: #555555; padding: 8px 20px;">'
                + escape(gettext(lang, "Sent to {organisation}.").format(organisation=sub.organisation))
                + f' <a href="{escape(url)}">{escape(gettext(lang, "Stop receiving this bulletin"))}</a>.</p>')
        page = page.replace("</body>", foot + "\n</body>", 1) if "</body>" in page else page + foot
        msg.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    if sub.format == "pdf":
        if not pdf_path.is_file():
            raise RadioError("no PDF of the bulletin", where=pdf_path, fix=f"run `radio bulletin {week}` again")
        msg.add_attachment(pdf_path.read_bytes(), maintype="application", subtype="pdf",
                           filename=f"{cfg.show.slug}-bulletin-{week}.pdf")
    msg["Content-Language"] = lang  # last: set_content and add_alternative move Content-* headers into parts
    n = 0
    for part in msg.walk():  # fixed boundaries: the same bulletin for the same subscriber is the same bytes
        if part.is_multipart():
            n += 1
            part.set_boundary(f"=_radio_{mid.strip('<>').split('@')[0].rsplit('.', 1)[-1]}_{n}")
    return Outgoing(sub, mid, msg.as_bytes(policy=headers.SMTP))  # List-Unsubscribe stays a link


# --- the journal ---------------------------------------------------------------------------------------

def journal_path(station: Station, week: str) -> Path:
    return station.private_dir / "send" / f"{week}.jsonl"


class Journal:
    """Append-only, fsynced per event; through radio.keys.store, so on a sealed station each line is encrypted
    to the editors on its own (appending needs no key; resuming a send reads it with the editor's)."""

    def __init__(self, path: Path, bulletin: str, station: Station | None = None, name: str | None = None):
        from radio.keys import store
        self.path = path
        self.station = station
        self.name = name or f"send/{path.name}"
        self.state: dict[str, str] = {}
        started = None
        for raw in store.read_lines(station, self.name, "resuming a send"):
            try:
                e = json.loads(raw)
            except ValueError:  # a line cut short by a crash: the event it began never completed
                continue
            if e.get("event") == "begin":
                started = started or e.get("bulletin")
            elif "to" in e:
                self.state[e["to"]] = e["event"]
        if started and started != bulletin:
            raise RadioError("the bulletin changed after sending began: some subscribers have the earlier one",
                             where=path, fix="send the change as next week's bulletin, or move the journal away "
                                             "to send this version to everyone again")
        if not started:
            self.write("begin", bulletin=bulletin)

    def write(self, event: str, **fields) -> None:
        from radio.keys import store
        store.append_line(self.station, self.name, json.dumps({"event": event, **fields}, ensure_ascii=False))

    def mark(self, event: str, address: str, **fields) -> None:
        self.state[address.lower()] = event
        self.write(event, to=address.lower(), **fields)

    def close(self) -> None:
        pass


def _send_lock(station: Station, week: str):
    path = station.send_lock_path(week)
    return fsutil.locked(path, lambda: RadioError(f"another send of {week} is running", where=path,
                                                  fix="wait for it to finish"), private=True)




# --- SMTP ---------------------------------------------------------------------------------------------

class Connection:
    def __init__(self, station: Station):
        self.station = station
        self.conn: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.conn is not None:
            return self.conn
        m = self.station.config.mail
        where = f"smtp {m.smtp_host}:{m.smtp_port}"
        ctx = ssl.create_default_context()
        local = _from_address(self.station).rsplit("@", 1)[1]
        try:
            if m.smtp_security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(m.smtp_host, m.smtp_port, local_hostname=local, context=ctx,
                                                      timeout=60)
            else:
                conn = smtplib.SMTP(m.smtp_host, m.smtp_port, local_hostname=local, timeout=60)
                conn.ehlo()
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise RadioError("the server does not offer STARTTLS", where=where,
                                     fix="use a server that does, or smtp_security = \"tls\" on its TLS port")
                conn.starttls(context=ctx)
                conn.ehlo()
            creds = credentials(self.station, "smtp", required=False)
            if creds:
                conn.login(*creds)
        except ssl.SSLError as e:
            raise RadioError(f"TLS with the SMTP server failed: {e.reason or e}", where=where,
                             fix="check the server's certificate (SSL_CERT_FILE names a private CA)") from None
        except smtplib.SMTPAuthenticationError:
            raise RadioError("the SMTP server refused the login", where=where,
                             fix="check RADIO_SMTP_USER / RADIO_SMTP_PASSWORD or private/mail-credentials.toml") \
                from None
        except (OSError, smtplib.SMTPException) as e:
            raise RadioError(f"cannot reach the SMTP server: {e}", where=where,
                             fix="check [mail] smtp_host, smtp_port and smtp_security in radio.toml") from None
        self.conn = conn
        return conn

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    def quit(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.conn = None


def _envelope(conn: smtplib.SMTP, sender: str, rcpt: str) -> None:
    code, resp = conn.mail(sender)
    if code != 250:
        conn.rset()
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    code, resp = conn.rcpt(rcpt)
    if code not in (250, 251):
        conn.rset()
        raise smtplib.SMTPRecipientsRefused({rcpt: (code, resp)})


def send(station: Station, week: str, *, dry_run: bool = False, uncertain: str | None = None,
         progress: Callable[[int, int], None] | None = None) -> SendResult:
    """Send WEEK's bulletin to every subscriber once; --dry-run writes the .eml files instead."""
    people = subs.load(station)  # a bad row stops everything here, before any message is made
    # one message of each language and format first: a missing bulletin or PDF stops the run before any send
    kinds = {}
    for s in people:
        kinds.setdefault((_bulletin_for(station, week, s.language).edition_id, s.format), s)
    for s in kinds.values():
        build_message(station, week, s)
    result = SendResult()
    if dry_run:
        from radio.keys import store  # encrypted to the editors on a sealed station
        for s in people:
            result.written.append(store.write_bytes(station, f"outbox/{week}/line-{s.line:04d}.eml",
                                                    build_message(station, week, s).data))
        return result
    key = dkim_key(station)
    if key:  # a bad key stops the run before any send
        sign(station, build_message(station, week, people[0]).data, key)
    editions = {_bulletin_for(station, week, s.language).edition_id: _bulletin_for(station, week, s.language)
                for s in people}
    bulletin_id = fingerprint(sorted(p for ed in editions.values() for p in out_paths(ed, week)[:2]))
    with _send_lock(station, week):
        journal = Journal(journal_path(station, week), bulletin_id, station, f"send/{week}.jsonl")
        return deliver_all(station, journal, people, lambda s: build_message(station, week, s),
                           uncertain=uncertain, progress=progress, result=result,
                           sent_id=lambda s: message_id(station, week, _bulletin_for(station, week, s.language).language,
                                                        s.address))


def deliver_all(station: Station, journal: Journal, people: list[subs.Subscriber],
                build: Callable[[subs.Subscriber], Outgoing], *, uncertain: str | None = None,
                progress: Callable[[int, int], None] | None = None, result: SendResult | None = None,
                sent_id: Callable[[subs.Subscriber], str] | None = None) -> SendResult:
    """The one send loop of every list (bulletin, digest, press): each person once, by the journal; a message
    left uncertain by a dropped connection is named, resent or confirmed as the producer says (`uncertain`);
    DKIM-signed when the station has a key; spaced to the configured rate, counted from the server's answer.
    Closes the journal."""
    result = result if result is not None else SendResult()
    key = dkim_key(station)
    interval = 60.0 / station.config.mail.rate_per_minute
    sender = _from_address(station)
    conn = Connection(station)
    last = None
    try:
        todo = []
        for s in people:
            state = journal.state.get(s.address.lower())
            if state == "sent":
                result.already.append(s)
            elif state == "data" and uncertain == "sent":
                journal.mark("sent", s.address, **({"id": sent_id(s)} if sent_id else {}),
                             note="confirmed by the producer")
                result.already.append(s)
            elif state == "data" and uncertain != "resend":
                result.uncertain.append(s)
            else:
                todo.append(s)
        for i, person in enumerate(todo, start=1):
            m = build(person)  # made when it is sent: a rerun makes only what it sends
            if key:
                m.data = sign(station, m.data, key)
            if last is not None:
                wait = last + interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            why = _deliver(conn, journal, sender, m)
            last = time.monotonic()  # counted from the server's answer: arrivals are spaced, not just starts
            if why:
                result.failed.append((person, why))
            else:
                result.sent.append(person)
                fsutil.fault_point(f"send-after-{len(result.sent)}")
            if progress:
                progress(i, len(todo))
    finally:
        conn.quit()
        journal.close()
    return result


def _deliver(conn: Connection, journal: Journal, sender: str, m: Outgoing) -> str | None:
    """One message: envelope, journal 'data', DATA, journal 'sent'. Returns why it failed, or None."""
    rcpt = m.subscriber.address
    for attempt in (1, 2):  # a dropped connection before DATA is harmless: reconnect once
        try:
            smtp = conn.open()
            _envelope(smtp, sender, rcpt)
            break
        except (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout):
            conn.drop()
            if attempt == 2:
                return "the connection dropped before the message was handed over"
        except smtplib.SMTPRecipientsRefused as e:
            code, resp = next(iter(e.recipients.values()))
            journal.mark("failed", rcpt, code=code)
            return f"recipient refused ({code} {resp.decode(errors='replace')[:80]})"
        except smtplib.SMTPSenderRefused as e:
            journal.mark("failed", rcpt, code=e.smtp_code)
            return f"sender refused ({e.smtp_code})"
    journal.mark("data", rcpt, id=m.message_id)
    fsutil.fault_point("send-in-data")
    try:
        code, resp = smtp.data(m.data)
    except smtplib.SMTPDataError as e:  # the server answered, and said no: nothing was delivered
        journal.mark("failed", rcpt, code=e.smtp_code)
        return f"message refused ({e.smtp_code} {e.smtp_error.decode(errors='replace')[:80]})"
    except (smtplib.SMTPServerDisconnected, OSError):
        conn.drop()  # no answer: stays 'data' (uncertain) in the journal
        raise RadioError(f"the connection dropped while sending to line {m.subscriber.line}",
                         fix="run `radio send` again; it will name the one message that may not have arrived")
    fsutil.fault_point("send-after-data")
    journal.mark("sent", rcpt, id=m.message_id, at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return None

"""The readers who signed themselves up: private/subscriptions.json, read and written only here.

One entry per address: the editions and lists (bulletin, digest, press) it wants, and its state:

  pending    asked, not yet confirmed: nothing is sent to it but the confirmation; it expires
  active     confirmed by the link in the confirmation message
  suspended  too many bounces ([subscriptions] max_bounces); shown to the producer, sent nothing
  left       unsubscribed (kept, so a late unsubscribe link still answers and nothing is sent again)

A confirmation token is 32 random bytes; only its SHA-256 is stored, it works once and only until the request
expires. Every read and write of the file goes through `load` and `save` (under a lock, atomically), so an
encrypted store can take their place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from radio import fsutil
from radio.errors import RadioError
from radio.station import Station

FILE = "subscriptions.json"
LISTS = ("bulletin", "digest", "press")
STATES = ("pending", "active", "suspended", "left")
RESEND_MINUTES = 10  # a second request for the same thing within this sends no second confirmation


@dataclass
class Entry:
    address: str
    editions: list[str]
    lists: list[str]
    state: str = "pending"
    requested: str = ""
    confirmed: str | None = None
    token_sha256: str | None = None  # the pending confirmation's token, hashed
    bounces: int = 0
    bounced: list[str] = field(default_factory=list)  # Message-IDs of the DSNs counted (each once)
    source: str = "web"  # web | desk | import
    want_editions: list[str] | None = None  # an active reader's new choice, until they confirm it
    want_lists: list[str] | None = None


def path(station: Station) -> Path:
    return station.private_dir / FILE


def now() -> dt.datetime:
    from radio.press.items import now as clock
    return clock()


def stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load(station: Station) -> dict[str, Entry]:
    """Every entry by lower-cased address."""
    p = path(station)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return {k: Entry(**v) for k, v in data.items()}
    except (ValueError, TypeError) as e:
        raise RadioError(f"the subscription list is damaged ({e})", where=p, fix="restore it from its backup") \
            from None


def save(station: Station, entries: dict[str, Entry]) -> None:
    p = path(station)
    p.parent.mkdir(parents=True, exist_ok=True)
    fsutil.write_text(p, json.dumps({k: asdict(v) for k, v in sorted(entries.items())}, ensure_ascii=False,
                                    indent=1) + "\n")
    p.chmod(0o600)


@contextmanager
def editing(station: Station) -> Iterator[dict[str, Entry]]:
    """Read, change and write back under one lock: two requests at once never lose one another's change."""
    lock = station.private_dir / ".subscriptions.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with fsutil.locked(lock, lambda: RadioError("the subscription list is busy", where=lock, fix="try again"),
                       wait=10.0):
        entries = load(station)
        yield entries
        save(station, entries)


def normalise_address(address: str) -> str:
    """The address as email-validator normalises it, or a RadioError naming it."""
    from email_validator import EmailNotValidError, validate_email
    if not isinstance(address, str) or any(c in address for c in "\r\n\t") or len(address) > 254:
        raise RadioError(f"{str(address)[:80]!r} is not an e-mail address", fix="give one address, e.g. "
                                                                                "reader@example.org")
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise RadioError(f"{address.strip()[:80]!r} is not an e-mail address: {e}",
                         fix="give one address, e.g. reader@example.org") from None


def check_choice(station: Station, editions: list[str], lists: list[str]) -> tuple[list[str], list[str]]:
    known = station.full_config.edition_ids
    bad = [e for e in editions if e not in known]
    if bad or not editions:
        raise RadioError(f"edition {bad[0] if bad else '(none)'!r} is not one of this station's",
                         fix=f"choose from: {', '.join(known)}")
    badl = [x for x in lists if x not in LISTS]
    if badl or not lists:
        raise RadioError(f"list {badl[0] if badl else '(none)'!r} is not one we send", fix=f"choose from: {', '.join(LISTS)}")
    return sorted(set(editions), key=known.index), sorted(set(lists), key=LISTS.index)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expired(station: Station, e: Entry, t: dt.datetime) -> bool:
    return e.state == "pending" and _too_old(station, e, t)


def request(station: Station, address: str, editions: list[str], lists: list[str]) -> tuple[Entry, str | None]:
    """A reader asks to subscribe. Returns the entry and a new confirmation token to mail, or None when nothing
    is to be sent (already subscribed to exactly that: asking twice changes nothing)."""
    addr = normalise_address(address)
    editions, lists = check_choice(station, editions, lists)
    t = now()
    with editing(station) as entries:
        e = entries.get(addr.lower())
        if e is not None and e.state == "active" and e.editions == editions and e.lists == lists:
            return e, None
        if e is not None and e.state == "suspended":
            raise RadioError(f"{addr} is suspended after {e.bounces} bounced messages",
                             fix="ask the station to check the address")
        if e is not None and e.state == "pending" and e.editions == editions and e.lists == lists and \
                t - _when(e.requested) < dt.timedelta(minutes=RESEND_MINUTES):
            return e, None  # asked again at once: one confirmation mail is enough (no mail-bombing an address)
        token = secrets.token_urlsafe(32)
        if e is None or e.state != "active":
            e = Entry(addr, editions, lists, "pending", stamp(t))
        else:  # an active reader changing their choice confirms it too; until then the old choice stands
            e.want_editions, e.want_lists = editions, lists
        e.requested, e.token_sha256 = stamp(t), _hash(token)
        entries[addr.lower()] = e
        return e, token


def confirm(station: Station, token: str) -> Entry:
    """The link in the confirmation message: works once, and only before the request expires."""
    h = _hash(token or "")
    t = now()
    with editing(station) as entries:
        e = next((x for x in entries.values() if x.token_sha256 and secrets.compare_digest(x.token_sha256, h)), None)
        if e is None:
            raise RadioError("this confirmation link is not valid (used already, or never issued)",
                             fix="subscribe again to get a new link")
        if _expired(station, e, t) or (e.state == "active" and _too_old(station, e, t)):
            e.token_sha256 = None
            raise RadioError("this confirmation link has expired", fix="subscribe again to get a new link")
        if e.want_editions and e.want_lists:
            e.editions, e.lists = e.want_editions, e.want_lists
        e.want_editions = e.want_lists = None
        e.state, e.confirmed, e.token_sha256 = "active", stamp(t), None
        return e


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _too_old(station: Station, e: Entry, t: dt.datetime) -> bool:
    return _when(e.requested) + dt.timedelta(hours=station.full_config.subscriptions.confirm_hours) <= t


def expire(station: Station) -> list[str]:
    """Drop the requests never confirmed in time. Returns their addresses."""
    t = now()
    with editing(station) as entries:
        gone = [k for k, e in entries.items() if _expired(station, e, t)]
        for k in gone:
            del entries[k]
    return gone


def leave(station: Station, address: str) -> bool:
    """Unsubscribe (one click): True when the address was subscribed. Idempotent."""
    key = address.strip().lower()
    with editing(station) as entries:
        e = entries.get(key)
        if e is None or e.state == "left":
            return False
        e.state, e.token_sha256 = "left", None
        return True


def by_unsubscribe_token(station: Station, token: str) -> Entry | None:
    """The entry an unsubscribe link's token names (the bulletin's HMAC of the address)."""
    from radio.mail.send import unsubscribe_token
    for e in load(station).values():
        if secrets.compare_digest(unsubscribe_token(station, e.address), token):
            return e
    return None


def add(station: Station, address: str, editions: list[str], lists: list[str], source: str = "desk") -> Entry:
    """The desk adds a reader who asked in person or on paper: active at once."""
    addr = normalise_address(address)
    editions, lists = check_choice(station, editions, lists)
    with editing(station) as entries:
        e = Entry(addr, editions, lists, "active", stamp(now()), stamp(now()), source=source)
        entries[addr.lower()] = e
        return e


def remove(station: Station, address: str) -> None:
    key = normalise_address(address).lower()
    with editing(station) as entries:
        if key not in entries:
            raise RadioError(f"{address} is not on the subscription list", fix="see `radio subscribers list`")
        del entries[key]


def bounce(station: Station, address: str, message_id: str) -> Entry | None:
    """Count one bounce (a DSN, once per Message-ID); suspend after [subscriptions] max_bounces."""
    key = address.strip().lower()
    limit = station.full_config.subscriptions.max_bounces
    with editing(station) as entries:
        e = entries.get(key)
        if e is None or message_id in e.bounced:
            return e
        e.bounced.append(message_id)
        e.bounces += 1
        if e.bounces >= limit and e.state == "active":
            e.state = "suspended"
        return e


def recipients(station: Station, list_name: str, edition: str | None = None) -> list[Entry]:
    """Who gets a list now: confirmed, not suspended, not left; for one edition when named."""
    return [e for _, e in sorted(load(station).items())
            if e.state == "active" and list_name in e.lists and (edition is None or edition in e.editions)]

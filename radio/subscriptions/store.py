"""The readers who signed themselves up: private/subscriptions.json, read and written only here.

One entry per address: the editions and lists (bulletin, digest, press) it wants, and its state:

  pending    asked, not yet confirmed: nothing is sent to it but the confirmation; it expires
  active     confirmed by the link in the confirmation message
  suspended  too many bounces ([subscriptions] max_bounces); shown to the producer, sent nothing
  left       unsubscribed (kept, so a late unsubscribe link still answers and nothing is sent again)

A confirmation token is 32 random bytes; only its SHA-256 is stored, it works once and only until the request
expires. Every read and write of the list goes through `load` and `save` (under a lock, atomically).

On a sealed station (radio.keys) the public routes of the desk write the list with no editor's key, so it is kept
in two parts. private/readers.json holds each entry under a random id with everything the routes look up, and no
address: editions, lists, state, dates, the confirmation token's SHA-256, and `leave_sha256`, the SHA-256 of the
reader's unsubscribe token (an HMAC of the address under the station's unsubscribe key, itself sealed). Each
address is appended to private/readers.jsonl.ages, encrypted to the editors' public keys (which needs no key
to write). Subscribing, confirming and leaving by a mail's link need no address; an editor's key opens the
addresses (to list, send, add, remove), fills in `leave_sha256` before any message carries a leave link, and
folds two entries of one address into the latest. Before a station is sealed the list is one plain file, as
the rest of private/ is; `radio keys init` and `radio keys seal` convert it.
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
INDEX = "readers.json"  # sealed station: the entries without their addresses (nothing private: see above)
ADDRESSES = "readers.jsonl"  # sealed station: {"id", "address"} a line, each line sealed (radio.keys.store)
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
    id: str = ""  # sealed station: the entry's random id (the address is sealed apart)
    leave_sha256: str | None = None  # sealed station: SHA-256 of the address's unsubscribe token
    changed: str = ""  # when it last became active, left or suspended (the latest entry of an address wins)


def path(station: Station) -> Path:
    return station.private_dir / FILE


def now() -> dt.datetime:
    from radio.press.items import now as clock
    return clock()


def stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sealed(station: Station) -> bool:
    from radio.keys import editors
    return editors.sealed(station)


def load(station: Station, what: str | None = None) -> dict[str, Entry]:
    """Every entry: by lower-cased address, or on a sealed station by id (with its address when an editor's key
    is unlocked, else ""; `what` makes the key required and names what needs it)."""
    if sealed(station):
        return _load_sealed(station, what)
    p = path(station)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return {k: Entry(**v) for k, v in data.items()}
    except (ValueError, TypeError) as e:
        raise RadioError(f"the subscription list is damaged ({e})", where=p, fix="restore it from its backup") \
            from None


def _load_sealed(station: Station, what: str | None) -> dict[str, Entry]:
    from radio.keys import keyring
    from radio.keys import store as private
    p = station.private_dir / INDEX
    entries: dict[str, Entry] = {}
    if p.is_file():
        try:
            entries = {k: Entry(**v) for k, v in json.loads(p.read_text(encoding="utf-8")).items()}
        except (ValueError, TypeError) as e:
            raise RadioError(f"the readers' list is damaged ({e})", where=p, fix="restore it from its backup") \
                from None
    if keyring.current(what) is None:
        return entries
    for line in private.read_lines(station, ADDRESSES, what or "reading the readers' addresses"):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        e = entries.get(rec.get("id", "")) if isinstance(rec, dict) else None
        if e is not None:
            e.address = str(rec.get("address") or "")
    _tidy(station, entries)
    return entries


def _tidy(station: Station, entries: dict[str, Entry]) -> None:
    """With the addresses open: the unsubscribe digests filled in, and one entry kept of each address that is
    no longer pending (suspended first, else the latest change: a newer subscription or a later leave)."""
    from radio.mail.send import unsubscribe_token
    by_address: dict[str, list[str]] = {}
    for k, e in entries.items():
        if not e.address:
            continue
        if e.leave_sha256 is None:
            e.leave_sha256 = _hash(unsubscribe_token(station, e.address))
        if e.state != "pending":
            by_address.setdefault(e.address.lower(), []).append(k)
    for keys in by_address.values():
        if len(keys) > 1:
            best = max(keys, key=lambda k: (entries[k].state == "suspended", entries[k].changed or
                                            entries[k].confirmed or entries[k].requested))
            for k in keys:
                if k != best:
                    del entries[k]


def save(station: Station, entries: dict[str, Entry]) -> None:
    if sealed(station):
        p = station.private_dir / INDEX
        index = {k: {**asdict(v), "address": ""} for k, v in sorted(entries.items())}
        fsutil.write_text(p, json.dumps(index, ensure_ascii=False, indent=1) + "\n", private=True)
        return
    p = path(station)
    p.parent.mkdir(parents=True, exist_ok=True)
    fsutil.write_text(p, json.dumps({k: asdict(v) for k, v in sorted(entries.items())}, ensure_ascii=False,
                                    indent=1) + "\n")
    p.chmod(0o600)


def _put(station: Station, entries: dict[str, Entry], e: Entry) -> None:
    """A new entry: under its address, or on a sealed station under a new id, its address sealed apart."""
    if not sealed(station):
        entries[e.address.lower()] = e
        return
    from radio.keys import store as private
    e.id = secrets.token_hex(16)
    private.append_line(station, ADDRESSES, json.dumps({"id": e.id, "address": e.address}, ensure_ascii=False))
    e.leave_sha256 = _leave_hash(station, e.address)
    entries[e.id] = e


def _leave_hash(station: Station, address: str) -> str | None:
    """SHA-256 of the address's unsubscribe token, if the unsubscribe key can be read here (else an editor's
    key fills it in before anything is sent)."""
    from radio.mail.send import unsubscribe_token
    try:
        return _hash(unsubscribe_token(station, address))
    except RadioError:
        return None


def place(station: Station, entries: dict[str, Entry], e: Entry) -> None:
    """Put an entry in the list (inside `editing`), in place of the address's entry if it has one."""
    key = _find(entries, e.address)
    if key is not None:
        del entries[key]
    _put(station, entries, e)


def _find(entries: dict[str, Entry], address: str) -> str | None:
    """The key of the entry for an address (the latest, if a sealed list has two not yet folded)."""
    found = [k for k, e in entries.items() if e.address and e.address.lower() == address.strip().lower()]
    return max(found, key=lambda k: (entries[k].state != "pending", entries[k].changed or entries[k].requested)) \
        if found else None


def migrate(station: Station) -> int:
    """Turn a readers' list kept whole (plain, or sealed whole before it was split) into the sealed form: run by
    `radio keys init` and `radio keys seal` once the editors are known. The number of entries moved. A plain list
    needs only the editors' public keys; one sealed whole needs an editor's key (left as it is without)."""
    from radio.keys import keyring
    from radio.keys import store as private
    if not sealed(station):
        return 0
    if path(station).is_file():
        raw = path(station).read_bytes()
    elif private.sealed_path(station, FILE).is_file() and keyring.current(None) is not None:
        raw = private.read_bytes(station, FILE, "converting the readers' list")
    else:
        return 0
    try:
        old = {k: Entry(**v) for k, v in json.loads(raw.decode("utf-8")).items()}
    except (ValueError, TypeError) as e:
        raise RadioError(f"the subscription list is damaged ({e})", where=private.where(station, FILE),
                         fix="restore it from its backup") from None
    with editing(station) as entries:
        for e in old.values():
            e.changed = e.changed or e.confirmed or e.requested
            _put(station, entries, e)
    private.remove(station, FILE)
    return len(old)


@contextmanager
def editing(station: Station, what: str | None = None) -> Iterator[dict[str, Entry]]:
    """Read, change and write back under one lock: two requests at once never lose one another's change."""
    lock = station.private_dir / ".subscriptions.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with fsutil.locked(lock, lambda: RadioError("the subscription list is busy", where=lock, fix="try again"),
                       wait=10.0, private=True):
        entries = load(station, what)
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
        key = _find(entries, addr)
        e = entries.get(key) if key else None
        if e is None and sealed(station) and _recent(addr, editions, lists, t):
            return Entry(addr, editions, lists), None  # the addresses are sealed: this process remembers, briefly
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
            e.requested, e.token_sha256 = stamp(t), _hash(token)
            if key is not None:
                del entries[key]
            _put(station, entries, e)
        else:  # an active reader changing their choice confirms it too; until then the old choice stands
            e.want_editions, e.want_lists = editions, lists
            e.requested, e.token_sha256 = stamp(t), _hash(token)
        if sealed(station):
            _ASKED[_memo(addr)] = (t, editions, lists)
        return e, token


_ASKED: dict[str, tuple] = {}  # sealed station: recent requests by a keyed digest, in this process's memory only
_MEMO_KEY = secrets.token_bytes(32)  # made at start, never written: the digests mean nothing outside this process


def _memo(address: str) -> str:
    import hmac
    return hmac.new(_MEMO_KEY, address.strip().lower().encode(), hashlib.sha256).hexdigest()


def _recent(address: str, editions: list[str], lists: list[str], t: dt.datetime) -> bool:
    """The same request from the same address a moment ago (one confirmation mail is enough)."""
    for k, (when, _, _) in list(_ASKED.items()):
        if t - when >= dt.timedelta(minutes=RESEND_MINUTES):
            del _ASKED[k]
    seen = _ASKED.get(_memo(address))
    return seen is not None and seen[1] == editions and seen[2] == lists


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
        e.state, e.confirmed, e.token_sha256, e.changed = "active", stamp(t), None, stamp(t)
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
        out = [entries[k].address or "(sealed)" for k in gone]
        for k in gone:
            del entries[k]
    return out


def leave(station: Station, address: str) -> bool:
    """Unsubscribe (one click): True when the address was subscribed. Idempotent."""
    with editing(station, "changing the readers' list" if sealed(station) else None) as entries:
        key = _find(entries, address)
        e = entries.get(key) if key else None
        if e is None or e.state == "left":
            return False
        e.state, e.token_sha256, e.changed = "left", None, stamp(now())
        return True


def leave_by_token(station: Station, token: str) -> str | None:
    """Unsubscribe by a mail's leave link: "removed", "already" (left before) or None (the token names no
    reader). On a sealed station by the token's SHA-256 alone: no key, no address."""
    if not sealed(station):
        e = by_unsubscribe_token(station, token)
        return None if e is None else ("removed" if leave(station, e.address) else "already")
    h = _hash(token or "")
    with editing(station) as entries:
        found = [e for e in entries.values() if e.leave_sha256 and secrets.compare_digest(e.leave_sha256, h)]
        if not found:
            return None
        out = "already"
        for e in found:
            if e.state != "left":
                e.state, e.token_sha256, e.changed, out = "left", None, stamp(now()), "removed"
        return out


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
    with editing(station, "adding a reader" if sealed(station) else None) as entries:
        e = Entry(addr, editions, lists, "active", stamp(now()), stamp(now()), source=source, changed=stamp(now()))
        place(station, entries, e)
        return e


def remove(station: Station, address: str) -> None:
    addr = normalise_address(address)
    with editing(station, "removing a reader" if sealed(station) else None) as entries:
        key = _find(entries, addr)
        if key is None:
            raise RadioError(f"{address} is not on the subscription list", fix="see `radio subscribers list`")
        del entries[key]


def bounce(station: Station, address: str, message_id: str) -> Entry | None:
    """Count one bounce (a DSN, once per Message-ID); suspend after [subscriptions] max_bounces."""
    limit = station.full_config.subscriptions.max_bounces
    with editing(station, "counting bounces" if sealed(station) else None) as entries:
        key = _find(entries, address)
        e = entries.get(key) if key else None
        if e is None or message_id in e.bounced:
            return e
        e.bounced.append(message_id)
        e.bounces += 1
        if e.bounces >= limit and e.state == "active":
            e.state, e.changed = "suspended", stamp(now())
        return e


def recipients(station: Station, list_name: str, edition: str | None = None) -> list[Entry]:
    """Who gets a list now: confirmed, not suspended, not left; for one edition when named."""
    if sealed(station):  # opened with an editor's key, and saved: every leave link sent is then known
        with editing(station, "sending to the readers") as entries:
            rows = sorted(entries.values(), key=lambda e: (e.address.lower(), e.id))
    else:
        rows = [e for _, e in sorted(load(station).items())]
    return [e for e in rows
            if e.state == "active" and list_name in e.lists and (edition is None or edition in e.editions)]

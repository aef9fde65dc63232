"""Bounces: delivery status notifications (RFC 3464) in a Maildir, counted against the subscription list.

Each DSN counts once (by its Message-ID) for every recipient it reports as failed; an address reaching
[subscriptions] max_bounces is suspended (store.bounce). Anything else in the folder is left alone.
"""

from __future__ import annotations

import email
import mailbox
from email import policy
from pathlib import Path

from radio.errors import RadioError
from radio.mail import headers
from radio.station import Station


def failed_recipients(msg) -> list[str]:
    """The addresses a DSN says could not be delivered to (Action: failed)."""
    if not headers.is_dsn(msg):
        return []
    out = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:  # the first block is per message, the rest one per recipient
            action = str(block.get("Action", "")).strip().lower()
            final = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
            if action == "failed" and ";" in final:
                out.append(final.split(";", 1)[1].strip().strip("<>"))
    return out


def scan(station: Station, maildir: str | Path) -> list[tuple[str, int, str]]:
    """(address, bounces, state) for every subscriber a DSN in MAILDIR names."""
    from radio.subscriptions import store
    folder = Path(maildir)
    if not (folder / "cur").is_dir() and not (folder / "new").is_dir():
        raise RadioError("not a Maildir (no cur/ or new/)", where=folder, fix="name the folder that holds cur/ and new/")
    box = mailbox.Maildir(str(folder), factory=None, create=False)
    seen: dict[str, tuple[str, int, str]] = {}
    for key in sorted(box.keys()):
        with box.get_file(key) as f:
            msg = email.message_from_binary_file(f, policy=policy.compat32)
        for row in count(station, msg, str(msg.get("Message-ID", "")).strip() or key):
            seen[row[0].lower()] = row
    return [seen[k] for k in sorted(seen)]


def count(station: Station, msg, mid: str) -> list[tuple[str, int, str]]:
    """Count one DSN (once, by its Message-ID) for each recipient it reports failed: (address, bounces, state)
    of each subscriber it names. `radio intake` gives it every DSN that arrives with the correspondents' mail."""
    from radio.subscriptions import store
    out = []
    for addr in failed_recipients(msg):
        e = store.bounce(station, addr, mid)
        if e is not None:
            out.append((e.address, e.bounces, e.state))
    return out

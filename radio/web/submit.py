"""The correspondent's submission form, made on SecureDrop's lessons.

Nothing about the sender's connection is looked at or kept: no address, no user agent, no headers. A sender
without an account gets a codename on the spot, shown once; only its HMAC (with the desk key) is stored, and
it is what links the report to the replies the desk writes back. The report is filed by intake's own filing
(radio.mail.intake.file_submission), so it is the same unverified report a message would have made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import zoneinfo
from pathlib import Path

from radio import fsutil
from radio.errors import RadioError
from radio.station import Station

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o or 1/l to misread
CODENAME = re.compile(r"[a-z2-9]{5}(?:-[a-z2-9]{5}){4}")
MAX_FILES = 5
MAX_TITLE = 200
MAX_TEXT = 50_000


def new_codename() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(5))  # 125 bits


def normal(codename: str) -> str | None:
    c = "-".join(codename.strip().lower().replace(" ", "-").split("-"))
    c = re.sub(r"-+", "-", c)
    return c if CODENAME.fullmatch(c) else None


def mailbox_id(key: bytes, who: str) -> str:
    return hmac.new(key, who.encode(), hashlib.sha256).hexdigest()[:32]


def _box(station: Station, box: str) -> Path:
    return station.private_dir / "desk" / "replies" / f"{box}.json"


def _read(station: Station, box: str) -> dict:
    p = _box(station, box)
    if not p.is_file():
        return {"reports": [], "replies": []}
    return json.loads(p.read_text(encoding="utf-8"))


def _write(station: Station, box: str, data: dict) -> None:
    p = _box(station, box)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(p.parent, 0o700)
    fsutil.write_text(p, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    os.chmod(p, 0o600)


def _lock(station: Station):
    return fsutil.locked(station.private_dir / "desk" / ".replies.lock",
                         lambda: RadioError("the desk is busy", fix="send it again"), wait=10)


def this_week(station: Station) -> tuple[str, dt.date]:
    today = dt.datetime.now(zoneinfo.ZoneInfo(station.config.show.timezone)).date()
    y, w, _ = today.isocalendar()
    return f"{y}-W{w:02d}", today


def submit(station: Station, box: str, title: str, text: str, attachments: list[tuple[str, bytes]],
           account: str | None = None) -> str:
    from radio.mail.intake import file_submission
    title, text = " ".join(title.split()), text.replace("\r\n", "\n").strip()
    if not text:
        raise RadioError("the report has no text", fix="write what happened, then send it")
    if len(title) > MAX_TITLE or len(text) > MAX_TEXT:
        raise RadioError("the report is too long", fix=f"keep the title under {MAX_TITLE} and the text under "
                                                       f"{MAX_TEXT} characters; send the rest as a second report")
    limit = int(station.config.mail.max_attachment_mb * 1_000_000)
    if len(attachments) > MAX_FILES:
        raise RadioError(f"{len(attachments)} attachments", fix=f"send at most {MAX_FILES} with one report")
    for name, data in attachments:
        if len(data) > limit:
            raise RadioError(f"an attachment of {len(data) / 1e6:.2f} MB is over the {limit / 1e6:g} MB limit",
                             fix="send a smaller file, or split it")
    week, today = this_week(station)
    private = {"channel": "desk submission form", "reply_box": box}
    if account:
        private["account"] = account
    rid = file_submission(station, week, submission_id=secrets.token_hex(12), title=title or " ".join(text.split()[:8]),
                          body=text, received=today, private=private, attachments=attachments,
                          source="desk submission form")
    with _lock(station):
        data = _read(station, box)
        data["reports"].append(rid)
        _write(station, box, data)
    return rid


def reply(station: Station, box: str, report_id: str, text: str) -> None:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise RadioError("the reply is empty", fix="write the reply")
    with _lock(station):
        data = _read(station, box)
        at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        data["replies"].append({"at": at, "report": report_id, "text": text[:MAX_TEXT]})
        _write(station, box, data)


def replies(station: Station, box: str) -> dict:
    p = _box(station, box)
    return _read(station, box) if p.is_file() else {"reports": [], "replies": []}


def exists(station: Station, box: str) -> bool:
    return _box(station, box).is_file()

"""Mailboxes: where intake's messages come from. A Maildir, an mbox file or an IMAP folder, each listed as
`Incoming` messages that are read when intake reads them (a file opened, or an IMAP message fetched a piece at a
time), never held whole."""

from __future__ import annotations

import imaplib
import io
import mailbox
import re
import ssl
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from radio.errors import RadioError
from radio.mail.secrets import credentials
from radio.station import Station


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

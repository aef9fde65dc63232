"""A message read as a stream: attachments decoded straight to files, everything else kept to be parsed.

A mail message can be as large as its sender likes. Intake reads it line by line, once: each attachment's body
is decoded (base64, quoted-printable or as it is) into its own file under a staging folder, counted as it
goes, and left out of the message that is kept in memory (the "head": every header and every text part,
with each attachment's headers and an empty body in its place). An attachment over the limit stops being
written; the rest of the message is still read to its end, but only counted. So memory depends on the size
of the text, never on the size of the attachments.

Which parts are attachments is decided the way intake decides it: a leaf part with `Content-Disposition:
attachment` or of any type but text/plain and text/html. Anything the scanner does not understand is kept in
the head as it is, where the standard library's parser judges it (a broken multipart is still caught as one).
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import BinaryIO

LINE_MAX = 1 << 16  # a line longer than this is read in pieces
FIRST_BYTES = 64 * 1024  # what a quarantine keeps of a message too large to keep whole


class TooLarge(Exception):
    pass


@dataclass
class Scan:
    head: bytes = b""
    files: list[Path] = field(default_factory=list)  # one per attachment, in order; None-free
    sizes: list[int] = field(default_factory=list)
    over: int | None = None  # the decoded size of the first attachment over the limit
    size: int = 0  # bytes read
    first: bytes = b""  # the first FIRST_BYTES of the message
    digest: str = ""  # sha256 of the sender-visible content: the body, after the top header block
    text_over: bool = False  # the kept text alone is over the head limit


class _Reader:
    """The message in blocks, handed out as lines (headers, text) or as runs of body up to the next delimiter
    (attachments: found with bytes.find, never line by line). Counts what it reads, keeps the first bytes, and
    digests the body as it is handed out."""

    BLOCK = 1 << 20

    def __init__(self, fp: BinaryIO, scan: Scan):
        self.fp = fp
        self.scan = scan
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.in_body = False
        self.body_hash = hashlib.sha256()
        self.held = b""  # trailing line breaks not yet digested: blank lines at the very end are no content
        self.again = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.fp.read(self.BLOCK)
        if not data:
            self.eof = True
            return False
        s = self.scan
        if len(s.first) < FIRST_BYTES:
            s.first += data[:FIRST_BYTES - len(s.first)]
        s.size += len(data)
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def _digest(self, data: bytes) -> None:
        # line endings (LF or CRLF, as a mailbox stores them) and blank lines at the end (as a server adds them)
        # are no part of the content
        if not self.in_body or not data:
            return
        data = (self.held + data).replace(b"\r\n", b"\n")
        body = data.rstrip(b"\r\n")
        self.held = data[len(body):]
        self.body_hash.update(body)

    def next(self) -> bytes:
        """One line with its line break; b"" at the end."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0 or len(self.buf) - self.pos >= LINE_MAX or not self._fill():
                end = i + 1 if i >= 0 else min(len(self.buf), self.pos + LINE_MAX)
                line = self.buf[self.pos:end]
                self.pos = end
                if self.again:
                    self.again = False
                else:
                    self._digest(line)
                return line

    def back(self, line: bytes) -> None:
        """Put back the line just read (a delimiter, for the multipart that owns it)."""
        self.pos -= len(line)
        self.again = True  # digested already: not again when it is read again

    def _delimiter_at(self, j: int, boundary: bytes) -> bool:
        k = j + 2 + len(boundary)
        if self.buf[j:k] != b"--" + boundary:
            return False
        after = self.buf[k:k + 1]
        return after in (b"-", b" ", b"\t", b"\r", b"\n") or (not after and self.eof)

    def _find(self, stack: list[bytes]) -> int | None:
        """Where the line break before the next delimiter line is, if it is in the buffer."""
        best = None
        for b in stack:
            at = self.pos
            while True:
                i = self.buf.find(b"\n--" + b, at)
                if i < 0 or (best is not None and i >= best):
                    break
                if self._delimiter_at(i + 1, b):
                    best = i
                    break
                at = i + 1
        return best

    def body(self, stack: list[bytes]):
        """Runs of an attachment's body up to the line break before the next delimiter of any open multipart
        (which is left to be read as a line), or to the end."""
        longest = max((len(b) for b in stack), default=0) + 6
        while len(self.buf) - self.pos < longest and self._fill():
            pass
        if any(self._delimiter_at(self.pos, b) for b in stack):
            return  # an empty body
        while True:
            i = self._find(stack)
            if i is not None:
                run = self.buf[self.pos:i]
                self.pos = i + 1
                self._digest(run + b"\n")
                yield run
                return
            safe = len(self.buf) - longest
            if safe > self.pos:
                run = self.buf[self.pos:safe]
                self.pos = safe
                self._digest(run)
                yield run
            if not self._fill():
                i = self._find(stack)
                run = self.buf[self.pos:i if i is not None else len(self.buf)]
                self.pos = i + 1 if i is not None else len(self.buf)
                self._digest(run + (b"\n" if i is not None else b""))
                if run:
                    yield run
                return


def _eol(line: bytes) -> tuple[bytes, bytes]:
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    return line, b""


def _headers(lines: _Lines) -> tuple[bytes, bool]:
    """A header block up to and with its blank line; False when the stream ended first."""
    block = bytearray()
    while True:
        line = lines.next()
        if not line:
            return bytes(block), False
        block += line
        if line in (b"\r\n", b"\n"):
            return bytes(block), True
        if len(block) > 4 * LINE_MAX * 16:
            return bytes(block), False


def _boundary_of(line: bytes, stack: list[bytes]) -> tuple[int, bool] | None:
    """(depth, closing) when the line is a delimiter of any open multipart."""
    if not line.startswith(b"--"):
        return None
    text = _eol(line)[0].rstrip(b" \t")
    for depth in range(len(stack) - 1, -1, -1):
        b = stack[depth]
        if text == b"--" + b:
            return depth, False
        if text == b"--" + b + b"--":
            return depth, True
    return None


class _Sink:
    """One attachment's body, decoded into its file and counted; past the limit only counted."""

    def __init__(self, path: Path, cte: str, limit: int):
        self.path = path
        self.cte = cte
        self.limit = limit
        self.size = 0
        self.carry = b""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f: BinaryIO | None = open(path, "wb")

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        if self.f is None:
            return
        if self.size > self.limit:
            self.f.close()
            self.f = None
            self.path.unlink(missing_ok=True)
            return
        self.f.write(data)

    def run(self, data: bytes) -> None:
        if self.cte == "base64":
            chunk = self.carry + data.translate(None, b" \t\r\n")
            if self.f is None:  # past the limit: count what the rest decodes to, do not decode it
                self.size += len(chunk.rstrip(b"=")) * 3 // 4
                self.carry = b""
                return
            keep = len(chunk) - len(chunk) % 4
            self.carry = chunk[keep:]
            if keep:
                try:
                    self._write(binascii.a2b_base64(chunk[:keep]))
                except binascii.Error:
                    pass
        elif self.cte == "quoted-printable":  # decoded by whole lines: a soft break may span two runs
            data = self.carry + data
            cut = data.rfind(b"\n") + 1
            self.carry = data[cut:]
            self._write(binascii.a2b_qp(data[:cut]))
        else:  # 7bit, 8bit, binary: the CR of the line break before a delimiter belongs to the delimiter
            data = self.carry + data
            self.carry = b"\r" if data.endswith(b"\r") else b""
            self._write(data[:len(data) - len(self.carry)])

    def close(self) -> None:
        if self.cte == "base64" and self.carry and self.f is not None:
            try:
                self._write(binascii.a2b_base64(self.carry + b"=" * (-len(self.carry) % 4)))
            except binascii.Error:
                pass
        elif self.cte == "quoted-printable" and self.carry:
            self._write(binascii.a2b_qp(self.carry))
        if self.f is not None:
            self.f.close()


def _is_attachment(msg) -> bool:
    ctype = msg.get_content_type()
    if ctype.startswith(("multipart/", "message/")):
        return False
    return msg.get_content_disposition() == "attachment" or ctype not in ("text/plain", "text/html")


def scan(fp: BinaryIO, staging: Path, *, limit: int, head_max: int) -> Scan:
    """Read a whole message from `fp`; attachments go to files under `staging` (which must not exist yet)."""
    s = Scan()
    lines = _Reader(fp, s)
    head = bytearray()
    stack: list[bytes] = []
    parser = BytesHeaderParser(policy=policy.compat32)

    def keep(data: bytes) -> None:
        head.extend(data)
        if len(head) > head_max:
            s.text_over = True
            raise TooLarge

    def part(header_block: bytes, complete: bool) -> None:
        """A part's body, whose header block was just read (and kept)."""
        msg = parser.parsebytes(header_block)
        if not complete:
            return
        boundary = msg.get_boundary() if msg.get_content_maintype() == "multipart" else None
        if boundary:
            b = boundary.encode("ascii", "replace")
            stack.append(b)
            depth = len(stack) - 1
            while True:  # preamble, then each part, up to this multipart's closing delimiter
                line = lines.next()
                if not line:
                    return
                hit = _boundary_of(line, stack)
                if hit is None:
                    keep(line)
                    continue
                d, closing = hit
                if d < depth:  # an outer delimiter: this multipart was never closed
                    del stack[depth:]
                    lines.back(line)
                    return
                keep(line)
                if closing:
                    del stack[depth:]
                    return
                block, ok = _headers(lines)
                keep(block)
                part(block, ok)
        if _is_attachment(msg):
            n = len(s.files) + 1
            sink = _Sink(staging / f"{n:04d}", (msg.get("Content-Transfer-Encoding") or "7bit").strip().lower(),
                         limit)
            for run in lines.body(stack):
                sink.run(run)
            sink.close()
            s.files.append(sink.path)
            s.sizes.append(sink.size)
            if sink.size > limit and s.over is None:
                s.over = sink.size
            return
        while True:  # a text part (or anything else) is kept as it is
            line = lines.next()
            if not line:
                return
            if stack and _boundary_of(line, stack):
                lines.back(line)
                return
            keep(line)

    try:
        block, ok = _headers(lines)
        keep(block)
        lines.in_body = True
        part(block, ok)
        while lines.next():  # an epilogue
            pass
    except TooLarge:
        while lines.next():
            pass
    s.head = bytes(head)
    s.digest = lines.body_hash.hexdigest()
    return s

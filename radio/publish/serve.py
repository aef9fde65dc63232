"""A preview server for feeds/ that can sit behind a tunnel.

It serves files as a podcast host would (correct types, HEAD, byte ranges, CORS) and nothing else: never a
file outside feeds/ (symlinks that leave it are refused), never a dotfile, the publish lock or a staging folder,
never a directory listing. The feed and pages are rewritten as they are sent so that their URLs point at the
address actually answering (as `mkdocs serve` does); the files on disk are not touched.

Addresses are never built from what a client sends (its Host or X-Forwarded-Proto): on a loopback address the
feed names the address the server listens on, anywhere else the station's own base URL.

A connection is handed to a worker only once its whole request head has arrived: until then one gate thread
holds it (a selector, no thread each), for at most `head_timeout` seconds, and at most `per_client` connections
from one address at a time. Stalled sockets, however many, hold no worker, so they cannot lock others out.
"""

from __future__ import annotations

import collections
import errno
import io
import ipaddress
import os
import posixpath
import re
import selectors
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import HTTPServer, SimpleHTTPRequestHandler
from io import BytesIO
from pathlib import Path

from radio.errors import RadioError

CHAPTERS_TYPE = "application/json+chapters"  # the type the Podcast Index chapters spec names
TYPES = {".mp3": "audio/mpeg", ".vtt": "text/vtt; charset=utf-8", ".json": "application/json",
         ".xml": "application/rss+xml; charset=utf-8", ".html": "text/html; charset=utf-8", ".png": "image/png",
         ".jpg": "image/jpeg", ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".conf": "text/plain; charset=utf-8"}
REWRITTEN = {".xml", ".html", ".json", ".vtt"}  # small text files that may name the published address
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
MAX_DIGITS = 18  # a byte position longer than this is past the end of any file we serve


def content_type(path: str) -> str:
    name = Path(path).name.lower()
    if name.endswith(".chapters.json"):
        return CHAPTERS_TYPE
    if name == "_headers" or name.endswith(".nginx.conf"):
        return "text/plain; charset=utf-8"
    return TYPES.get(Path(name).suffix) or "application/octet-stream"


class Rewriter:
    """Replaces the published base URL (in its plain, scheme-less and percent-encoded forms) with another."""

    def __init__(self, published: str):
        self.published = published.rstrip("/") + "/"
        bare = re.sub(r"^[a-z]+://", "", self.published)
        self.forms = [urllib.parse.quote(self.published, safe=""), self.published, bare]

    def __call__(self, data: bytes, served: str) -> bytes:
        served = served.rstrip("/") + "/"
        if served == self.published:
            return data
        bare = re.sub(r"^[a-z]+://", "", served)
        new = dict(zip(self.forms, [urllib.parse.quote(served, safe=""), served, bare]))
        pattern = re.compile("|".join(re.escape(f) for f in self.forms))
        return pattern.sub(lambda m: new[m.group(0)], data.decode("utf-8")).encode("utf-8")


class _HeadDeadline:
    """The request line and headers must all arrive before a deadline, however slowly each byte comes."""

    def __init__(self, rfile, sock: socket.socket, seconds: float, idle: float):
        self.rfile, self.sock, self.seconds, self.idle = rfile, sock, seconds, idle
        self.deadline: float | None = None

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def stop(self) -> None:
        self.deadline = None
        self.sock.settimeout(self.idle)

    def readline(self, size=-1):
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request head too slow")
            self.sock.settimeout(left)
        return self.rfile.readline(size)

    def __getattr__(self, name):
        return getattr(self.rfile, name)


class Handler(SimpleHTTPRequestHandler):
    quiet = True
    rewriter: Rewriter | None = None
    head_timeout = 10.0  # seconds for the request line and headers
    idle_timeout = 30.0  # seconds a send or receive may stall once the request is in
    server_version = "radio-serve"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.settimeout(self.idle_timeout)
        head = self.server.take_head(self.connection) if hasattr(self.server, "take_head") else b""
        if head:  # the gate already read the request head: read it again from there, then the socket
            self.rfile = io.BufferedReader(_Primed(head, self.connection))
        self.rfile = _HeadDeadline(self.rfile, self.connection, self.head_timeout, self.idle_timeout)

    def handle_one_request(self):
        self.rfile.start()
        try:
            super().handle_one_request()
        except (TimeoutError, socket.timeout):
            self.log_message("client too slow: connection closed")
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.log_message("client went away")
            self.close_connection = True

    def parse_request(self):
        ok = super().parse_request()
        self.rfile.stop()
        return ok

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges")
        super().end_headers()

    def do_OPTIONS(self):  # noqa: N802 (the base class's naming)
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def _resolve(self) -> str | None:
        """The real file for the request path, or None when it must not be served."""
        raw = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0], errors="strict")
        parts = [p for p in posixpath.normpath(raw).split("/") if p]
        if "\0" in raw or any(p.startswith(".") or p == ".." or "\\" in p for p in parts):
            return None
        root = os.path.realpath(self.directory)
        real = os.path.realpath(os.path.join(root, *parts))
        if real != root and not real.startswith(root + os.sep):
            return None  # a symlink that leaves feeds/
        return real

    def send_head(self):
        try:
            path = self._resolve()
        except (UnicodeDecodeError, ValueError):
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad path")
            return None
        if path is None or not os.path.exists(path):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if os.path.isdir(path):
            if not self.path.split("?", 1)[0].endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                parts = urllib.parse.urlsplit(self.path)
                self.send_header("Location", urllib.parse.urlunsplit(
                    (parts[0], parts[1], parts[2] + "/", parts[3], parts[4])))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = os.path.join(path, "index.html")
            if not os.path.isfile(path):
                self.send_error(HTTPStatus.NOT_FOUND, "File not found")
                return None
        if not os.path.isfile(path):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        mtime = os.fstat(f.fileno()).st_mtime
        if self.rewriter and Path(path).suffix.lower() in REWRITTEN:
            with f:
                data = self.rewriter(f.read(), self._served_base())
            f = BytesIO(data)
            size = len(data)
        else:
            size = os.fstat(f.fileno()).st_size
        span = self._range(size)
        if span is None:
            self.send_response(HTTPStatus.OK)
            self._headers(path, size, mtime)
            return f
        start, end = span
        if start >= size:
            f.close()
            self.log_message("416 for Range %r on a file of %d bytes", self.headers.get("Range", "")[:40], size)
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        f.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self._headers(path, end - start + 1, mtime)
        return _Limited(f, end - start + 1)

    def _range(self, size: int) -> tuple[int, int] | None:
        """(first, last) byte of a single satisfiable range; None to send the whole file.

        As RFC 9110 allows, a Range header that is not one well-formed byte range (several ranges, a last byte
        before the first, garbage) is ignored. A well-formed range that starts past the end gets 416 (first
        byte >= size)."""
        m = RANGE_RE.fullmatch((self.headers.get("Range") or "").strip())
        if not m or not (m.group(1) or m.group(2)):
            return None
        a, b = m.group(1), m.group(2)
        big = size + 1  # any number too long to parse is past the end
        first = int(a) if a and len(a) <= MAX_DIGITS else (big if a else None)
        last = int(b) if b and len(b) <= MAX_DIGITS else (big if b else None)
        if first is None:  # a suffix: the last N bytes
            return (max(0, size - last), size - 1) if last else None
        if last is not None and last < first:
            return None
        return first, min(size - 1, last if last is not None else size - 1)

    def _served_base(self) -> str:
        """The listening loopback address, or the published base URL: never the client's Host header."""
        return self.server.served_base or self.rewriter.published

    def _headers(self, path, length, mtime):
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", self.date_time_string(int(mtime)))
        self.end_headers()

    def copyfile(self, source, outputfile):
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, socket.timeout):
            self.log_message("client went away during %s", self.path[:80])
            self.close_connection = True


class _Limited:
    """A file that reads no further than the requested range."""

    def __init__(self, f, n):
        self.f, self.n = f, n

    def read(self, size=-1):
        if self.n <= 0:
            return b""
        data = self.f.read(self.n if size < 0 else min(size, self.n))
        self.n -= len(data)
        return data

    def close(self):
        self.f.close()


class _Primed(io.RawIOBase):
    """A socket's byte stream with what was already read from it put back in front."""

    def __init__(self, head: bytes, sock: socket.socket):
        self.head, self.sock = memoryview(head), sock

    def readable(self):
        return True

    def readinto(self, b):
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.sock.recv_into(b)


class PoolServer(HTTPServer):
    """Requests run on a fixed pool of threads once their head is in; a gate thread holds connections until then."""

    request_queue_size = 64
    max_head = 64 * 1024  # bytes of request line and headers
    max_waiting = 1024  # connections the gate holds at once, from every client together

    def __init__(self, address, handler, *, workers: int = 8, queue: int = 32, per_client: int = 16,
                 head_timeout: float = 10.0, served_base: str | None = None):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="radio-serve")
        self.slots = threading.BoundedSemaphore(workers + queue)
        self.per_client, self.head_timeout = per_client, head_timeout
        self.clients: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.inbox: collections.deque = collections.deque()
        self.heads: dict[int, bytes] = {}
        self.sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self.waiting: dict[socket.socket, tuple] = {}
        self.closing = False
        super().__init__(address, handler)
        self.served_base = served_base
        if served_base is None:
            host, port = self.server_address[:2]
            if ipaddress.ip_address(host).is_loopback:
                self.served_base = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
        self.gate = threading.Thread(target=self._gate, name="radio-serve-gate", daemon=True)
        self.gate.start()

    def process_request(self, request, client_address):
        ip = client_address[0]
        with self.lock:
            if self.clients[ip] >= self.per_client or sum(self.clients.values()) >= self.max_waiting + 64:
                refused = True
            else:
                refused = False
                self.clients[ip] += 1
        if refused:
            self.shutdown_request(request)  # over its share: turned away at once, holding nothing
            return
        self.inbox.append((request, client_address))
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _release(self, client_address) -> None:
        with self.lock:
            self.clients[client_address[0]] -= 1
            if self.clients[client_address[0]] <= 0:
                del self.clients[client_address[0]]

    def _drop(self, sock, client_address) -> None:
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        self.waiting.pop(sock, None)
        self.shutdown_request(sock)
        self._release(client_address)

    def _gate(self) -> None:
        """Read request heads without a thread each; hand a connection on once its head is complete."""
        while not self.closing:
            now = time.monotonic()
            timeout = min((w[1] for w in self.waiting.values()), default=now + 1.0) - now
            try:
                events = self.sel.select(max(0.0, min(timeout, 1.0)))
            except (OSError, ValueError):
                return
            for key, _ in events:
                sock = key.fileobj
                if sock is self._wake_r:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                addr, deadline, buf = self.waiting[sock]
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock, addr)
                    continue
                buf += data
                if b"\r\n\r\n" in buf or b"\n\n" in buf:
                    self.sel.unregister(sock)
                    del self.waiting[sock]
                    self._hand(sock, addr, bytes(buf))
                elif len(buf) > self.max_head:
                    self._drop(sock, addr)
            while self.inbox:
                sock, addr = self.inbox.popleft()
                if len(self.waiting) >= self.max_waiting:
                    self.shutdown_request(sock)
                    self._release(addr)
                    continue
                sock.setblocking(False)
                self.waiting[sock] = (addr, time.monotonic() + self.head_timeout, bytearray())
                self.sel.register(sock, selectors.EVENT_READ, None)
            now = time.monotonic()
            for sock, (addr, deadline, _) in list(self.waiting.items()):
                if deadline <= now:  # too slow with its head: closed, and its place freed
                    self._drop(sock, addr)

    def _hand(self, sock, addr, head: bytes) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(sock)  # every worker busy and the queue full: turned away
            self._release(addr)
            return
        sock.setblocking(True)
        with self.lock:
            self.heads[sock.fileno()] = head
        self.pool.submit(self._work, sock, addr)

    def take_head(self, sock) -> bytes:
        with self.lock:
            return self.heads.pop(sock.fileno(), b"")

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 (one line per failure, never a traceback)
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self.slots.release()
            self._release(client_address)

    def handle_error(self, request, client_address):
        kind, value = sys.exc_info()[:2]
        if kind is not None and not issubclass(kind, (ConnectionError, TimeoutError)):
            sys.stderr.write(f"radio serve: {client_address[0]}: {kind.__name__}: {value}\n")

    def server_close(self):
        self.closing = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if getattr(self, "gate", None) is not None:  # not started when binding failed
            self.gate.join(5)
        for sock, (addr, _, _) in list(self.waiting.items()):
            self._drop(sock, addr)
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.sel.close()
        self._wake_r.close()
        self._wake_w.close()


def server(directory: Path, bind: str = "127.0.0.1", port: int = 8000, quiet: bool = True, *,
           published: str | None = None, workers: int = 8, head_timeout: float = 10.0,
           idle_timeout: float = 30.0, per_client: int = 16) -> PoolServer:
    """A server for `directory`. With `published` (the station's base_url), URLs in the feed and pages name the
    loopback address it listens on (on a loopback address), else they stay as published."""
    attrs = {"quiet": quiet, "rewriter": Rewriter(published) if published else None, "head_timeout": head_timeout,
             "idle_timeout": idle_timeout}
    handler_cls = type("ServeHandler", (Handler,), attrs)

    def handler(*args, **kwargs):
        return handler_cls(*args, directory=str(directory), **kwargs)

    try:
        return PoolServer((bind, port), handler, workers=workers, per_client=per_client, head_timeout=head_timeout)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise RadioError(f"port {port} on {bind} is already in use", fix=f"stop what is using it, or pick "
                             f"another port: radio serve --port {port + 1}") from None
        if e.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            raise RadioError(f"cannot listen on {bind}:{port} ({e.strerror})",
                             fix="use an address of this machine and a port above 1023") from None
        raise


__all__ = ["server", "Handler", "PoolServer", "Rewriter", "content_type", "CHAPTERS_TYPE"]

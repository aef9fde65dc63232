"""A preview server for feeds/: correct types, HEAD, and byte ranges (podcast apps and browsers seek with them)."""

from __future__ import annotations

import os
import re
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {".mp3": "audio/mpeg", ".vtt": "text/vtt; charset=utf-8", ".json": "application/json",
         ".xml": "application/rss+xml; charset=utf-8", ".html": "text/html; charset=utf-8", ".png": "image/png",
         ".jpg": "image/jpeg", ".css": "text/css"}


class Handler(SimpleHTTPRequestHandler):
    quiet = True

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)

    def guess_type(self, path):
        return TYPES.get(Path(str(path)).suffix.lower()) or super().guess_type(path)

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path) or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if not m or (not m.group(1) and not m.group(2)):
            f = open(path, "rb")
            self.send_response(HTTPStatus.OK)
            self._headers(path, size, size)
            return f
        a, b = m.group(1), m.group(2)
        if a:
            start, end = int(a), min(int(b) if b else size - 1, size - 1)
        else:
            start, end = max(0, size - int(b)), size - 1
        if start >= size or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        f = open(path, "rb")
        f.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self._headers(path, end - start + 1, size)
        return _Limited(f, end - start + 1)

    def _headers(self, path, length, size):
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()


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


def server(directory: Path, bind: str = "127.0.0.1", port: int = 8000, quiet: bool = True) -> ThreadingHTTPServer:
    handler = partial(Handler, directory=str(directory))
    Handler.quiet = quiet
    httpd = ThreadingHTTPServer((bind, port), handler)
    httpd.daemon_threads = True
    return httpd

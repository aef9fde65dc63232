"""`radio serve` against hostile clients: a forged Host never reaches the feed, and a crowd of stalled sockets
holds no worker and cannot lock anyone else out."""

from __future__ import annotations

import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from radio.publish.serve import server


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("feeds")
    (root / "st").mkdir()
    (root / "st" / "feed.xml").write_text('<?xml version="1.0"?><rss><channel><link>https://example.org/podcast/st/'
                                          '</link><enclosure url="https://example.org/podcast/st/media/a.mp3"/>'
                                          '</channel></rss>')
    return root


def _start(tree: Path, **kw):
    httpd = server(tree, "127.0.0.1", 0, published="https://example.org/podcast/", **kw)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _raw(port: int, request: bytes, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_a_forged_host_never_reaches_the_feed(tree):
    httpd = _start(tree)
    port = httpd.server_address[1]
    try:
        body = _raw(port, b"GET /st/feed.xml HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: https\r\n"
                          b"X-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n")
        assert b"evil.example" not in body
        assert f"http://127.0.0.1:{port}/st/media/a.mp3".encode() in body
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_two_hundred_stalled_sockets_lock_nobody_out(tree):
    httpd = _start(tree, workers=8, head_timeout=60.0, per_client=16)
    port = httpd.server_address[1]
    stalled = []
    try:
        # 200 sockets that never finish their headers, from one address and then from a crowd of addresses
        for i in range(200):
            source = "127.0.0.1" if i < 100 else f"127.0.1.{i % 50 + 1}"
            s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
            s.sendall(b"GET /st/feed.xml HTTP/1.1\r\nHost: x\r\n")
            stalled.append(s)
        ok = 0
        for _ in range(12):  # a legitimate listener elsewhere, while every stalled socket is still open
            got = _raw(port, b"GET /st/feed.xml HTTP/1.0\r\n\r\n", source="127.0.0.2")
            ok += got.startswith(b"HTTP/1.0 200")
        assert ok == 12
        # the same address gets no more than its share: the 17th of its sockets is closed at once
        extra = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.1", 0), timeout=10)
        assert extra.recv(1) == b""
        extra.close()
    finally:
        for s in stalled:
            s.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_slow_head_is_closed_at_its_deadline(tree):
    httpd = _start(tree, head_timeout=0.5)
    port = httpd.server_address[1]
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /st/feed.xml HTTP/1.0\r\n")
        assert s.recv(1) == b""  # closed by the server (the recv would time out at 10 s otherwise)
        s.close()
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/st/feed.xml", timeout=10).status == 200
    finally:
        httpd.shutdown()
        httpd.server_close()

"""`radio desk` running as a user runs it, on a free port, and an HTTP client that logs in as an account."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

RADIO = [sys.executable, "-m", "radio"]
PASSWORD = "fictional password 1"
ACCOUNTS = {"maria": "editor", "ines": "editor", "pat": "producer", "hana": "host", "tom": "translator",
            "cora": "correspondent"}


def add_accounts(root: Path, accounts: dict[str, str] = ACCOUNTS) -> None:
    for name, role in accounts.items():
        subprocess.run([*RADIO, "--station", str(root), "users", "add", name, "--role", role], input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)


def totp_secret(root: Path, name: str) -> str | None:
    users = json.loads((root / "private" / "desk" / "users.json").read_text())["users"]
    return next(u["totp"] for u in users if u["name"] == name)


def otp_now(root: Path, name: str) -> str:
    import pyotp
    secret = totp_secret(root, name)
    return pyotp.TOTP(secret).now() if secret else ""


class Desk:
    """The desk server; every response body and the server's output are kept for the canary scans."""

    def __init__(self, root: Path, log: Path, *command: str):
        """`radio desk` by default; `command` runs another that starts it (e.g. "studio", WEEK)."""
        self.root, self.seen = root, log
        self.seen.mkdir(parents=True, exist_ok=True)
        self.out = open(log / "server.log", "w")
        self.proc = subprocess.Popen([*RADIO, "--station", str(root), *(command or ("desk",)), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.out, text=True)
        self.lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, f"the desk did not start: {self.lines} {(log / 'server.log').read_text()}"
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"(http://127\.0\.0\.1:(\d+))/(login|studio)$", line)
            if m:
                self.base, self.port, self.url = m[1], int(m[2]), m[0]
                break
        self.n = 0

    def request(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                cookies: dict | None = None) -> tuple[int, dict, bytes]:
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        self.n += 1
        (self.seen / f"{self.n:04d}.body").write_bytes(data)
        headers_out: dict = {}
        for k, v in r.getheaders():
            headers_out.setdefault(k.lower(), []).append(v)
        return r.status, headers_out, data

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.out.close()


class Client:
    """One browser's worth of cookies, talking to the desk as its own pages do."""

    def __init__(self, desk: Desk):
        self.desk, self.cookies, self.bodies = desk, {}, []

    def _keep(self, headers: dict) -> None:
        for v in headers.get("set-cookie", []):
            name, value = v.split(";")[0].split("=", 1)
            if "Max-Age=0" in v or 'expires=Thu, 01 Jan 1970' in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, path: str, **kw) -> tuple[int, dict, str]:
        status, headers, data = self.desk.request("GET", path, cookies=self.cookies, **kw)
        self.bodies.append(data)
        self._keep(headers)
        return status, headers, data.decode("utf-8", "replace")

    def post(self, path: str, fields: dict | None = None, *, csrf: bool = True, origin: str | None = None,
             headers: dict | None = None, body: bytes | None = None) -> tuple[int, dict, str]:
        """A form posted as the desk's pages post it; `origin=False` sends no Origin (a mail client's one click)."""
        fields = dict(fields or {})
        if csrf:
            if "radio-csrf" not in self.cookies:
                self.get("/login")
            fields.setdefault("csrf", self.cookies.get("radio-csrf", ""))
        h = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if origin is not False:
            h["Origin"] = origin if origin is not None else self.desk.base
        status, out, data = self.desk.request("POST", path, body if body is not None else urlencode(fields, doseq=True),
                                              headers=h, cookies=self.cookies)
        self.bodies.append(data)
        self._keep(out)
        return status, out, data.decode("utf-8", "replace")

    def send(self, method: str, path: str, body: bytes | None, content_type: str, *, csrf: bool = True,
             origin: str | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
        """A request as the pages' scripts make it: JSON or a recording, the CSRF token in X-CSRF-Token."""
        h = {"Origin": origin if origin is not None else self.desk.base, "Content-Type": content_type,
             **({"X-CSRF-Token": self.cookies.get("radio-csrf", "")} if csrf else {}), **(headers or {})}
        status, out, data = self.desk.request(method, path, body, headers=h, cookies=self.cookies)
        self.bodies.append(data)
        self._keep(out)
        return status, out, data

    def json(self, method: str, path: str, payload=None, **kw):
        if method == "GET":
            status, _, body = self.get(path)
            return status, json.loads(body)
        status, _, data = self.send(method, path, json.dumps(payload).encode() if payload is not None else None,
                                    "application/json", **kw)
        return status, json.loads(data)

    def login(self, name: str, password: str = PASSWORD, otp: str | None = None) -> int:
        self.get("/login")
        status, _, _ = self.post("/login", {"username": name, "password": password,
                                            "otp": otp if otp is not None else otp_now(self.desk.root, name)})
        return status


def digest_of(page: str) -> str:
    m = re.search(r'name="digest" value="([^"]*)"', page)
    assert m, "the page has no digest"
    return m[1]

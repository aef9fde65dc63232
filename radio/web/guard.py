"""The desk's guard, in front of every route: allowed host names, Origin, body limits and security headers.

- Host: only the names the desk was started for (the loopback names on this machine, the --host names
  elsewhere); anything else is refused before a route sees it (no DNS rebinding).
- Origin: a request that changes anything must come from one of those same origins; the check never compares
  against the Host a request sent. Only RFC 8058 one-click unsubscribe (a mail client's POST) is exempt: its
  token is its authority.
- Bodies: a declared length over the route's limit is refused before reading; a chunked body is counted and
  cut off at the limit.
"""

from __future__ import annotations

import re

from starlette.responses import PlainTextResponse

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SAFE_METHODS = {"GET", "HEAD"}
SMALL_BODY = 64 * 1024  # a form or JSON change: a rundown edit, a check, a translation
EXEMPT_ORIGIN = re.compile(r"^/unsubscribe/[^/]+$")


class Guard:
    def __init__(self, app, *, hosts: set[str], secure: bool, limits: list[tuple[re.Pattern, int]]):
        self.app, self.hosts, self.secure, self.limits = app, {h.lower() for h in hosts}, secure, limits
        scheme = "https" if secure else "http"
        self.origins = {f"{scheme}://{h}" for h in self.hosts}

    def limit_for(self, path: str) -> int:
        for pattern, n in self.limits:
            if pattern.match(path):
                return n
        return SMALL_BODY

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.hosts:
            return await deny(scope, receive, send, 421, "this desk answers only at its own address")
        method, path = scope["method"], scope["path"]
        if method not in SAFE_METHODS and not EXEMPT_ORIGIN.match(path):
            if headers.get("origin") not in self.origins or \
                    headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return await deny(scope, receive, send, 403, "changes are accepted only from the desk's own pages")
        limit = self.limit_for(path)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await deny(scope, receive, send, 413, "the request is too large")
        seen = 0
        state = {"started": False, "refused": False}

        async def counted():
            nonlocal seen
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the route the client went away: it reads no more of the body.
                    state["refused"] = True
                    if not state["started"]:
                        state["started"] = True
                        await deny(scope, receive, send, 413, "the request is too large")
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message):
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                extra = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY"),
                         (b"permissions-policy", b"microphone=(self), camera=()"),
                         (b"cross-origin-opener-policy", b"same-origin"), (b"cache-control", b"no-store")]
                if self.secure:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in have]
            await send(message)

        await self.app(scope, counted, send_with_headers)


async def deny(scope, receive, send, status: int, why: str) -> None:
    names = {401: "unauthorized", 403: "forbidden", 404: "not found", 413: "too large", 421: "misdirected",
             429: "too many requests"}
    resp = PlainTextResponse(f"{status} {names.get(status, 'error')}: {why}\n", status_code=status)
    resp.headers["cache-control"] = "no-store"
    resp.headers["content-security-policy"] = CSP
    await resp(scope, receive, send)

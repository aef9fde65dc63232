"""Public routes that other parts of radio contribute to the desk: each module in CONTRIBUTORS has a
`routes(station, page) -> list[Route]` (`page(request, template, status=200, **ctx)` draws one of the desk's
templates), served without an account behind the desk's own rules: host names, body sizes, headers, and the
page's CSRF token on every POST unless its endpoint is marked `no_csrf`.

Unsubscribing is here, once for every list: the link in a bulletin, a digest or a press mail
(`List-Unsubscribe`) opens a page with one button, and the RFC 8058 one-click POST a mail client sends does it at
once. The token (an HMAC of the address) names the address on the bulletin's list (radio.mail.unsubscribe,
private/subscribers.csv) and on the readers' list (radio.subscriptions.store: private/subscriptions.json, or
its sealed form, left by the token's SHA-256 alone); both
are left at once, idempotently, and a token that names nobody changes nothing.
"""

from __future__ import annotations

import importlib
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from radio.station import Station

CONTRIBUTORS = ("radio.web.public", "radio.subscriptions.web")


def collect(station: Station, page: Callable[..., Response]) -> list[Route]:
    out: list[Route] = []
    for name in CONTRIBUTORS:
        out += importlib.import_module(name).routes(station, page)
    return out


def leave(station: Station, token: str) -> str:
    """Leave every list the token's address is on: "removed", "already" (nothing left to leave) or "unknown"."""
    from radio.mail.unsubscribe import TOKEN, unsubscribe
    from radio.subscriptions import store
    if not TOKEN.fullmatch(token or ""):
        return "unknown"
    outcomes = {unsubscribe(station, token).done}
    reader = store.leave_by_token(station, token)
    if reader is not None:
        outcomes.add(reader)
    return next(o for o in ("removed", "already", "unknown") if o in outcomes)


def routes(station: Station, page: Callable[..., Response]) -> list[Route]:
    from radio.mail.unsubscribe import TOKEN
    from radio.web import audit

    async def ask(request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN.fullmatch(token):
            return page(request, "unsubscribe.html", 404, token=None, done="unknown")
        # A GET changes nothing (mail scanners open links); the button posts, as RFC 8058's one click does.
        return page(request, "unsubscribe.html", token=token, done=None)

    async def do(request: Request) -> Response:
        done = await run_in_threadpool(leave, station, request.path_params["token"])
        if done == "removed":
            # The audit log says that someone left, never who (the lists are private; the producer sees them).
            await run_in_threadpool(audit.record, station, "(subscriber)", "unsubscribed")
        return page(request, "unsubscribe.html", 404 if done == "unknown" else 200, token=None, done=done)

    do.no_csrf = True  # type: ignore[attr-defined]  # the token is the authority; a mail client sends no page token
    return [Route("/unsubscribe/{token}", ask, methods=["GET"]), Route("/unsubscribe/{token}", do, methods=["POST"])]

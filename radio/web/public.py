"""Public routes that other parts of radio contribute to the desk: each module in CONTRIBUTORS has a
`routes(station) -> list[Route]`, served without an account (the desk still applies its host, body-size and
header rules; a POST still needs the page's CSRF token unless its endpoint is marked `no_csrf`).

Unsubscribing is here: the bulletin's List-Unsubscribe https link opens a page with one button, and the RFC
8058 one-click POST a mail client sends does it at once. Both call radio.mail.unsubscribe, the one place that
removes a subscriber.
"""

from __future__ import annotations

import importlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from radio.station import Station

CONTRIBUTORS = ("radio.web.public",)


def collect(station: Station) -> list[Route]:
    out: list[Route] = []
    for name in CONTRIBUTORS:
        out += importlib.import_module(name).routes(station)
    return out


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="same-origin"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unsubscribe · {station}</title><link rel="stylesheet" href="/assets/desk.css"></head>
<body><main><h1>{station}: the bulletin</h1>{body}</main></body></html>
"""


def routes(station: Station) -> list[Route]:
    from html import escape

    from radio.mail.unsubscribe import TOKEN, unsubscribe
    from radio.web import audit
    name = escape(station.config.station.name)

    def show(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(PAGE.format(station=name, body=body), status_code=status)

    async def ask(request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN.fullmatch(token):
            return show("<p>This unsubscribe link is not valid. Nothing was changed.</p>", 404)
        # A GET changes nothing (mail scanners open links); the button posts, as RFC 8058's one click does.
        return show(f'<p>Stop sending the weekly bulletin to this address?</p><form method="post" '
                    f'action="/unsubscribe/{token}"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
                    f'<button type="submit">Unsubscribe</button></form>')

    async def do(request: Request) -> Response:
        token = request.path_params["token"]
        out = await run_in_threadpool(unsubscribe, station, token)
        if out.done == "removed":
            await run_in_threadpool(audit.record, station, "(subscriber)", "unsubscribed", out.organisation)
            return show("<p>Done: this address gets no more bulletins.</p>")
        if out.done == "already":
            return show("<p>This address was already unsubscribed. Nothing was changed.</p>")
        return show("<p>This unsubscribe link is not valid. Nothing was changed.</p>", 404)

    do.no_csrf = True  # type: ignore[attr-defined]  # the token is the authority; a mail client sends no page token
    return [Route("/unsubscribe/{token}", ask, methods=["GET"]), Route("/unsubscribe/{token}", do, methods=["POST"])]

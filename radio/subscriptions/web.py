"""The public subscribe, confirm and leave pages, as Starlette routes the station's web app mounts.

  GET  /subscribe                 the form (address, editions, lists), with its CSRF token
  POST /subscribe                 asks for a confirmation mail (double opt-in); the same answer whatever the
                                  address, so the page tells no one who is subscribed
  GET  /subscribe/confirm/TOKEN   a page with one button: mail scanners fetch links, only a person presses it
  POST /subscribe/confirm/TOKEN   confirms (once, before the request expires)
  GET  /unsubscribe/TOKEN         a page with one button
  POST /unsubscribe/TOKEN         leaves at once: RFC 8058 one-click (List-Unsubscribe-Post), no cookie needed

Forms are CSRF-safe (a token bound to a cookie, checked with the Origin), requests are rate-limited per client,
bodies are small, and every answer is the same on a second try (idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from urllib.parse import parse_qs, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, Router

from radio.errors import RadioError
from radio.station import Station

COOKIE = "radio-subscribe"
MAX_BODY = 8 * 1024
CSRF_SECONDS = 2 * 3600
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "base-uri 'none'; frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:Georgia,serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
fieldset{border:1px solid #ccc;margin:1rem 0}button{font-size:1rem;padding:.4rem 1rem}.error{color:#8b1a1a}</style>
</head><body><main>
<h1>{{ title }}</h1>
{% if message %}<p{% if error %} class="error" role="alert"{% endif %}>{{ message }}</p>{% endif %}
{% if form == "subscribe" %}
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<p><label>E-mail address <input type="email" name="address" required maxlength="254" autocomplete="email"></label></p>
<fieldset><legend>Editions</legend>
{% for e in editions %}<label><input type="checkbox" name="edition" value="{{ e.id }}"{% if loop.first %} checked{% endif %}> {{ e.title }} ({{ e.language }})</label><br>{% endfor %}
</fieldset>
<fieldset><legend>What to receive</legend>
<label><input type="checkbox" name="list" value="bulletin"> The weekly bulletin</label><br>
<label><input type="checkbox" name="list" value="digest" checked> The monthly digest</label><br>
<label><input type="checkbox" name="list" value="press"> Press items (for newsrooms)</label>
</fieldset>
<p><button type="submit">Subscribe</button></p>
<p>We send a message to confirm the address; nothing else is sent until you confirm. Every message has a
link to leave with one click.</p>
</form>
{% elif form %}
<form method="post" action="{{ action }}"><p><button type="submit">{{ form }}</button></p></form>
{% endif %}
</main></body></html>
""")


def _secret(station: Station) -> bytes:
    from radio.mail.send import unsubscribe_token
    return unsubscribe_token(station, "csrf-key").encode()  # derived from the station's private secret


def _csrf(station: Station, nonce: str, at: int) -> str:
    mac = hmac.new(_secret(station), f"{nonce}|{at}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{at}.{mac}"


def _csrf_ok(station: Station, nonce: str | None, token: str) -> bool:
    try:
        at = int(token.split(".", 1)[0])
    except ValueError:
        return False
    if not nonce or not 0 <= time.time() - at <= CSRF_SECONDS:
        return False
    return hmac.compare_digest(_csrf(station, nonce, at), token)


class Limiter:
    """At most N requests an hour from one client address (a sliding window, in memory)."""

    def __init__(self, per_hour: int):
        self.per_hour = per_hour
        self.seen: dict[str, deque] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        q = self.seen[client]
        while q and now - q[0] > 3600:
            q.popleft()
        if len(q) >= self.per_hour:
            return False
        q.append(now)
        return True


def _page(station: Station, title: str, status: int = 200, **ctx) -> HTMLResponse:
    html = PAGE.render(lang=station.language, title=title, message=ctx.pop("message", ""), error=status >= 400,
                       form=ctx.pop("form", None), **ctx)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def _form(request: Request) -> dict[str, list[str]] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # a browser sends Origin with a POST; "null" is an opaque (hostile) origin
    return urlsplit(origin).netloc == request.headers.get("host", "")


def confirmation_message(station: Station, address: str, token: str, entry) -> bytes:
    from radio.mail.outgoing import as_bytes, list_headers, message_id, new_message
    from radio.subscriptions.store import now
    cfg = station.full_config
    url = f"{cfg.subscriptions.base_url}subscribe/confirm/{token}"
    mid = message_id(station, "confirm", hashlib.sha256(token.encode()).hexdigest()[:12], address)
    msg = new_message(station, address, f"Confirm your subscription to {cfg.station.name}", mid, now())
    leave = list_headers(station, msg, "confirm", address)
    msg.set_content(
        f"Someone (we hope you) asked to receive {', '.join(entry.lists)} in {', '.join(entry.editions)} from "
        f"{cfg.station.name} at this address.\n\nTo confirm, open this link and press the button:\n{url}\n\n"
        f"If it was not you, do nothing: nothing will be sent, and the request expires in "
        f"{cfg.subscriptions.confirm_hours:g} hours.\n\n-- \nTo stop at any time: {leave}\n", charset="utf-8")
    return as_bytes(msg, mid)


def routes(station: Station, *, send=None) -> list[Route]:
    """The routes, for the station's web app to mount (`Mount("/", routes=routes(station))`).
    `send(address, bytes)` mails a confirmation (default: over [mail] SMTP)."""
    from radio.subscriptions import store
    per_hour = station.full_config.subscriptions.requests_per_hour
    limiter = Limiter(per_hour)  # asking for mail to be sent: the tight one
    links = Limiter(10 * per_hour)  # following a link from a mail: a token decides, the limit only slows guessing
    if send is None:
        from radio.mail.outgoing import send_one

        def send(address: str, data: bytes) -> None:
            send_one(station, address, data)

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def form(request: Request) -> Response:
        nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
        eds = [{"id": s.edition_id, "title": s.config.show.title, "language": s.language} for s in station.editions()]
        r = _page(station, f"Subscribe to {station.full_config.station.name}", form="subscribe",
                  action=str(request.url_for("subscribe")), csrf=_csrf(station, nonce, int(time.time())),
                  editions=eds)
        r.set_cookie(COOKIE, nonce, max_age=CSRF_SECONDS, httponly=True, samesite="strict",
                     secure=request.url.scheme == "https")
        return r

    async def subscribe(request: Request) -> Response:
        if not limiter.allow(client(request)):
            return _page(station, "Too many requests", 429, message="Too many requests from here: try again later.")
        data = await _form(request)
        if data is None:
            return _page(station, "Not accepted", 400, message="The form was too large or not a form.")
        if not _same_origin(request) or not _csrf_ok(station, request.cookies.get(COOKIE), (data.get("csrf") or [""])[0]):
            return _page(station, "Not accepted", 403, message="This form has expired or did not come from our "
                                                              "page: open the subscribe page again.")
        address = (data.get("address") or [""])[0]
        try:
            entry, token = await run_in_threadpool(store.request, station, address, data.get("edition", []),
                                                   data.get("list", []))
            if token is not None:
                await run_in_threadpool(send, entry.address, confirmation_message(station, entry.address, token, entry))
        except RadioError as e:
            return _page(station, "Not accepted", 400, message=str(e.message))
        return _page(station, "Check your mail", message="If the address is right, a message with a link to confirm "
                                                         "is on its way. Nothing else is sent until you confirm.")

    async def confirm_page(request: Request) -> Response:
        return _page(station, "Confirm your subscription", form="Confirm", action=str(request.url))

    async def confirm(request: Request) -> Response:
        if not links.allow(client(request)):
            return _page(station, "Too many requests", 429, message="Too many requests from here: try again later.")
        try:
            e = await run_in_threadpool(store.confirm, station, request.path_params["token"])
        except RadioError as err:
            return _page(station, "Not confirmed", 400, message=str(err.message))
        return _page(station, "Subscribed", message=f"{e.address} now receives {', '.join(e.lists)} "
                                                    f"({', '.join(e.editions)}). Every message has a link to leave.")

    async def leave_page(request: Request) -> Response:
        return _page(station, "Leave the list", form="Unsubscribe", action=str(request.url))

    async def leave(request: Request) -> Response:
        # RFC 8058: a mail provider POSTs "List-Unsubscribe=One-Click" with no cookie; the token is the authority
        if not links.allow(client(request)):
            return _page(station, "Too many requests", 429, message="Too many requests from here: try again later.")
        e = await run_in_threadpool(store.by_unsubscribe_token, station, request.path_params["token"])
        if e is None:
            return _page(station, "Unknown link", 404, message="This link names no subscription.")
        await run_in_threadpool(store.leave, station, e.address)
        return _page(station, "Unsubscribed", message="You will receive nothing more from us at this address.")

    return [Route("/subscribe", form, methods=["GET"]), Route("/subscribe", subscribe, methods=["POST"], name="subscribe"),
            Route("/subscribe/confirm/{token}", confirm_page, methods=["GET"]),
            Route("/subscribe/confirm/{token}", confirm, methods=["POST"]),
            Route("/unsubscribe/{token}", leave_page, methods=["GET"]),
            Route("/unsubscribe/{token}", leave, methods=["POST"])]


def router(station: Station, **kw) -> Router:
    return Router(routes=routes(station, **kw))


def app(station: Station, **kw) -> Starlette:
    """The subscribe pages on their own (until the station's web app mounts `routes`)."""
    return Starlette(routes=routes(station, **kw))

"""The public subscribe and confirm pages, routes of the desk (`radio desk`), behind its host, body-size and
CSRF rules (the form carries the desk's page token; a POST from another origin is refused by the desk's guard):

  GET  /subscribe                 the form (address, editions, lists)
  POST /subscribe                 asks for a confirmation mail (double opt-in); the same answer whatever the
                                  address, so the page tells no one who is subscribed
  GET  /subscribe/confirm/TOKEN   a page with one button: mail scanners fetch links, only a person presses it
  POST /subscribe/confirm/TOKEN   confirms (once, before the request expires)

Leaving is the desk's one /unsubscribe/TOKEN (radio/web/public.py), for every list. Requests are rate-limited per
client address (in memory only, never written), and every answer is the same on a second try (idempotent).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict, deque
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from radio.errors import RadioError
from radio.station import Station

TOKEN_CHARS = 64  # a confirmation token is 43 URL-safe characters; anything longer is no token


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


def confirmation_message(station: Station, address: str, token: str, entry) -> bytes:
    from radio.mail.outgoing import as_bytes, from_address, list_headers, message_id, new_message
    from radio.subscriptions.store import now
    cfg = station.full_config
    url = f"{cfg.subscriptions.base_url}subscribe/confirm/{token}"
    key = hashlib.sha256(token.encode()).hexdigest()
    try:
        mid = message_id(station, "confirm", key[:12], address)
    except RadioError:  # a sealed station's key, not here: the random token's digest alone names this message
        mid = f"<confirm.{key[:32]}@{from_address(station).rsplit('@', 1)[1]}>"
    msg = new_message(station, address, f"Confirm your subscription to {cfg.station.name}", mid, now())
    try:
        leave = list_headers(station, msg, "confirm", address)
    except RadioError:  # a sealed station's unsubscribe key, with no editor's key here: nothing to leave yet
        leave = "do nothing; the request expires"
    msg.set_content(
        f"Someone (we hope you) asked to receive {', '.join(entry.lists)} in {', '.join(entry.editions)} from "
        f"{cfg.station.name} at this address.\n\nTo confirm, open this link and press the button:\n{url}\n\n"
        f"If it was not you, do nothing: nothing will be sent, and the request expires in "
        f"{cfg.subscriptions.confirm_hours:g} hours.\n\n-- \nTo stop at any time: {leave}\n", charset="utf-8")
    return as_bytes(msg, mid)


def routes(station: Station, page: Callable[..., Response], *, send=None) -> list[Route]:
    """The routes, for the desk to mount. `send(address, bytes)` mails a confirmation (default: over [mail]
    SMTP)."""
    from radio.subscriptions import store
    per_hour = station.full_config.subscriptions.requests_per_hour
    limiter = Limiter(per_hour)  # asking for mail to be sent: the tight one
    links = Limiter(10 * per_hour)  # following a link from a mail: a token decides, the limit only slows guessing
    if send is None:
        from radio.mail.outgoing import send_one

        def send(address: str, data: bytes) -> None:
            send_one(station, address, data)

    editions = [{"id": s.edition_id, "title": s.config.show.title, "language": s.language} for s in station.editions()]
    name = station.full_config.station.name

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    def show(request: Request, title: str, status: int = 200, **ctx) -> Response:
        ctx = {"form": None, "message": "", "token": "", **ctx}
        return page(request, "subscribe.html", status, title=title, editions=editions, error=status >= 400, **ctx)

    def form(request: Request) -> Response:
        return show(request, f"Subscribe to {name}", form="subscribe")

    async def subscribe(request: Request) -> Response:
        if not limiter.allow(client(request)):
            return show(request, "Too many requests", 429, message="Too many requests from here: try again later.")
        data = await request.form(max_fields=20)  # read, size-limited and CSRF-checked by the desk already
        address = str(data.get("address") or "")
        chosen = [str(x) for x in data.getlist("edition")], [str(x) for x in data.getlist("list")]
        try:
            entry, token = await run_in_threadpool(store.request, station, address, *chosen)
            if token is not None:
                await run_in_threadpool(send, entry.address, confirmation_message(station, entry.address, token, entry))
        except RadioError as e:
            return show(request, "Not accepted", 400, message=str(e.message), form="subscribe")
        return show(request, "Check your mail", message="If the address is right, a message with a link to confirm "
                                                        "is on its way. Nothing else is sent until you confirm.")

    def _token(request: Request) -> str:
        token = request.path_params["token"]
        return token if len(token) <= TOKEN_CHARS else ""

    def confirm_page(request: Request) -> Response:
        return show(request, "Confirm your subscription", form="confirm", token=_token(request))

    async def confirm(request: Request) -> Response:
        if not links.allow(client(request)):
            return show(request, "Too many requests", 429, message="Too many requests from here: try again later.")
        try:
            e = await run_in_threadpool(store.confirm, station, _token(request))
        except RadioError as err:
            return show(request, "Not confirmed", 400, message=str(err.message))
        return show(request, "Subscribed", message=f"{e.address or 'This address'} now receives {', '.join(e.lists)} "
                                                   f"({', '.join(e.editions)}). Every message has a link to leave.")

    return [Route("/subscribe", form, methods=["GET"]), Route("/subscribe", subscribe, methods=["POST"]),
            Route("/subscribe/confirm/{token}", confirm_page, methods=["GET"]),
            Route("/subscribe/confirm/{token}", confirm, methods=["POST"])]

"""The studio's web app (Starlette): pages, a small JSON API, uploads of takes, and the guard in front of it all.

The guard: every request carries the access token printed with the address (once in the URL, then as a cookie),
the Host header names this server (no DNS rebinding), and a request that changes anything comes from the
studio's own origin. Pages allow only their own scripts and styles (no CDN, no inline code).
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from radio.rundown import edits
from radio.station import Station
from radio.errors import RadioError
from radio.studio import store, view

HERE = Path(__file__).parent
COOKIE = "radio-studio"
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # Opus at a browser's bitrate is far below this for a whole show
MAX_JSON_BYTES = 64 * 1024  # a rundown edit or a keep is a few dozen bytes
MAX_TAKE_MS = 30 * 60 * 1000  # and no take may be longer than the slot either
UPLOAD_TYPES = {"audio/webm", "audio/ogg", "video/webm", "audio/mp4", "audio/x-matroska"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SAFE_METHODS = {"GET", "HEAD"}


class Guard:
    """ASGI middleware: token, Host and Origin checks, and security headers on every response."""

    def __init__(self, app, token: str, hosts: set[str] | None, secure: bool):
        self.app, self.token, self.hosts, self.secure = app, token, hosts, secure

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.hosts is not None and host.lower() not in self.hosts:
            return await _deny(scope, receive, send, 403, "this studio answers only at the address it printed")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            pass
        held = cookie[COOKIE].value if COOKIE in cookie else ""
        by_url = bool(given) and hmac.compare_digest(given, self.token)
        if not by_url and not (held and hmac.compare_digest(held, self.token)):
            status = 403 if given or held else 401
            return await _deny(scope, receive, send, status,
                               "open the studio at the address `radio studio` printed, with its ?token=")
        length = headers.get("content-length")
        limit = MAX_UPLOAD_BYTES if scope["path"].endswith("/takes") else MAX_JSON_BYTES
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _deny(scope, receive, send, 413, "the request is too large")
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            scheme = "https" if self.secure else "http"
            if origin != f"{scheme}://{host}" or headers.get("sec-fetch-site", "same-origin") != "same-origin":
                return await _deny(scope, receive, send, 403, "changes are accepted only from the studio's own pages")
        if by_url and scope["method"] in SAFE_METHODS and not scope["path"].startswith("/api/"):
            # Swap the token in the address for a cookie, so it stays out of history and shared screens.
            rest = {k: v for k, v in query.items() if k != "token"}
            target = scope["path"] + (f"?{urlencode(rest, doseq=True)}" if rest else "")
            resp = RedirectResponse(target, status_code=303)
            self._cookie(resp)
            return await self._send(resp, scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                         (b"permissions-policy", b"microphone=(self), camera=()"),
                         (b"cache-control", b"no-store")]
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in have]
                if by_url:
                    c = SimpleCookie()
                    c[COOKIE] = self.token
                    c[COOKIE].update({"httponly": True, "samesite": "Strict", "path": "/", "secure": self.secure})
                    message["headers"].append((b"set-cookie", c[COOKIE].OutputString().encode()))
            await send(message)
        await self.app(scope, receive, send_with_headers)

    def _cookie(self, resp: Response) -> None:
        resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", secure=self.secure, path="/")

    async def _send(self, resp: Response, scope, receive, send) -> None:
        resp.headers["cache-control"] = "no-store"
        resp.headers["referrer-policy"] = "no-referrer"
        await resp(scope, receive, send)


async def _deny(scope, receive, send, status: int, why: str) -> None:
    name = {401: "unauthorized", 413: "too large"}.get(status, "forbidden")
    resp = PlainTextResponse(f"{status} {name}: {why}\n",
                             status_code=status)
    resp.headers["cache-control"] = "no-store"
    await resp(scope, receive, send)


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _error(e: RadioError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": e.format_message()}, status_code=status)


def create_app(station: Station, week: str, token: str, *, hosts: set[str] | None = None,
               secure: bool = False) -> Guard:
    return Guard(Starlette(routes=routes(station, week)), token, hosts, secure)


def routes(station: Station, week: str) -> list:
    """The studio's pages and API for one week; `radio desk` mounts the same routes behind its accounts."""
    env = _templates()
    live = view.Live(station, week)
    max_ms = min(MAX_TAKE_MS, station.config.show.slot_ms)

    def page(name: str, **ctx) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(week=week, station=station.config.station.name,
                                                          show=station.config.show.title, **ctx))

    def speech_item(request: Request) -> str:
        item = request.path_params["item"]
        if item not in view.speech_ids(station, week):
            raise RadioError(f"no item {item!r} to record in the {week} rundown", fix="pick an item from the rundown")
        return item

    def rundown_page(request: Request) -> Response:
        return page("rundown.html")

    def booth_page(request: Request) -> Response:
        try:
            item = speech_item(request)
        except RadioError as e:
            return PlainTextResponse(f"404 {e.format_message()}\n", status_code=404)
        return page("booth.html", item=item)

    def api_state(request: Request) -> Response:
        return JSONResponse(live.state())

    def api_item(request: Request) -> Response:
        try:
            return JSONResponse(view.booth(station, week, speech_item(request)))
        except RadioError as e:
            return _error(e, 404)

    async def api_edit(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            op, item, expect = body.get("op"), str(body.get("id", "")), str(body.get("digest", ""))
            by = body.get("by")
            if op == "move" and isinstance(by, int) and not isinstance(by, bool) and by and abs(by) <= 10_000:
                change = lambda items: edits.move_item(items, item, body["by"])  # noqa: E731
            elif op == "skip" and isinstance(body.get("skip"), bool):
                change = lambda items: edits.set_skip(items, item, body["skip"])  # noqa: E731
            else:
                return JSONResponse({"error": "unknown change"}, status_code=400)
        except (ValueError, AttributeError):
            return JSONResponse({"error": "malformed request"}, status_code=400)
        try:
            await run_in_threadpool(edits.edit, station, week, change, expect=expect)
        except RadioError as e:
            conflict = "changed on disk" in e.format_message()
            return JSONResponse({"error": e.format_message(), "conflict": conflict,
                                 "state": await run_in_threadpool(live.state)}, status_code=409 if conflict else 400)
        return JSONResponse(await run_in_threadpool(live.state))

    async def api_upload(request: Request) -> Response:
        try:
            item = await run_in_threadpool(speech_item, request)
        except RadioError as e:
            return _error(e, 404)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            return JSONResponse({"error": f"a take must be audio (WebM or Ogg), not {kind or 'nothing'}"},
                                status_code=415)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
            return JSONResponse({"error": "the take is too large"}, status_code=413)
        tmp = store.upload_path(station, week, item)
        try:
            size = 0
            with open(tmp, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        return JSONResponse({"error": "the take is too large"}, status_code=413)
                    f.write(chunk)
            if size == 0:
                return JSONResponse({"error": "the take is empty: record it again"}, status_code=400)
            try:
                take, ms = await run_in_threadpool(store.add_take, station, week, item, tmp, max_ms=max_ms)
                verdict = await run_in_threadpool(view.judge, station, week, item, take.path, ms)
            except RadioError as e:
                return _error(e, 422)
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            tmp.unlink(missing_ok=True)
        return JSONResponse({"take": take.n, "file": take.path.name, **verdict})

    async def api_keep(request: Request) -> Response:
        try:
            item = await run_in_threadpool(speech_item, request)
            n = int(json.loads(await request.body() or b"{}").get("take"))
            path = await run_in_threadpool(store.keep, station, week, item, n)
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"error": "malformed request"}, status_code=400)
        except RadioError as e:
            return _error(e, 404)
        return JSONResponse({"kept": n, "file": path.name, "state": await run_in_threadpool(live.state)})

    def take_audio(request: Request) -> Response:
        try:
            item = speech_item(request)
        except RadioError as e:
            return PlainTextResponse(f"404 {e.format_message()}\n", status_code=404)
        n = request.path_params["n"]
        t = next((t for t in store.takes(station, week, item) if t.n == n), None)
        if t is None:
            return PlainTextResponse("404 no such take\n", status_code=404)
        return FileResponse(t.path, media_type="audio/ogg")

    return [
        Route("/", rundown_page),
        Route("/booth/{item}", booth_page),
        Route("/api/state", api_state),
        Route("/api/rundown", api_edit, methods=["POST"]),
        Route("/api/items/{item}", api_item),
        Route("/api/items/{item}/takes", api_upload, methods=["POST"]),
        Route("/api/items/{item}/keep", api_keep, methods=["POST"]),
        Route("/takes/{item}/{n:int}", take_audio),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

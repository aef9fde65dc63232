"""The newsroom app: the guard every request goes through, and the whole authorization table. Every route names
the roles that may use it (`table` in create_app, and STUDIO_ROLES, checked on the server for every request); the
pages themselves are in login.py, newsdesk.py (editors and translators), produce.py and correspondent.py. Pages
render with Jinja2 (autoescape, StrictUndefined) and plain JS modules from /assets, nothing from elsewhere.

Changes go through the same functions as the CLI (reports.add_check, history.correct, rundown.edit ...), under
the same per-report locks, so a command in a terminal and a click in a browser are interchangeable.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from radio.errors import RadioError
from radio.keys import keyring
from radio.web import accounts, audit, correspondent, login, newsdesk, produce, sessions, submit
from radio.web.common import (ALL, EDITOR, LOGIN_CONCURRENCY, PRODUCER, PUBLIC, TRANSLATOR, Desk, Stale, Web,
                               plain)
from radio.web.guard import SAFE_METHODS

HERE = Path(__file__).parent


def _with_ring(ring, endpoint: Callable, request: Request) -> Response:
    """Run a page in a worker thread with the session's unlocked identity, and no other: a request of someone
    who unlocked nothing never uses an identity the server's environment names."""
    with keyring.unlocked(ring):
        return endpoint(request)


def create_app(desk: Desk) -> Starlette:
    st = desk.station
    from radio.studio.app import STATIC as STUDIO_STATIC, TEMPLATES as STUDIO_TEMPLATES
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(HERE / "templates"), str(STUDIO_TEMPLATES)]),
                             autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    login_gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

    def page(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        s = request.state.session
        given = {"station": st.config.station.name, "show": st.config.show.title, "user": s.name if s else None,
                 "role": s.role if s else None, "csrf": request.state.csrf, "path": request.url.path}
        return HTMLResponse(env.get_template(template).render({**given, **ctx}), status_code=status)

    def problem(request: Request, status: int, message: str) -> HTMLResponse:
        return page(request, "error.html", status, status_code=status, message=message)

    # --- the wrapper every route goes through ----------------------------------------------------------

    def guarded(roles: frozenset, endpoint: Callable) -> Callable:
        is_async = asyncio.iscoroutinefunction(endpoint)

        async def handle(request: Request) -> Response:
            s = desk.sessions.get(request.cookies.get(sessions.COOKIE))
            if s is not None:
                account = (await run_in_threadpool(accounts.load, st)).get(s.name)
                if account is None or account.role != s.role or account.hash != s.stamp:
                    desk.sessions.end(s.sid)  # removed, given another role or a new password since it logged in
                    s = None
            request.state.session = s
            fresh = None
            if s is not None:
                request.state.csrf = s.csrf
            else:
                request.state.csrf = request.cookies.get(sessions.CSRF_COOKIE) or ""
                if not re.fullmatch(r"[A-Za-z0-9_-]{32}", request.state.csrf):
                    fresh = request.state.csrf = secrets.token_urlsafe(24)
            wants_page = request.method in SAFE_METHODS and not request.url.path.startswith("/api/")
            if roles != PUBLIC:
                if s is None:
                    if wants_page:
                        resp = RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)
                        return _with_csrf(resp, fresh)
                    return PlainTextResponse("401 unauthorized: log in first\n", status_code=401)
                if s.role not in roles:
                    return _with_csrf(problem(request, 403, "Your role may not open this page."), fresh) \
                        if wants_page else PlainTextResponse("403 forbidden: not for your role\n", status_code=403)
            if request.method not in SAFE_METHODS and not getattr(endpoint, "no_csrf", False):
                given = request.headers.get("x-csrf-token")
                if given is None:
                    kind = request.headers.get("content-type", "")
                    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                        try:
                            form = await request.form(max_files=submit.MAX_FILES, max_fields=20,
                                                      max_part_size=int(st.config.mail.max_attachment_mb * 1e6))
                        except (MultiPartException, ClientDisconnect, KeyError, ValueError):
                            return PlainTextResponse("400 bad request: the form could not be read\n",
                                                     status_code=400)
                        given = form.get("csrf")
                want = request.state.csrf
                cookie = request.cookies.get(sessions.CSRF_COOKIE) or ""
                if not isinstance(given, str) or not want or not hmac.compare_digest(given, want) or \
                        not hmac.compare_digest(cookie, want):
                    return PlainTextResponse("403 forbidden: the form's CSRF token is missing or wrong; reload the "
                                             "page and try again\n", status_code=403)
            ring = s.unlocked.get("keyring") if s is not None else None
            try:
                if is_async:
                    with keyring.unlocked(ring):  # this request's task only
                        resp = await endpoint(request)
                else:
                    resp = await run_in_threadpool(_with_ring, ring, endpoint, request)
            except Stale as e:
                return problem(request, 409, plain(e, st))
            except RadioError as e:
                if wants_page:
                    return problem(request, 400, plain(e, st))
                return JSONResponse({"error": plain(e, st)}, status_code=400)
            return _with_csrf(resp, fresh)

        return handle

    def _with_csrf(resp: Response, fresh: str | None) -> Response:
        if fresh:
            resp.set_cookie(sessions.CSRF_COOKIE, fresh, httponly=False, samesite="strict", secure=True, path="/")
        return resp

    def form_of(request: Request):
        return request._form  # read (and size-checked) by the guard's CSRF check

    def session(request: Request) -> sessions.Session:
        return request.state.session

    def record(request: Request, what: str, target: str = "", **detail: str) -> None:
        audit.record(st, session(request).name, what, target, **detail)

    web = Web(desk, st, page, problem, form_of, session, record, login_gate)
    h = {**login.handlers(web), **newsdesk.handlers(web), **produce.handlers(web), **correspondent.handlers(web)}

    # --- routes ----------------------------------------------------------------------------------------

    table: list[tuple[str, tuple, Callable, frozenset]] = [
        ("/", ("GET",), h["home"], ALL),
        ("/login", ("GET",), h["login_page"], PUBLIC),
        ("/login", ("POST",), h["login"], PUBLIC),
        ("/logout", ("POST",), h["logout"], ALL),
        ("/api/login/passkey/options", ("POST",), h["login_passkey_options"], PUBLIC),
        ("/api/login/passkey", ("POST",), h["login_passkey"], PUBLIC),
        ("/passkeys", ("GET",), h["passkeys_page"], ALL),
        ("/api/passkeys/options", ("POST",), h["passkey_options"], ALL),
        ("/api/passkeys", ("POST",), h["passkey_add"], ALL),
        ("/desk", ("GET",), h["desk_page"], frozenset(EDITOR)),
        ("/api/desk", ("GET",), h["desk_state"], frozenset(EDITOR)),
        ("/desk/r/{rid}", ("GET",), lambda r: h["report_page"](r), frozenset(EDITOR)),
        ("/api/desk/r/{rid}", ("GET",), h["report_state"], frozenset(EDITOR)),
        ("/desk/r/{rid}/private", ("GET",), h["private_page"], frozenset(EDITOR)),
        ("/desk/r/{rid}/{action}", ("POST",), h["act_or_reload"], frozenset(EDITOR)),
        ("/translate", ("GET",), h["translate_list"], frozenset(TRANSLATOR)),
        ("/translate/r/{rid}/{lang}", ("GET",), lambda r: h["translation_page"](r), frozenset(TRANSLATOR)),
        ("/translate/r/{rid}/{lang}", ("POST",), h["translation_save"], frozenset(TRANSLATOR)),
        ("/produce", ("GET",), h["produce_page"], frozenset(PRODUCER)),
        ("/api/produce", ("GET",), h["produce_state"], frozenset(PRODUCER)),
        ("/produce/item/{item}", ("GET",), lambda r: h["item_page"](r), frozenset(PRODUCER)),
        ("/produce/item/{item}", ("POST",), h["item_save"], frozenset(PRODUCER)),
        ("/produce/{what}", ("POST",), h["produce_run"], frozenset(PRODUCER)),
        ("/audit", ("GET",), h["audit_page"], frozenset(PRODUCER)),
        ("/users", ("GET",), h["users_page"], frozenset(PRODUCER)),
        ("/submit", ("GET",), h["submit_page"], PUBLIC),
        ("/submit", ("POST",), h["submit_post"], PUBLIC),
        ("/replies", ("GET",), h["replies_page"], PUBLIC),
        ("/replies", ("POST",), h["replies_post"], PUBLIC),
    ]
    routes = [Route(path, guarded(roles, fn), methods=list(methods)) for path, methods, fn, roles in table]
    routes += studio_routes(desk, guarded, page)
    from radio.web.public import collect
    contributed = collect(st, page)  # public routes other parts of radio contribute (unsubscribe, subscribe)
    routes += [Route(r.path, guarded(PUBLIC, r.endpoint), methods=sorted(r.methods - {"HEAD"})) for r in contributed]
    routes += [Mount("/assets", StaticFiles(directory=str(HERE / "static")), name="assets"),
               Mount("/static", StaticFiles(directory=str(STUDIO_STATIC)), name="static")]

    async def not_found(request: Request, exc) -> Response:
        return PlainTextResponse(f"{exc.status_code} {'not found' if exc.status_code == 404 else 'error'}\n",
                                 status_code=exc.status_code)

    async def server_error(request: Request, exc) -> Response:
        return PlainTextResponse("500 internal error: the desk could not do that; nothing was changed unless the "
                                 "page says so\n", status_code=500)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, 500: server_error})
    app.state.table = [(p, m, sorted(r)) for p, m, _, r in table] + STUDIO_TABLE + \
        [(r.path, tuple(sorted(r.methods - {"HEAD"})), sorted(PUBLIC)) for r in contributed]
    return app


# The studio's routes inside the desk: the host records, the producer plans; both read.
STUDIO_ROLES = {
    ("/", "GET"): ("host", "producer"),
    ("/booth/{item}", "GET"): ("host", "producer"),
    ("/api/state", "GET"): ("host", "producer"),
    ("/api/rundown", "POST"): ("producer",),
    ("/api/items/{item}", "GET"): ("host", "producer"),
    ("/api/items/{item}/takes", "POST"): ("host",),
    ("/api/items/{item}/keep", "POST"): ("host",),
    ("/takes/{item}/{n:int}", "GET"): ("host", "producer"),
    ("/audio-report", "GET"): ("producer",),  # the audio report of the last build, and its images
    ("/audio-report{name}", "GET"): ("producer",),
}
STUDIO_TABLE = [("/studio" if p == "/" else p, (m,), sorted(r)) for (p, m), r in STUDIO_ROLES.items()]


def studio_routes(desk: Desk, guarded, page) -> list:
    if desk.week is None:
        async def none(request: Request) -> Response:
            return PlainTextResponse("404 not found: no week has a rundown yet (radio plan WEEK)\n", status_code=404)
        return [Route("/studio" if p == "/" else p, guarded(frozenset(r), none), methods=[m])
                for (p, m), r in STUDIO_ROLES.items()]
    from radio.studio.app import routes
    out = []
    for r in routes(desk.studio_station or desk.station, desk.week, page):
        method = sorted(r.methods - {"HEAD"})[0]
        roles = STUDIO_ROLES[(r.path, method)]
        out.append(Route("/studio" if r.path == "/" else r.path, guarded(frozenset(roles), r.endpoint),
                         methods=[method]))
    return out


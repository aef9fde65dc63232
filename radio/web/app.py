"""The desk's routes. Every route names the roles that may use it (ROLES below is the whole authorization
table, checked on the server for every request); pages render with Jinja2 (autoescape, StrictUndefined) and
plain JS modules from /assets, nothing from elsewhere.

Changes go through the same functions as the CLI (reports.add_check, history.correct, rundown.edit ...), under
the same per-report locks, so a command in a terminal and a click in a browser are interchangeable.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
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
from radio.station import Station
from radio.web import accounts, audit, ops, passkeys, sessions, submit
from radio.web.guard import SAFE_METHODS

HERE = Path(__file__).parent
PUBLIC = frozenset({"public"})
EDITOR, PRODUCER, HOST, TRANSLATOR, CORRESPONDENT = ("editor",), ("producer",), ("host",), ("translator",), \
    ("correspondent",)
HOME = {"editor": "/desk", "producer": "/produce", "host": "/studio", "translator": "/translate",
        "correspondent": "/submit"}
ALL = frozenset(accounts.ROLES)
ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
WEEK = re.compile(r"\d{4}-W\d{2}")
LOGIN_CONCURRENCY = 2  # argon2 takes 64 MiB a check: a burst of logins must not take the machine's memory


class Stale(RadioError):
    pass


@dataclass
class Desk:
    station: Station
    week: str | None  # the studio's week (the newest with a rundown when the desk started)
    sessions: sessions.Sessions
    limits: sessions.Limits
    key: bytes
    secure: bool
    studio_station: Station | None = None  # an edition's studio (`radio studio --edition ID`), else the station's


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def folder_digest(folder: Path) -> str:
    h = hashlib.sha256()
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.name.startswith("."):
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def plain(e: RadioError, station: Station) -> str:
    """The error for a browser: what and the fix, never a file-system path."""
    text = e.format_message()
    if e.where:
        text = text.replace(f"{e.where}: ", "", 1)
    return text.replace(str(station.root) + "/", "").replace(str(station.root), "the station")


def _with_ring(ring, endpoint: Callable, request: Request) -> Response:
    """Run a page in a worker thread with the session's unlocked identity, and no other: a request of someone
    who unlocked nothing never uses an identity the server's environment names."""
    with keyring.unlocked(ring):
        return endpoint(request)


def unlock_at_login(station: Station, name: str, passphrase: str) -> tuple[object | None, str]:
    """An editor's identity kept in the station under their passphrase (`radio keys passphrase NAME`), unlocked
    for one session's memory; or None and what is needed, in one line."""
    try:
        path = keyring.identity_path(station, name)
    except RadioError:
        path = None
    if path is None:
        return None, "No key can be kept for this account's name: ask an editor with the key."
    if not path.is_file():
        return None, (f"No key is kept for {name} in the station: an editor with the key runs `radio keys "
                      f"passphrase {name}`, then you log in again.")
    try:
        return keyring.unlock(station, name, passphrase), ""
    except RadioError:
        return None, ("Your key did not open with that passphrase: log out, then log in again with the passphrase "
                      "it is kept under (`radio keys passphrase`).")


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

    # --- login -----------------------------------------------------------------------------------------

    def home(request: Request) -> Response:
        s = session(request)
        return RedirectResponse(HOME[s.role] if s else "/login", 303)

    def login_page(request: Request) -> Response:
        return page(request, "login.html", error=None, name="", next=_next(request.query_params.get("next")))

    def _next(target: str | None) -> str:
        return target if target and re.fullmatch(r"/[A-Za-z0-9/_.-]*", target) and not target.startswith("//") \
            else "/"

    async def login(request: Request) -> Response:
        form = form_of(request)
        name, password, otp, phrase = (str(form.get(k) or "")[:200] for k in ("username", "password", "otp",
                                                                                 "passphrase"))
        address = request.client.host if request.client else ""
        refused = desk.limits.refused(name, address)
        if refused:
            return page(request, "login.html", 429, name=name, next=_next(form.get("next")),
                        error="Too many failed logins. Wait a while, then try again.")
        async with login_gate:
            account = await run_in_threadpool(accounts.authenticate, st, name, password, otp)
        if account is None:
            desk.limits.failed(name, address)
            if desk.limits.refused(name, "") == "account":
                await run_in_threadpool(audit.record, st, "-", "account locked", name)
            return page(request, "login.html", 401, name=name, next=_next(form.get("next")),
                        error="Wrong name, password or code.")
        desk.limits.succeeded(name)
        target = _next(form.get("next"))
        return await begin(account, phrase or password,
                           RedirectResponse(HOME[account.role] if target == "/" else target, 303))

    async def begin(account: accounts.Account, phrase: str, resp: Response) -> Response:
        """Start a session for an account that has just proved who it is; unlock an editor's kept key."""
        ring, why = None, ""
        if account.role == "editor":  # the private block and the register need the editor's own key
            async with login_gate:  # scrypt, like argon2, takes its memory
                ring, why = await run_in_threadpool(unlock_at_login, st, account.name, phrase)
        s, cookie = desk.sessions.start(account.name, account.role, account.hash)
        if ring is not None:
            s.unlocked["keyring"] = ring  # in this process's memory only; dropped when the session ends
        elif why:
            s.unlocked["why"] = why
        await run_in_threadpool(audit.record, st, account.name, "login")
        resp.set_cookie(sessions.COOKIE, cookie, max_age=sessions.MAX_S, httponly=True, samesite="strict",
                        secure=True, path="/")
        resp.set_cookie(sessions.CSRF_COOKIE, s.csrf, httponly=False, samesite="strict", secure=True, path="/")
        return resp

    # --- passkeys: a second factor in place of the code ------------------------------------------------

    pending = passkeys.Pending()

    async def body_of(request: Request) -> dict:
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise RadioError("the request is not the page's JSON", fix="reload the page and try again")
        return data

    def _rp(request: Request) -> tuple[str, str]:
        return passkeys.rp_of(request.headers.get("host", ""), desk.secure)

    async def login_passkey_options(request: Request) -> Response:
        data = await body_of(request)
        name, password, phrase = (str(data.get(k) or "")[:200] for k in ("username", "password", "passphrase"))
        address = request.client.host if request.client else ""
        if desk.limits.refused(name, address):
            return JSONResponse({"error": "Too many failed logins. Wait a while, then try again."}, status_code=429)
        rp_id, _ = _rp(request)
        async with login_gate:
            account = await run_in_threadpool(accounts.authenticate, st, name, password, None)
        if account is None:
            desk.limits.failed(name, address)
            return JSONResponse({"error": "Wrong name or password."}, status_code=401)
        if not account.passkeys:
            return JSONResponse({"error": "This account has no passkey yet: log in with the code, then add one at "
                                          "Passkeys."}, status_code=400)
        challenge, options = passkeys.authentication_options(account, rp_id)
        return JSONResponse({"nonce": pending.put(account.name, challenge, phrase or password), "options": options})

    async def login_passkey(request: Request) -> Response:
        data = await body_of(request)
        got = pending.take(data.get("nonce"))
        address = request.client.host if request.client else ""
        if got is None:
            return JSONResponse({"error": "This login has expired or was used: start again."}, status_code=400)
        name, challenge, phrase = got
        rp_id, origin = _rp(request)
        account = (await run_in_threadpool(accounts.load, st)).get(name)
        if account is None or not await run_in_threadpool(passkeys.verify, st, account, data.get("credential"),
                                                          challenge, rp_id, origin):
            desk.limits.failed(name, address)
            return JSONResponse({"error": "The passkey was not accepted."}, status_code=401)
        desk.limits.succeeded(name)
        target = _next(str(data.get("next") or ""))
        return await begin(account, phrase, JSONResponse({"next": HOME[account.role] if target == "/" else target}))

    def passkeys_page(request: Request) -> Response:
        account = accounts.load(st).get(session(request).name)
        return page(request, "passkeys.html", keys=account.passkeys if account else [])

    async def passkey_options(request: Request) -> Response:
        s = session(request)
        rp_id, _ = _rp(request)
        account = (await run_in_threadpool(accounts.load, st)).get(s.name)
        challenge, options = passkeys.registration_options(account, rp_id, st.config.station.name)
        s.pending["passkey"] = (challenge, time.monotonic() + passkeys.CHALLENGE_S)
        return JSONResponse(options)

    async def passkey_add(request: Request) -> Response:
        s = session(request)
        data = await body_of(request)
        challenge, until = s.pending.pop("passkey", (b"", 0.0))
        if not challenge or until < time.monotonic():
            raise RadioError("no passkey was being added, or it took too long", fix="press Add a passkey again")
        rp_id, origin = _rp(request)
        await run_in_threadpool(passkeys.add, st, s.name, data.get("credential"), challenge, rp_id, origin)
        await run_in_threadpool(audit.record, st, s.name, "passkey added")
        return JSONResponse({"added": True})

    def logout(request: Request) -> Response:
        s = session(request)
        desk.sessions.end(s.sid)
        audit.record(st, s.name, "logout")
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(sessions.COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return resp

    # --- the editor's desk -----------------------------------------------------------------------------

    def _week(request: Request) -> str | None:
        w = request.query_params.get("week") or ""
        weeks = st.weeks()
        if w and WEEK.fullmatch(w) and w in weeks:
            return w
        return weeks[-1] if weeks else None

    def desk_rows(week: str, status: str, region: str, thread: str) -> list[dict]:
        rows, _ = ops.list_rows(st, week, status or None)
        if region or thread:
            files, _ = ops.load_week(st, week, strict=False)
            keep = {f.report.id for f in files if (not region or (f.report.region or "") == region)
                    and (not thread or (f.report.thread or "") == thread)}
            rows = [r for r in rows if r["id"] in keep]
        return rows

    def desk_page(request: Request) -> Response:
        week = _week(request)
        q = {k: request.query_params.get(k, "")[:80] for k in ("status", "region", "thread")}
        rows = desk_rows(week, **q) if week else []
        return page(request, "desk.html", week=week, weeks=st.weeks(), rows=rows, q=q,
                    digest=folder_digest(st.week_dir(week) / "reports") if week else "")

    def desk_state(request: Request) -> Response:
        week = _week(request)
        return JSONResponse({"digest": folder_digest(st.week_dir(week) / "reports") if week else ""})

    def _report(request: Request):
        rid = request.path_params["rid"]
        if not ID.fullmatch(rid):
            raise RadioError("no such report", fix="pick one from the desk")
        return ops.find_report(st, rid)

    def report_page(request: Request, status: int = 200, notice: str | None = None) -> Response:
        rf = _report(request)
        r = rf.report
        done, need = ops.policy_counts(r.checks, st.config.verification)
        box = (r.private.model_extra or {}).get("reply_box")
        return page(request, "report.html", status, r=r, text=ops.render_show(st, r.id, False), done=done, need=need,
                    history=ops.render_history(st, r.id), digest=file_digest(rf.path), notice=notice,
                    can_reply=isinstance(box, str), week=rf.path.parent.parent.name,
                    unverified=ops.sender_unverified(r))

    def report_state(request: Request) -> Response:
        rf = _report(request)
        return JSONResponse({"digest": file_digest(rf.path)})

    def private_page(request: Request) -> Response:
        rf = _report(request)
        if rf.report.private.sealed:  # sealed, and this session unlocked no key that opens it
            why = session(request).unlocked.get("why") or "Your key does not open this report's private block."
            return page(request, "private.html", 403, r=rf.report, text=None, locked=why)
        record(request, "viewed private block", rf.report.id)
        return page(request, "private.html", r=rf.report, text=ops.render_show(st, rf.report.id, True), locked=None)

    def _fresh(request: Request, rf) -> None:
        expect = str(form_of(request).get("digest") or "")
        if expect != file_digest(rf.path):
            raise Stale("this report changed since you opened it, so nothing was changed",
                        fix="here it is as it is now: look again, then repeat the change")

    def act(request: Request) -> Response:
        rf0 = _report(request)
        rid, what = rf0.report.id, request.path_params["action"]
        form = form_of(request)
        text = lambda k: " ".join(str(form.get(k) or "").split())[:2000]  # noqa: E731
        if what == "verify":
            method = text("method")
            if not method:
                raise RadioError("a check needs a method", fix="say how you checked: phone, visit, document")
            with ops.editing(st, rid) as rf:  # a check is added to what is there now: two editors give two checks
                ops.add_check_to(st, rf, session(request).name, method, text("note") or None, None)
            record(request, "verified", rid)  # the method and note are in the report, not in the log
        elif what in ("hold", "reject", "reopen"):
            status = {"hold": "held", "reject": "rejected", "reopen": "unverified"}[what]
            reason = text("reason")
            if status != "unverified" and not reason:
                raise RadioError(f"a reason is required to mark {rid} {status}", fix="say why, for the desk's record")
            with ops.editing(st, rid) as rf:
                _fresh(request, rf)
                ops.set_status_of(st, rf, status, reason or None)  # type: ignore[arg-type]
            record(request, {"hold": "held", "reject": "rejected", "reopen": "reopened"}[what], rid)
        elif what == "correct":
            _fresh(request, rf0)
            ops.correct(st, rid, text("note"))
            record(request, "corrected", rid)
        elif what == "retract":
            _fresh(request, rf0)
            ops.retract(st, rid, text("reason"))
            record(request, "retracted", rid)
        elif what == "reply":
            box = (rf0.report.private.model_extra or {}).get("reply_box")
            if not isinstance(box, str):
                raise RadioError("this report did not come through the submission form", fix="reply by other means")
            submit.reply(st, box, rid, str(form.get("text") or ""))
            record(request, "replied", rid)
        else:
            return problem(request, 404, "No such action.")
        return RedirectResponse(f"/desk/r/{rid}", 303)

    def act_or_reload(request: Request) -> Response:
        try:
            return act(request)
        except Stale as e:
            return report_page(request, 409, notice=plain(e, st))

    # --- the translator's desk -------------------------------------------------------------------------

    def _languages() -> list[str]:
        return sorted({e.language for e in st.editions()} | {st.primary_language})

    def translate_list(request: Request) -> Response:
        week = _week(request)
        lang = request.query_params.get("lang") or next((x for x in _languages() if x != st.primary_language),
                                                        st.primary_language)
        if lang not in _languages():
            lang = st.primary_language
        rows = ops.list_rows(st, week, "verified", lang)[0] if week else []
        keep = ("id", "title", "place", "translation")
        return page(request, "translate.html", week=week, weeks=st.weeks(), lang=lang, languages=_languages(),
                    rows=[{k: r[k] for k in keep} for r in rows])

    def _verified(request: Request):
        rf = _report(request)
        if rf.report.status != "verified":
            raise RadioError("no such verified report", fix="pick one from the list")
        return rf

    def translation_page(request: Request, status: int = 200, notice: str | None = None) -> Response:
        rf = _verified(request)
        lang = request.path_params["lang"]
        if lang not in _languages():
            raise RadioError(f"no edition in {lang!r}", fix="pick a language the station airs")
        pub = ops.public(rf.report, rf.path, public_id="")  # the translator's view: no ids
        path = rf.path.with_name(f"{rf.report.id}.{lang}.md")
        t = ops.read_translation(path) if path.is_file() else None
        return page(request, "translation.html", status, pub=pub, lang=lang, t=t, digest=file_digest(path),
                    notice=notice, week=rf.path.parent.parent.name)

    def translation_save(request: Request) -> Response:
        try:
            return _translation_save(request)
        except Stale as e:
            return translation_page(request, 409, notice=plain(e, st))

    def _translation_save(request: Request) -> Response:
        from radio import fsutil
        rf = _verified(request)
        lang = request.path_params["lang"]
        if lang not in _languages() or lang == rf.report.lang:
            raise RadioError(f"no edition in {lang!r}", fix="pick a language the station airs")
        path = rf.path.with_name(f"{rf.report.id}.{lang}.md")
        form = form_of(request)
        if form.get("create"):
            if not path.exists():
                ops.translate(st, rf.report.id, lang)
                record(request, "translation started", f"{rf.report.id}.{lang}")
            return RedirectResponse(f"/translate/r/{rf.report.id}/{lang}", 303)
        if str(form.get("digest") or "") != file_digest(path):
            raise Stale("the translation changed since you opened it, so nothing was saved",
                        fix="here it is as it is now: copy your text back in and save again")
        fields = {k: " ".join(str(form.get(k) or "").split())[:500] or None
                  for k in ("title", "attribution", "appeal", "translator")}
        body = str(form.get("body") or "").replace("\r\n", "\n").strip()[:submit.MAX_TEXT]
        state = "checked" if form.get("state") == "checked" else "draft"
        t = ops.Translation.model_validate({**fields, "state": state, "body": body})
        if t.state == "checked" and not ((t.title or "").strip() and t.body):
            raise RadioError("a checked translation needs a title and the text", fix="translate them, or keep it a draft")
        ops.public(rf.report.model_copy(update={"title": t.title or rf.report.title, "attribution": t.attribution,
                                            "appeal": t.appeal, "body": t.body, "lang": lang}), path, public_id="")
        import io
        from ruamel.yaml.comments import CommentedMap
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        front = text.split("---\n", 2)[1] if text.startswith("---\n") and text.count("---\n") >= 2 else ""
        data = ops.round_trip_yaml().load(front) or CommentedMap()  # the file's own order and comments are kept
        for k, v in (*fields.items(), ("state", state)):
            data[k] = v
        buf = io.StringIO()
        ops.round_trip_yaml().dump(data, buf)
        fsutil.write_text(path, f"---\n{buf.getvalue()}---\n{body}\n")
        record(request, "translation saved", f"{rf.report.id}.{lang}", state=state)
        return RedirectResponse(f"/translate/r/{rf.report.id}/{lang}", 303)

    # --- the producer ----------------------------------------------------------------------------------

    from radio.web.jobs import Jobs
    jobs = Jobs(st, lambda e: plain(e, st))

    def produce_page(request: Request) -> Response:
        weeks = [w for w in st.weeks() if (st.week_dir(w) / "rundown.yaml").is_file()]
        items = _rundown_items(desk.week)[0] if desk.week else []
        return page(request, "produce.html", week=desk.week, weeks=weeks, items=items)

    def _rundown_items(week: str) -> tuple[list[dict], str]:
        path = ops.rundown_path(st, week)
        data = path.read_bytes()
        rundown = ops.load_rundown(st, week)
        items = [{"id": e.id, "type": e.item.type, "host": e.item.host or "", "report": e.item.report or "",
                  "text": e.item.text or "", "bed": e.item.bed or "", "skip": e.item.skip,
                  "generated": bool(e.item.generated),
                  "title": e.item.title or e.item.report or e.item.element or ""} for e in rundown.entries]
        return items, ops.rundown_digest(data)

    def item_page(request: Request, status: int = 200, notice: str | None = None) -> Response:
        if desk.week is None:
            raise RadioError("no week has a rundown yet", fix="plan one: radio plan WEEK")
        items, digest = _rundown_items(desk.week)
        item = next((i for i in items if i["id"] == request.path_params["item"]), None)
        if item is None:
            raise RadioError("no such item in the rundown", fix="pick one from the list")
        return page(request, "item.html", status, week=desk.week, item=item, digest=digest, notice=notice,
                    hosts=[h.id for h in st.config.hosts],
                    beds=sorted(k for k, e in st.config.elements.items() if e.kind == "bed"))

    def item_save(request: Request) -> Response:
        form = form_of(request)
        item_id = request.path_params["item"]
        if desk.week is None:
            raise RadioError("no week has a rundown yet", fix="plan one: radio plan WEEK")
        items, _ = _rundown_items(desk.week)
        item = next((i for i in items if i["id"] == item_id), None)
        if item is None or item["type"] not in ("read", "recorded"):
            raise RadioError("no such item to edit in the rundown", fix="pick one from the list")
        host = str(form.get("host") or "")
        bed = str(form.get("bed") or "")
        text = str(form.get("text") or "").replace("\r\n", "\n").strip()[:submit.MAX_TEXT]
        if host not in {h.id for h in st.config.hosts}:
            raise RadioError(f"no host {host!r}", fix="pick one of the show's hosts")
        if bed and getattr(st.config.elements.get(bed), "kind", None) != "bed":
            raise RadioError(f"no bed {bed!r}", fix="pick one of the station's beds, or none")
        own_words = not item["report"] and not item["generated"]

        def change(seq) -> None:
            m = seq[ops.rundown_index(seq, item_id)]
            m["host"] = host
            if bed:
                m["bed"] = bed
            elif "bed" in m:
                del m["bed"]
            if own_words:
                m["text"] = text

        path = ops.rundown_path(st, desk.week)
        before = path.read_bytes()
        try:
            ops.edit_rundown(st, desk.week, change, expect=str(form.get("digest") or ""))
        except RadioError as e:
            if "changed on disk" in e.format_message():
                return item_page(request, 409, notice=plain(e, st))
            raise
        try:
            ops.load_rundown(st, desk.week)  # the same checks as every command (the producer's words included)
        except RadioError:
            from radio import fsutil
            fsutil.write_bytes(path, before)
            raise
        record(request, "rundown item changed", item_id)
        return RedirectResponse(f"/produce/item/{item_id}", 303)

    def produce_state(request: Request) -> Response:
        return JSONResponse(jobs.state())

    def produce_run(request: Request) -> Response:
        form = form_of(request)
        what = request.path_params["what"]
        week = str(form.get("week") or "")
        if what not in ("build", "publish", "bulletin", "send") or not WEEK.fullmatch(week) or week not in st.weeks():
            raise RadioError("no such week or action", fix="pick a week with a rundown")
        draft = bool(form.get("draft"))
        jobs.start(what, week, draft)
        record(request, f"{what} started", week, state="draft" if draft else "")
        return RedirectResponse("/produce", 303)

    def audit_page(request: Request) -> Response:
        return page(request, "audit.html", entries=audit.read(st))

    def users_page(request: Request) -> Response:
        users = accounts.load(st)
        return page(request, "users.html", users=[{"name": u.name, "role": u.role, "otp": bool(u.totp)}
                                                  for u in users.values()])

    # --- correspondents --------------------------------------------------------------------------------

    def submit_page(request: Request) -> Response:
        return page(request, "submit.html", error=None, limit=st.config.mail.max_attachment_mb,
                    files=submit.MAX_FILES)

    async def submit_post(request: Request) -> Response:
        form = form_of(request)
        files = []
        for f in form.getlist("attachment"):
            if hasattr(f, "read") and getattr(f, "filename", None):
                data = await f.read()
                files.append((f.filename, data))
        s = session(request)
        codename = None
        if s is not None and s.role == "correspondent":
            box = submit.mailbox_id(desk.key, f"account:{s.name}")
        else:
            codename = submit.new_codename()
            box = submit.mailbox_id(desk.key, f"codename:{codename}")
        try:
            await run_in_threadpool(submit.submit, st, box, str(form.get("title") or ""), str(form.get("text") or ""),
                                    files, s.name if s else None)
        except RadioError as e:
            return page(request, "submit.html", 400, error=plain(e, st), limit=st.config.mail.max_attachment_mb,
                        files=submit.MAX_FILES)
        # The audit log says a report came in, never from whom.
        await run_in_threadpool(audit.record, st, s.name if s else "(codename)", "submitted")
        return page(request, "submitted.html", codename=codename)

    def replies_page(request: Request) -> Response:
        s = session(request)
        if s is not None and s.role == "correspondent":
            return page(request, "replies.html", data=submit.replies(st, submit.mailbox_id(desk.key, f"account:{s.name}")),
                        asked=True, error=None)
        return page(request, "replies.html", data=None, asked=False, error=None)

    def replies_post(request: Request) -> Response:
        code = submit.normal(str(form_of(request).get("codename") or ""))
        box = submit.mailbox_id(desk.key, f"codename:{code}") if code else None
        if box is None or not submit.exists(st, box):
            return page(request, "replies.html", 404, data=None, asked=False,
                        error="No submission has that codename. Check it and try again.")
        return page(request, "replies.html", data=submit.replies(st, box), asked=True, error=None)

    # --- routes ----------------------------------------------------------------------------------------

    table: list[tuple[str, tuple, Callable, frozenset]] = [
        ("/", ("GET",), home, ALL),
        ("/login", ("GET",), login_page, PUBLIC),
        ("/login", ("POST",), login, PUBLIC),
        ("/logout", ("POST",), logout, ALL),
        ("/api/login/passkey/options", ("POST",), login_passkey_options, PUBLIC),
        ("/api/login/passkey", ("POST",), login_passkey, PUBLIC),
        ("/passkeys", ("GET",), passkeys_page, ALL),
        ("/api/passkeys/options", ("POST",), passkey_options, ALL),
        ("/api/passkeys", ("POST",), passkey_add, ALL),
        ("/desk", ("GET",), desk_page, frozenset(EDITOR)),
        ("/api/desk", ("GET",), desk_state, frozenset(EDITOR)),
        ("/desk/r/{rid}", ("GET",), lambda r: report_page(r), frozenset(EDITOR)),
        ("/api/desk/r/{rid}", ("GET",), report_state, frozenset(EDITOR)),
        ("/desk/r/{rid}/private", ("GET",), private_page, frozenset(EDITOR)),
        ("/desk/r/{rid}/{action}", ("POST",), act_or_reload, frozenset(EDITOR)),
        ("/translate", ("GET",), translate_list, frozenset(TRANSLATOR)),
        ("/translate/r/{rid}/{lang}", ("GET",), lambda r: translation_page(r), frozenset(TRANSLATOR)),
        ("/translate/r/{rid}/{lang}", ("POST",), translation_save, frozenset(TRANSLATOR)),
        ("/produce", ("GET",), produce_page, frozenset(PRODUCER)),
        ("/api/produce", ("GET",), produce_state, frozenset(PRODUCER)),
        ("/produce/item/{item}", ("GET",), lambda r: item_page(r), frozenset(PRODUCER)),
        ("/produce/item/{item}", ("POST",), item_save, frozenset(PRODUCER)),
        ("/produce/{what}", ("POST",), produce_run, frozenset(PRODUCER)),
        ("/audit", ("GET",), audit_page, frozenset(PRODUCER)),
        ("/users", ("GET",), users_page, frozenset(PRODUCER)),
        ("/submit", ("GET",), submit_page, PUBLIC),
        ("/submit", ("POST",), submit_post, PUBLIC),
        ("/replies", ("GET",), replies_page, PUBLIC),
        ("/replies", ("POST",), replies_post, PUBLIC),
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

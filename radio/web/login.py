"""Logging in and out: a password with a code or a passkey, the editor's kept key unlocked for the
session, and the passkeys page."""

from __future__ import annotations

import json
import re
import time
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from radio.errors import RadioError
from radio.keys import keyring
from radio.station import Station
from radio.web import accounts, audit, passkeys, sessions
from radio.web.common import HOME, Web


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


def handlers(web: Web) -> dict[str, Callable]:
    """The pages and actions, by name, for the authorization table in radio/web/app.py."""
    st = web.station

    def home(request: Request) -> Response:
        s = web.session(request)
        return RedirectResponse(HOME[s.role] if s else "/login", 303)

    def login_page(request: Request) -> Response:
        return web.page(request, "login.html", error=None, name="", next=_next(request.query_params.get("next")))

    def _next(target: str | None) -> str:
        return target if target and re.fullmatch(r"/[A-Za-z0-9/_.-]*", target) and not target.startswith("//") \
            else "/"

    async def login(request: Request) -> Response:
        form = web.form_of(request)
        name, password, otp, phrase = (str(form.get(k) or "")[:200] for k in ("username", "password", "otp",
                                                                                 "passphrase"))
        address = request.client.host if request.client else ""
        refused = web.desk.limits.refused(name, address)
        if refused:
            return web.page(request, "login.html", 429, name=name, next=_next(form.get("next")),
                            error="Too many failed logins. Wait a while, then try again.")
        async with web.login_gate:
            account = await run_in_threadpool(accounts.authenticate, st, name, password, otp)
        if account is None:
            web.desk.limits.failed(name, address)
            if web.desk.limits.refused(name, "") == "account":
                await run_in_threadpool(audit.record, st, "-", "account locked", name)
            return web.page(request, "login.html", 401, name=name, next=_next(form.get("next")),
                            error="Wrong name, password or code.")
        web.desk.limits.succeeded(name)
        target = _next(form.get("next"))
        return await begin(account, phrase or password,
                           RedirectResponse(HOME[account.role] if target == "/" else target, 303))

    async def begin(account: accounts.Account, phrase: str, resp: Response) -> Response:
        """Start a session for an account that has just proved who it is; unlock an editor's kept key."""
        ring, why = None, ""
        if account.role == "editor":  # the private block and the register need the editor's own key
            async with web.login_gate:  # scrypt, like argon2, takes its memory
                ring, why = await run_in_threadpool(unlock_at_login, st, account.name, phrase)
        s, cookie = web.desk.sessions.start(account.name, account.role, account.hash)
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
        return passkeys.rp_of(request.headers.get("host", ""), web.desk.secure)

    async def login_passkey_options(request: Request) -> Response:
        data = await body_of(request)
        name, password, phrase = (str(data.get(k) or "")[:200] for k in ("username", "password", "passphrase"))
        address = request.client.host if request.client else ""
        if web.desk.limits.refused(name, address):
            return JSONResponse({"error": "Too many failed logins. Wait a while, then try again."}, status_code=429)
        rp_id, _ = _rp(request)
        async with web.login_gate:
            account = await run_in_threadpool(accounts.authenticate, st, name, password, None)
        if account is None:
            web.desk.limits.failed(name, address)
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
            web.desk.limits.failed(name, address)
            return JSONResponse({"error": "The passkey was not accepted."}, status_code=401)
        web.desk.limits.succeeded(name)
        target = _next(str(data.get("next") or ""))
        return await begin(account, phrase, JSONResponse({"next": HOME[account.role] if target == "/" else target}))

    def passkeys_page(request: Request) -> Response:
        account = accounts.load(st).get(web.session(request).name)
        return web.page(request, "passkeys.html", keys=account.passkeys if account else [])

    async def passkey_options(request: Request) -> Response:
        s = web.session(request)
        rp_id, _ = _rp(request)
        account = (await run_in_threadpool(accounts.load, st)).get(s.name)
        challenge, options = passkeys.registration_options(account, rp_id, st.config.station.name)
        s.pending["passkey"] = (challenge, time.monotonic() + passkeys.CHALLENGE_S)
        return JSONResponse(options)

    async def passkey_add(request: Request) -> Response:
        s = web.session(request)
        data = await body_of(request)
        challenge, until = s.pending.pop("passkey", (b"", 0.0))
        if not challenge or until < time.monotonic():
            raise RadioError("no passkey was being added, or it took too long", fix="press Add a passkey again")
        rp_id, origin = _rp(request)
        await run_in_threadpool(passkeys.add, st, s.name, data.get("credential"), challenge, rp_id, origin)
        await run_in_threadpool(audit.record, st, s.name, "passkey added")
        return JSONResponse({"added": True})

    def logout(request: Request) -> Response:
        s = web.session(request)
        web.desk.sessions.end(s.sid)
        audit.record(st, s.name, "logout")
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(sessions.COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return resp

    return {f.__name__: f for f in (home, login_page, login, login_passkey_options, login_passkey, passkeys_page,
                                    passkey_options, passkey_add, logout)}

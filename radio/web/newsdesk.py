"""The editor's desk (reports: check, hold, correct, retract, reply; the private block for whoever holds its
key) and the translator's desk (verified reports into the other editions' languages)."""

from __future__ import annotations

from typing import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from radio.errors import RadioError
from radio.web import ops, submit
from radio.web.common import ID, WEEK, Stale, Web, file_digest, folder_digest, plain


def handlers(web: Web) -> dict[str, Callable]:
    """The pages and actions, by name, for the authorization table in radio/web/app.py."""
    st = web.station

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
        return web.page(request, "desk.html", week=week, weeks=st.weeks(), rows=rows, q=q,
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
        return web.page(request, "report.html", status, r=r, text=ops.render_show(st, r.id, False), done=done,
                        need=need, history=ops.render_history(st, r.id), digest=file_digest(rf.path), notice=notice,
                        can_reply=isinstance(box, str), week=rf.path.parent.parent.name,
                        unverified=ops.sender_unverified(r))

    def report_state(request: Request) -> Response:
        rf = _report(request)
        return JSONResponse({"digest": file_digest(rf.path)})

    def private_page(request: Request) -> Response:
        rf = _report(request)
        if rf.report.private.sealed:  # sealed, and this session unlocked no key that opens it
            why = web.session(request).unlocked.get("why") or "Your key does not open this report's private block."
            return web.page(request, "private.html", 403, r=rf.report, text=None, locked=why)
        web.record(request, "viewed private block", rf.report.id)
        return web.page(request, "private.html", r=rf.report, text=ops.render_show(st, rf.report.id, True),
                        locked=None)

    def _fresh(request: Request, rf) -> None:
        expect = str(web.form_of(request).get("digest") or "")
        if expect != file_digest(rf.path):
            raise Stale("this report changed since you opened it, so nothing was changed",
                        fix="here it is as it is now: look again, then repeat the change")

    def act(request: Request) -> Response:
        rf0 = _report(request)
        rid, what = rf0.report.id, request.path_params["action"]
        form = web.form_of(request)
        text = lambda k: " ".join(str(form.get(k) or "").split())[:2000]  # noqa: E731
        if what == "verify":
            method = text("method")
            if not method:
                raise RadioError("a check needs a method", fix="say how you checked: phone, visit, document")
            with ops.editing(st, rid) as rf:  # a check is added to what is there now: two editors give two checks
                ops.add_check_to(st, rf, web.session(request).name, method, text("note") or None, None)
            web.record(request, "verified", rid)  # the method and note are in the report, not in the log
        elif what in ("hold", "reject", "reopen"):
            status = {"hold": "held", "reject": "rejected", "reopen": "unverified"}[what]
            reason = text("reason")
            if status != "unverified" and not reason:
                raise RadioError(f"a reason is required to mark {rid} {status}", fix="say why, for the desk's record")
            with ops.editing(st, rid) as rf:
                _fresh(request, rf)
                ops.set_status_of(st, rf, status, reason or None)  # type: ignore[arg-type]
            web.record(request, {"hold": "held", "reject": "rejected", "reopen": "reopened"}[what], rid)
        elif what == "correct":
            _fresh(request, rf0)
            ops.correct(st, rid, text("note"))
            web.record(request, "corrected", rid)
        elif what == "retract":
            _fresh(request, rf0)
            ops.retract(st, rid, text("reason"))
            web.record(request, "retracted", rid)
        elif what == "reply":
            box = (rf0.report.private.model_extra or {}).get("reply_box")
            if not isinstance(box, str):
                raise RadioError("this report did not come through the submission form", fix="reply by other means")
            submit.reply(st, box, rid, str(form.get("text") or ""))
            web.record(request, "replied", rid)
        else:
            return web.problem(request, 404, "No such action.")
        return RedirectResponse(f"/desk/r/{rid}", 303)

    def act_or_reload(request: Request) -> Response:
        try:
            return act(request)
        except Stale as e:
            return report_page(request, 409, notice=plain(e, st))

    # --- the translator's desk ---------------------------------------------------------------------

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
        return web.page(request, "translate.html", week=week, weeks=st.weeks(), lang=lang, languages=_languages(),
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
        return web.page(request, "translation.html", status, pub=pub, lang=lang, t=t, digest=file_digest(path),
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
        form = web.form_of(request)
        if form.get("create"):
            if not path.exists():
                ops.translate(st, rf.report.id, lang)
                web.record(request, "translation started", f"{rf.report.id}.{lang}")
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
            raise RadioError("a checked translation needs a title and the text",
                             fix="translate them, or keep it a draft")
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
        web.record(request, "translation saved", f"{rf.report.id}.{lang}", state=state)
        return RedirectResponse(f"/translate/r/{rf.report.id}/{lang}", 303)

    return {f.__name__: f for f in (desk_page, desk_state, report_page, report_state, private_page, act_or_reload,
                                    translate_list, translation_page, translation_save)}

"""The producer's pages: the rundown's items, builds and sends started in the background, the audit log and
the users."""

from __future__ import annotations

from typing import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from radio.errors import RadioError
from radio.web import accounts, audit, ops, submit
from radio.web.common import WEEK, Web, plain


def handlers(web: Web) -> dict[str, Callable]:
    """The pages and actions, by name, for the authorization table in radio/web/app.py."""
    st = web.station

    from radio.web.jobs import Jobs
    jobs = Jobs(st, lambda e: plain(e, st))

    def produce_page(request: Request) -> Response:
        weeks = [w for w in st.weeks() if (st.week_dir(w) / "rundown.yaml").is_file()]
        items = _rundown_items(web.desk.week)[0] if web.desk.week else []
        return web.page(request, "produce.html", week=web.desk.week, weeks=weeks, items=items)

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
        if web.desk.week is None:
            raise RadioError("no week has a rundown yet", fix="plan one: radio plan WEEK")
        items, digest = _rundown_items(web.desk.week)
        item = next((i for i in items if i["id"] == request.path_params["item"]), None)
        if item is None:
            raise RadioError("no such item in the rundown", fix="pick one from the list")
        return web.page(request, "item.html", status, week=web.desk.week, item=item, digest=digest, notice=notice,
                        hosts=[h.id for h in st.config.hosts],
                        beds=sorted(k for k, e in st.config.elements.items() if e.kind == "bed"))

    def item_save(request: Request) -> Response:
        form = web.form_of(request)
        item_id = request.path_params["item"]
        if web.desk.week is None:
            raise RadioError("no week has a rundown yet", fix="plan one: radio plan WEEK")
        items, _ = _rundown_items(web.desk.week)
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

        path = ops.rundown_path(st, web.desk.week)
        before = path.read_bytes()
        try:
            ops.edit_rundown(st, web.desk.week, change, expect=str(form.get("digest") or ""))
        except RadioError as e:
            if "changed on disk" in e.format_message():
                return item_page(request, 409, notice=plain(e, st))
            raise
        try:
            ops.load_rundown(st, web.desk.week)  # the same checks as every command (the producer's words included)
        except RadioError:
            from radio import fsutil
            fsutil.write_bytes(path, before)
            raise
        web.record(request, "rundown item changed", item_id)
        return RedirectResponse(f"/produce/item/{item_id}", 303)

    def produce_state(request: Request) -> Response:
        return JSONResponse(jobs.state())

    def produce_run(request: Request) -> Response:
        form = web.form_of(request)
        what = request.path_params["what"]
        week = str(form.get("week") or "")
        if what not in ("build", "publish", "bulletin", "send") or not WEEK.fullmatch(week) or week not in st.weeks():
            raise RadioError("no such week or action", fix="pick a week with a rundown")
        draft = bool(form.get("draft"))
        jobs.start(what, week, draft)
        web.record(request, f"{what} started", week, state="draft" if draft else "")
        return RedirectResponse("/produce", 303)

    def audit_page(request: Request) -> Response:
        return web.page(request, "audit.html", entries=audit.read(st))

    def users_page(request: Request) -> Response:
        users = accounts.load(st)
        return web.page(request, "users.html", users=[{"name": u.name, "role": u.role, "otp": bool(u.totp)}
                                                  for u in users.values()])

    return {f.__name__: f for f in (produce_page, produce_state, item_page, item_save, produce_run, audit_page,
                                    users_page)}

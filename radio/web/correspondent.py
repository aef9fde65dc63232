"""The correspondents' pages: the submission form (an account, or a codename given once) and the replies
from the desk."""

from __future__ import annotations

from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from radio.errors import RadioError
from radio.web import audit, submit
from radio.web.common import Web, plain


def handlers(web: Web) -> dict[str, Callable]:
    """The pages and actions, by name, for the authorization table in radio/web/app.py."""
    st = web.station

    def submit_page(request: Request) -> Response:
        return web.page(request, "submit.html", error=None, limit=st.config.mail.max_attachment_mb,
                        files=submit.MAX_FILES)

    async def submit_post(request: Request) -> Response:
        form = web.form_of(request)
        files = []
        for f in form.getlist("attachment"):
            if hasattr(f, "read") and getattr(f, "filename", None):
                data = await f.read()
                files.append((f.filename, data))
        s = web.session(request)
        codename = None
        if s is not None and s.role == "correspondent":
            box = submit.mailbox_id(web.desk.key, f"account:{s.name}")
        else:
            codename = submit.new_codename()
            box = submit.mailbox_id(web.desk.key, f"codename:{codename}")
        try:
            await run_in_threadpool(submit.submit, st, box, str(form.get("title") or ""), str(form.get("text") or ""),
                                    files, s.name if s else None)
        except RadioError as e:
            return web.page(request, "submit.html", 400, error=plain(e, st), limit=st.config.mail.max_attachment_mb,
                            files=submit.MAX_FILES)
        # The audit log says a report came in, never from whom.
        await run_in_threadpool(audit.record, st, s.name if s else "(codename)", "submitted")
        return web.page(request, "submitted.html", codename=codename)

    def replies_page(request: Request) -> Response:
        s = web.session(request)
        if s is not None and s.role == "correspondent":
            box = submit.mailbox_id(web.desk.key, f"account:{s.name}")
            return web.page(request, "replies.html", data=submit.replies(st, box), asked=True, error=None)
        return web.page(request, "replies.html", data=None, asked=False, error=None)

    def replies_post(request: Request) -> Response:
        code = submit.normal(str(web.form_of(request).get("codename") or ""))
        box = submit.mailbox_id(web.desk.key, f"codename:{code}") if code else None
        if box is None or not submit.exists(st, box):
            return web.page(request, "replies.html", 404, data=None, asked=False,
                            error="No submission has that codename. Check it and try again.")
        return web.page(request, "replies.html", data=submit.replies(st, box), asked=True, error=None)

    return {f.__name__: f for f in (submit_page, submit_post, replies_page, replies_post)}

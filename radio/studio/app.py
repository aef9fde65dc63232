"""The studio's routes (Starlette): the rundown with live timing, the booth (prompter and recorder), a small JSON
API and uploads of takes. They run only inside the desk (`radio desk`, or `radio studio`, which starts the desk
at its /studio page): the desk's accounts, sessions, CSRF, host, origin and body checks stand in front of them,
and its page renderer (one base template) draws them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from radio.rundown import edits
from radio.station import AUDIO_REPORT_PARTS, Station
from radio.errors import RadioError
from radio.studio import store, view

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"  # drawn on the desk's base template
STATIC = HERE / "static"  # served by the desk at /static
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # Opus at a browser's bitrate is far below this for a whole show
MAX_TAKE_MS = 30 * 60 * 1000  # and no take may be longer than the slot either
UPLOAD_TYPES = {"audio/webm", "audio/ogg", "video/webm", "audio/mp4", "audio/x-matroska"}


def said(e: RadioError, station: Station) -> str:
    """The error for a browser: what and the fix, never a file-system path."""
    root = str(station.root)
    return e.format_message().replace(root + "/", "").replace(root, "the station")


def routes(station: Station, week: str, page: Callable[..., Response]) -> list[Route]:
    """The studio's pages and API for one week, for the desk to mount behind its accounts (at /studio, the rest
    as named). `page(request, template, **ctx)` renders a template from TEMPLATES with the desk's own context."""
    live = view.Live(station, week)

    def _error(e: RadioError, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": said(e, station)}, status_code=status)

    max_ms = min(MAX_TAKE_MS, station.config.show.slot_ms)

    def speech_item(request: Request) -> str:
        item = request.path_params["item"]
        if item not in view.speech_ids(station, week):
            raise RadioError(f"no item {item!r} to record in the {week} rundown", fix="pick an item from the rundown")
        return item

    def rundown_page(request: Request) -> Response:
        return page(request, "rundown.html", week=week, show=station.config.show.title,
                    audio_report=station.audio_report(week).is_file())

    def audio_report(request: Request) -> Response:
        """The producers' audio report of the last build (never published), and its images."""
        name = request.path_params.get("name", "")
        types = {".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
        part = name or ".html"
        if part not in AUDIO_REPORT_PARTS or not station.audio_report(week, part).is_file():
            return PlainTextResponse("404 no audio report: build the week first\n", status_code=404)
        path = station.audio_report(week, part)
        return FileResponse(path, media_type=types[path.suffix])

    def booth_page(request: Request) -> Response:
        try:
            item = speech_item(request)
        except RadioError as e:
            return PlainTextResponse(f"404 {said(e, station)}\n", status_code=404)
        return page(request, "booth.html", week=week, show=station.config.show.title, item=item)

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
            return JSONResponse({"error": said(e, station), "conflict": conflict,
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
            return PlainTextResponse(f"404 {said(e, station)}\n", status_code=404)
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
        Route("/audio-report", audio_report),
        Route("/audio-report{name}", audio_report),
    ]

"""The viewer's web app (Starlette): pages, the media route, the studio's API and its events.

    app = create_app(ViewerConfig(db="bench.sqlite"))
    uvicorn.run(app, host="127.0.0.1", port=8765)

Safety, by default:

* Every template is rendered with Jinja2 autoescape on: prompts, replies, code, error messages
  and critic findings are LLM-written or LLM-caused text and are always escaped. Pages carry a
  Content-Security-Policy that allows only this server's own script, so even text that slipped
  through could not run.
* Media is served only through `/files/<root>/<path>` (see `files.MediaRoots`): resolved, then
  checked to be inside manimatic's folders; anything else is 403.
* Bound to loopback, the app answers only requests whose Host is a loopback name (a page on
  another site cannot reach it through DNS rebinding), and the studio's POSTs must be JSON from
  the same origin (so a cross-site form cannot start generations).
* Everything rendered goes through the studio's sandboxed render pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from manimatic.web.files import FileRefused, MediaRoots, media_type
from manimatic.web.studio import Studio, StudioError, studio_models
from manimatic.web.views import NotFound

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
EVENT_POLL_S = 0.1
STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class ViewerConfig:
    """How the viewer runs.

    Attributes:
        db: The bench database (None: the default one).
        log_db: The generation log (None: the default one).
        serve_dirs: Extra folders whose media may be served (a study's run folder...).
        local_only: Accept only loopback Host headers (on when bound to loopback).
        pool: A render pool for the studio (None: one is made on first use).
    """

    db: str | Path | None = None
    log_db: str | Path | None = None
    serve_dirs: list[str | Path] = field(default_factory=list)
    local_only: bool = True
    pool: Any = None


def templates() -> Environment:
    """The Jinja2 environment: autoescape on for every template, whatever its name."""
    env = Environment(
        loader=PackageLoader("manimatic.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = _metric_filter
    env.filters["seconds"] = lambda v: "-" if v is None else f"{float(v):.1f}s"
    env.filters["dump"] = lambda v: json.dumps(v, indent=1, ensure_ascii=False, default=str)
    return env


def _metric_filter(value: Any, key: str = "vs") -> str:
    from manimatic.bench.report_tables import fmt_metric

    return fmt_metric(value, key)


class _LocalGuard:
    """Refuse non-loopback Host headers (DNS rebinding) and cross-origin writes."""

    def __init__(self, app: ASGIApp, local_only: bool) -> None:
        self.app = app
        self.local_only = local_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if self.local_only and name not in LOOPBACK_HOSTS:
            await PlainTextResponse("refused: this viewer answers on localhost only", 403)(
                scope, receive, send
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != host:
                await PlainTextResponse("refused: cross-origin request", 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ViewerConfig | None = None) -> Starlette:
    """Build the viewer app (the bench store and the log are opened now)."""
    from manimatic.agent.genlog import GenerationLog
    from manimatic.bench.store import Store

    config = config or ViewerConfig()
    env = templates()
    roots = MediaRoots.default(list(config.serve_dirs))
    store = Store(config.db)
    log = GenerationLog(config.log_db)
    round_template = env.get_template("_round_event.html")

    def round_event(rnd: Any, index: int) -> dict[str, Any]:
        from manimatic.agent.review import round_views

        # A live round is shown with the same fragment as a stored one: one layout.
        view = round_views({"rounds": [rnd.to_dict()]})[0]
        view.index = index
        return {"attempt": rnd.attempt, "kind": rnd.kind, "html": round_template.render(r=view)}

    studio = Studio(
        pool=config.pool, render_event=round_event, media_url=roots.url, log_path=log.path
    )

    def page(template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})

    def not_found(message: str) -> HTMLResponse:
        return page("error.html", 404, title="not found", message=message)

    async def runs(request: Request) -> Response:
        from manimatic.web.views import runs_list

        rows = await run_in_threadpool(runs_list, store)
        return page("runs.html", title="runs", runs=rows, db=str(store.path))

    async def run(request: Request) -> Response:
        from manimatic.web.views import run_page

        try:
            data = await run_in_threadpool(run_page, store, request.path_params["run_id"])
        except NotFound as exc:
            return not_found(str(exc))
        return page("run.html", title=f"run {data['run'].id}", **data)

    async def conditions(request: Request) -> Response:
        from manimatic.web.views import conditions_page

        ids = [v for v in request.query_params.getlist("run") if v]
        try:
            data = await run_in_threadpool(conditions_page, store, ids)
        except NotFound as exc:
            return not_found(str(exc))
        return page("conditions.html", title="conditions", **data)

    async def task(request: Request) -> Response:
        from manimatic.web.views import task_page

        p = request.path_params
        try:
            data = await run_in_threadpool(task_page, store, p["run_id"], p["task_id"], roots)
        except NotFound as exc:
            return not_found(str(exc))
        return page("task.html", title=f"task {p['task_id']}", **data)

    async def compare(request: Request) -> Response:
        from manimatic.web.views import compare_page, runs_list

        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            rows = await run_in_threadpool(runs_list, store)
            return page("compare.html", title="compare", runs=rows, comparison=None)
        try:
            data = await run_in_threadpool(compare_page, store, a, b)
        except NotFound as exc:
            return not_found(str(exc))
        return page("compare.html", title="compare", runs=None, **data)

    async def logs(request: Request) -> Response:
        entries = await run_in_threadpool(log.entries, 500)
        return page("logs.html", title="generations", entries=entries, log_path=str(log.path))

    async def log_entry(request: Request) -> Response:
        from manimatic.web.views import log_entry_page

        try:
            entry_id = int(request.path_params["entry_id"])
            data = await run_in_threadpool(log_entry_page, log, entry_id, roots)
        except (ValueError, NotFound) as exc:
            return not_found(str(exc))
        return page("log_entry.html", title=f"generation {entry_id}", **data)

    async def log_video(request: Request) -> Response:
        from manimatic.agent.genlog import LogError
        from manimatic.web.files import MEDIA_TYPES

        try:
            entry = await run_in_threadpool(log.get, int(request.path_params["entry_id"]))
        except (ValueError, LogError):
            return PlainTextResponse("no such generation", 404)
        path = Path(entry.video) if entry.video else None
        if path is None or not path.is_file() or path.suffix.lower() not in MEDIA_TYPES:
            return PlainTextResponse("this generation has no video on disk", 404)
        return FileResponse(path, media_type=media_type(path))

    async def files(request: Request) -> Response:
        p = request.path_params
        try:
            path = roots.resolve(p["root"], p["path"])
        except FileRefused as exc:
            return PlainTextResponse(f"refused: {exc}", 403)
        except FileNotFoundError:
            return PlainTextResponse("not found", 404)
        return FileResponse(path, media_type=media_type(path))

    async def studio_page(request: Request) -> Response:
        from manimatic.agent.strategies import STRATEGIES

        models = await run_in_threadpool(studio_models)
        return page("studio.html", title="studio", models=models, strategies=list(STRATEGIES))

    async def studio_generate(request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            job = await run_in_threadpool(
                studio.start,
                body.get("description"),
                body.get("model"),
                body.get("strategy", "ritl"),
                body.get("rounds"),
            )
        except StudioError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"job": job.id, "events": f"/api/studio/jobs/{job.id}/events"})

    async def studio_events(request: Request) -> Response:
        job = studio.job(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such job"}, 404)

        async def stream() -> AsyncIterator[str]:
            index = 0
            while True:
                events, finished = job.events_since(index)
                for name, payload in events:
                    yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
                index += len(events)
                if finished and not events:
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(EVENT_POLL_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def studio_render(request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            out = await run_in_threadpool(studio.render, body.get("code"))
        except StudioError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(out)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(studio.close)
            store.close()
            log.close()

    routes = [
        Route("/", runs),
        Route("/runs/{run_id}", run),
        Route("/runs/{run_id}/tasks/{task_id:path}", task),
        Route("/compare", compare),
        Route("/conditions", conditions),
        Route("/logs", logs),
        Route("/logs/{entry_id}", log_entry),
        Route("/logs/{entry_id}/video", log_video),
        Route("/files/{root}/{path:path}", files),
        Route("/studio", studio_page),
        Route("/api/studio/generate", studio_generate, methods=["POST"]),
        Route("/api/studio/jobs/{job_id}/events", studio_events),
        Route("/api/studio/render", studio_render, methods=["POST"]),
        Route("/favicon.ico", lambda r: RedirectResponse("/static/favicon.svg")),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_LocalGuard, local_only=config.local_only)],
        lifespan=lifespan,
    )
    app.state.studio = studio
    app.state.roots = roots
    return app


async def _json_body(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or the 4xx response saying why there is none."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": "send JSON (Content-Type: application/json)"}, 415)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "the body is not valid JSON"}, 400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "send a JSON object"}, 400)
    return body

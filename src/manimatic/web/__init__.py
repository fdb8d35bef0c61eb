"""`manimatic view`: a local web viewer of bench runs and logged generations, and a studio.

    from manimatic.web import ViewerConfig, create_app, serve
    serve(ViewerConfig(db="bench.sqlite"), port=8765)     # http://127.0.0.1:8765

Pages: runs (sortable, filterable), a run (tables with intervals, plots, tasks), a task (the
description, the reference and every condition's video side by side, each round's prompt,
reply, code with diffs, error, scores and critic findings), compare (tasks that flipped),
generations (the log), and the studio (generate live over server-sent events, edit, re-render).
Needs the `web` extra (starlette, uvicorn, jinja2).
"""

from manimatic.web.app import ViewerConfig, create_app
from manimatic.web.server import ServerInfo, is_loopback, serve

__all__ = ["ServerInfo", "ViewerConfig", "create_app", "is_loopback", "serve"]

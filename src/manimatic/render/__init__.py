"""code -> RenderResult: sandboxed warm worker pool, content-addressed cache, static preflight.

Quick use::

    from manimatic.render import render_code
    result = render_code(open("scene.py").read())
    print(result.ok, result.outputs, result.error)

`render_code` uses one shared pool per process (started on first use, closed at exit); create a
`RenderPool` yourself to choose the number of workers, the sandbox mode or the limits.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from manimatic.render.cache import RenderCache, render_key
from manimatic.render.pool import OUTPUT_FORMATS, RenderPool, RenderRequest
from manimatic.render.result import CATEGORIES, STAGES, RenderError, RenderPoolError, RenderResult
from manimatic.render.sandbox import Limits

__all__ = [
    "CATEGORIES",
    "OUTPUT_FORMATS",
    "STAGES",
    "Limits",
    "RenderCache",
    "RenderError",
    "RenderPool",
    "RenderPoolError",
    "RenderRequest",
    "RenderResult",
    "default_pool",
    "render_code",
    "render_key",
]

_shared: RenderPool | None = None
_shared_lock = threading.Lock()


def default_pool() -> RenderPool:
    """The process-wide pool used by `render_code` (CPU-count workers, default cache)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            _shared = RenderPool()
            atexit.register(_shared.close)
        return _shared


def render_code(
    code: str,
    *,
    scene: str | None = None,
    quality: str = "l",
    timeout: float = 60.0,
    out_dir: str | Path | None = None,
    dry_run: bool = False,
    trace: bool = False,
    preflight: bool = True,
    use_cache: bool = True,
    file: str | None = None,
    pool: RenderPool | None = None,
) -> RenderResult:
    """Render Manim code in the sandbox and return what happened (never raises for bad code)."""
    return (pool or default_pool()).render(
        code,
        scene=scene,
        quality=quality,
        timeout=timeout,
        out_dir=Path(out_dir) if out_dir else None,
        dry_run=dry_run,
        trace=trace,
        preflight=preflight,
        use_cache=use_cache,
        file=file,
    )

"""Scene traces: what is on screen at each sampled frame (type, colour, box, text).

A trace is the renderer's "semantic" record of a scene, used by the fidelity metric: two renders
of the same task show the same kinds of objects with similar colours, texts and layout, even when
their pixels differ. Recorded in the job process by wrapping the Cairo renderer's frame writer.

Format (one JSON file per scene)::

    {"fps": 5, "frame_width": 14.22, "frame_height": 8.0,
     "frames": [{"t": 0.0, "mobjects": [{"type": "Circle", "color": "#FC6255",
                 "fill_opacity": 0.0, "bbox": [x0, y0, x1, y1], "text": null}]}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRACE_FPS = 5.0
MAX_OBJECTS_PER_FRAME = 200
_GROUP_TYPES = {"VGroup", "Group", "VDict", "Mobject", "VMobject"}


def _describe(mob: Any) -> dict[str, Any] | None:
    """One on-screen object, or None. Never raises: tracing must not change a render's outcome
    (e.g. a ValueTracker has points but `get_fill_opacity` fails on it)."""
    try:
        return _describe_unsafe(mob)
    except Exception:  # noqa: BLE001
        return None


def _describe_unsafe(mob: Any) -> dict[str, Any] | None:
    points = mob.get_all_points() if hasattr(mob, "get_all_points") else None
    if points is None or len(points) == 0:
        return None
    lo, hi = points.min(axis=0), points.max(axis=0)
    try:
        color = mob.get_color().to_hex()
    except Exception:
        color = None
    text = getattr(mob, "text", None) or getattr(mob, "tex_string", None)
    fill = getattr(mob, "get_fill_opacity", None)
    try:
        fill_opacity = round(float(fill()), 3) if callable(fill) else None
    except Exception:  # noqa: BLE001
        fill_opacity = None
    return {
        "type": type(mob).__name__,
        "color": color,
        "fill_opacity": fill_opacity,
        "bbox": [round(float(v), 3) for v in (lo[0], lo[1], hi[0], hi[1])],
        "text": str(text)[:200] if isinstance(text, str) else None,
    }


def snapshot(scene: Any) -> list[dict[str, Any]]:
    """The objects on screen: top-level mobjects, with plain groups opened up."""
    out: list[dict[str, Any]] = []
    stack = list(reversed(scene.mobjects))
    while stack and len(out) < MAX_OBJECTS_PER_FRAME:
        mob = stack.pop()
        if type(mob).__name__ in _GROUP_TYPES and mob.submobjects:
            stack.extend(reversed(mob.submobjects))
            continue
        entry = _describe(mob)
        if entry:
            out.append(entry)
    return out


class TraceRecorder:
    """Samples the scene at TRACE_FPS while frames are written; writes one JSON per scene."""

    def __init__(self) -> None:
        self.scene: Any = None
        self.frames: list[dict[str, Any]] = []
        self.next_t = 0.0

    def start(self, scene: Any) -> None:
        self.scene, self.frames, self.next_t = scene, [], 0.0

    def on_frames(self, start_s: float, end_s: float) -> None:
        """Frames covering [start_s, end_s) were written: sample the sampling times they hold."""
        if self.scene is None or end_s <= self.next_t + 1e-9:
            return
        try:
            objects = snapshot(self.scene)  # frames in one call all show the same state
        except Exception:  # noqa: BLE001 - a trace must never change whether a scene renders
            objects = []
        while self.next_t < end_s - 1e-9:
            self.frames.append({"t": round(self.next_t, 3), "mobjects": objects})
            self.next_t = round(self.next_t + 1 / TRACE_FPS, 6)

    def finish(self, path: Path, frame_width: float, frame_height: float) -> Path:
        if not self.frames and self.scene is not None:  # a still scene: its final state
            try:
                objects = snapshot(self.scene)
            except Exception:  # noqa: BLE001
                objects = []
            self.frames.append({"t": 0.0, "mobjects": objects})
        data = {
            "fps": TRACE_FPS,
            "frame_width": round(float(frame_width), 4),
            "frame_height": round(float(frame_height), 4),
            "frames": self.frames,
        }
        path.write_text(json.dumps(data))
        self.scene = None
        return path


def install(recorder: TraceRecorder) -> None:
    """Wrap CairoRenderer.add_frame so every written frame passes through the recorder."""
    from manim.renderer.cairo_renderer import CairoRenderer

    original = CairoRenderer.add_frame

    def add_frame(self: Any, frame: Any, num_frames: int = 1) -> None:
        before = self.time
        original(self, frame, num_frames)
        if not self.skip_animations:
            recorder.on_frames(before, self.time)

    CairoRenderer.add_frame = add_frame  # type: ignore[method-assign]

"""Scene traces: what is on screen at each sampled frame (type, colour, box, text).

A trace is the renderer's "semantic" record of a scene, used by the fidelity metric: two renders
of the same task show the same kinds of objects with similar colours, texts and layout, even when
their pixels differ. Recorded in the job process by wrapping the Cairo renderer's frame writer.

The layout critic (`manimatic.critic`) reads the same trace: it needs to follow an object over
time (`id`), to know how visible it is (stroke as well as fill), how large a text is
(`font_size`), where strokes actually run (`paths`, for lines crossing text: a bounding box of an
axis or a curve covers far more than the stroke), what the camera shows and in front of what
background.

Format (one JSON file per scene; fields after `text` were added by format 2 and may be absent)::

    {"fps": 5, "frame_width": 14.22, "frame_height": 8.0, "format": 2,
     "pixel_width": 854, "pixel_height": 480, "background": "#000000", "three_d": false,
     "frames": [{"t": 0.0, "camera": [x0, y0, x1, y1] (moving cameras only),
                 "mobjects": [{"type": "Circle", "color": "#FC6255", "fill_opacity": 0.0,
                 "bbox": [x0, y0, x1, y1], "text": null, "id": 3, "stroke_opacity": 1.0,
                 "stroke_width": 4.0, "font_size": null, "opacity": 1.0, "colors": ["#fc6255"],
                 "paths": [[[x, y], ...], ...]}]}]}

`opacity` and `colors` describe the drawn members (see `_visibility`); `paths` are given for
unfilled non-text objects only (null when the frame's path budget was spent).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

TRACE_FPS = 5.0
TRACE_FORMAT = 2  # part of the render cache key: a new field must not be served from old entries
MAX_OBJECTS_PER_FRAME = 200
MAX_PATH_POINTS = 96  # per object: enough to tell where an axis or a curve runs, small on disk
# Per frame, over all objects: bounds the trace of a long, crowded scene (200 objects x 96 points
# x 5 samples a second would be ~60 MB a minute) far below the job's file-size limit.
MAX_FRAME_PATH_POINTS = 2000
_GROUP_TYPES = {"VGroup", "Group", "VDict", "Mobject", "VMobject"}


def _number(getter: Any) -> float | None:
    try:
        return round(float(getter()), 3) if callable(getter) else None
    except Exception:  # noqa: BLE001
        return None


def _stroke_paths(mob: Any) -> list[list[list[float]]]:
    """Polylines of the object's stroked, unfilled parts (an axis, a curve, an arrow's shaft).

    Each cubic Bezier curve contributes its midpoint and end anchor; a new polyline starts where
    a curve does not begin at the previous one's end. Long paths are thinned evenly, keeping
    their ends, so the whole object stays under MAX_PATH_POINTS.
    """
    import numpy as np

    paths: list[np.ndarray] = []
    for part in mob.get_family():
        points = getattr(part, "points", None)
        if points is None or len(points) < 4:
            continue
        if _number(getattr(part, "get_fill_opacity", None)) or not (
            (_number(getattr(part, "get_stroke_opacity", None)) or 0)
            and (_number(getattr(part, "get_stroke_width", None)) or 0)
        ):
            continue  # filled (glyphs, tips) or not stroked: nothing line-like to cross text
        curves = points[: len(points) // 4 * 4].reshape(-1, 4, 3)[:, :, :2]
        mids = (curves[:, 0] + 3 * curves[:, 1] + 3 * curves[:, 2] + curves[:, 3]) / 8
        # A new polyline wherever a curve does not start at the previous one's end.
        breaks = np.flatnonzero(np.abs(curves[1:, 0] - curves[:-1, 3]).max(axis=1) > 1e-6) + 1
        for chunk in np.split(np.arange(len(curves)), breaks):
            line = np.empty((2 * len(chunk) + 1, 2))
            line[0] = curves[chunk[0], 0]
            line[1::2] = mids[chunk]
            line[2::2] = curves[chunk, 3]
            paths.append(line)
    total = sum(len(p) for p in paths)
    if total > MAX_PATH_POINTS:
        # Longest first, so that when paths must be dropped an axis outlives its tick marks.
        paths.sort(key=lambda p: -float(np.ptp(p, axis=0).max()))
        keep = max(2, MAX_PATH_POINTS // max(1, len(paths)))
        paths = [
            p[np.unique(np.linspace(0, len(p) - 1, min(len(p), keep)).round().astype(int))]
            for p in paths
        ][: MAX_PATH_POINTS // 2]
    return [[[round(float(x), 3), round(float(y), 3)] for x, y in p] for p in paths]


def _visibility(mob: Any) -> tuple[float | None, list[str]]:
    """How opaque the drawn parts are at most, and their colours (up to four).

    A text or formula is a group whose own opacity means nothing (MathTex reports 0 while its
    glyphs are opaque), so this looks at every member that has points: its fill if filled, its
    stroke if stroked.
    """
    best: float | None = None
    colors: list[str] = []
    for part in mob.get_family():
        points = getattr(part, "points", None)
        if points is None or len(points) == 0:
            continue
        fill = _number(getattr(part, "get_fill_opacity", None)) or 0.0
        stroke = _number(getattr(part, "get_stroke_opacity", None)) or 0.0
        if not _number(getattr(part, "get_stroke_width", None)):
            stroke = 0.0
        best = max(best or 0.0, fill, stroke)
        try:
            color = (part.get_fill_color() if fill >= stroke else part.get_stroke_color()).to_hex()
        except Exception:  # noqa: BLE001
            continue
        if max(fill, stroke) > 0 and color not in colors and len(colors) < 4:
            colors.append(color)
    return best, colors


def _font_size(mob: Any) -> float | None:
    if not isinstance(getattr(type(mob), "font_size", None), property):
        return None
    try:
        value = float(mob.font_size)
    except Exception:  # noqa: BLE001 - a zero-height text divides by zero
        return None
    return round(value, 2) if value == value and value > 0 else None  # NaN-safe


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
    # Text keeps what was typed in `original_text`; its `text` has the spaces taken out.
    text = (
        getattr(mob, "original_text", None)
        or getattr(mob, "text", None)
        or getattr(mob, "tex_string", None)
    )
    fill_opacity = _number(getattr(mob, "get_fill_opacity", None))
    entry = {
        "type": type(mob).__name__,
        "color": color,
        "fill_opacity": fill_opacity,
        "bbox": [round(float(v), 3) for v in (lo[0], lo[1], hi[0], hi[1])],
        "text": str(text)[:200] if isinstance(text, str) else None,
        "stroke_opacity": _number(getattr(mob, "get_stroke_opacity", None)),
        "stroke_width": _number(getattr(mob, "get_stroke_width", None)),
        "font_size": _font_size(mob),
    }
    entry["opacity"], entry["colors"] = _visibility(mob)
    if not fill_opacity and entry["text"] is None:
        with contextlib.suppress(Exception):
            entry["paths"] = _stroke_paths(mob)
    return entry


def snapshot(scene: Any, ids: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """The objects on screen: top-level mobjects, with plain groups opened up.

    `ids` maps Python object ids to small per-scene numbers, so that one object can be followed
    from frame to frame (the mobjects stay alive while on screen, so their ids are not reused).
    """
    out: list[dict[str, Any]] = []
    path_points = 0
    stack = list(reversed(scene.mobjects))
    while stack and len(out) < MAX_OBJECTS_PER_FRAME:
        mob = stack.pop()
        if type(mob).__name__ in _GROUP_TYPES and mob.submobjects:
            stack.extend(reversed(mob.submobjects))
            continue
        entry = _describe(mob)
        if entry:
            points = sum(len(p) for p in entry.get("paths") or ())
            if points and path_points + points > MAX_FRAME_PATH_POINTS:
                entry["paths"] = None  # over budget: a stroke object, its course not recorded
            else:
                path_points += points
            if ids is not None:
                entry["id"] = ids.setdefault(id(mob), len(ids))
            out.append(entry)
    return out


def _camera_box(scene: Any) -> list[float] | None:
    """What a moving camera shows, as [x0, y0, x1, y1]; None for the fixed default camera."""
    frame = getattr(getattr(scene, "camera", None), "frame", None)
    if frame is None:
        return None
    try:
        (x, y, _), w, h = frame.get_center(), frame.width, frame.height
    except Exception:  # noqa: BLE001
        return None
    return [round(float(v), 3) for v in (x - w / 2, y - h / 2, x + w / 2, y + h / 2)]


class TraceRecorder:
    """Samples the scene at TRACE_FPS while frames are written; writes one JSON per scene."""

    def __init__(self) -> None:
        self.scene: Any = None
        self.frames: list[dict[str, Any]] = []
        self.next_t = 0.0
        self.ids: dict[int, int] = {}
        self.pixels: tuple[int, int] | None = None

    def start(self, scene: Any) -> None:
        """Called inside the scene's config (the pixel size is only known there)."""
        self.scene, self.frames, self.next_t, self.ids = scene, [], 0.0, {}
        try:
            from manim import config

            self.pixels = (int(config.pixel_width), int(config.pixel_height))
        except Exception:  # noqa: BLE001
            self.pixels = None

    def _frame(self, t: float, objects: list[dict[str, Any]]) -> dict[str, Any]:
        frame: dict[str, Any] = {"t": round(t, 3), "mobjects": objects}
        camera = _camera_box(self.scene)
        if camera is not None:
            frame["camera"] = camera
        return frame

    def on_frames(self, start_s: float, end_s: float) -> None:
        """Frames covering [start_s, end_s) were written: sample the sampling times they hold."""
        if self.scene is None or end_s <= self.next_t + 1e-9:
            return
        try:
            objects = snapshot(self.scene, self.ids)  # frames in one call show the same state
        except Exception:  # noqa: BLE001 - a trace must never change whether a scene renders
            objects = []
        while self.next_t < end_s - 1e-9:
            self.frames.append(self._frame(self.next_t, objects))
            self.next_t = round(self.next_t + 1 / TRACE_FPS, 6)

    def finish(self, path: Path, frame_width: float, frame_height: float) -> Path:
        if not self.frames and self.scene is not None:  # a still scene: its final state
            try:
                objects = snapshot(self.scene, self.ids)
            except Exception:  # noqa: BLE001
                objects = []
            self.frames.append(self._frame(0.0, objects))
        data: dict[str, Any] = {
            "fps": TRACE_FPS,
            "frame_width": round(float(frame_width), 4),
            "frame_height": round(float(frame_height), 4),
            "format": TRACE_FORMAT,
            "frames": self.frames,
        }
        if self.pixels:
            data["pixel_width"], data["pixel_height"] = self.pixels
        camera = getattr(self.scene, "camera", None)
        with contextlib.suppress(Exception):
            data["background"] = camera.background_color.to_hex()  # type: ignore[union-attr]
        data["three_d"] = type(camera).__name__ == "ThreeDCamera"
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

"""A scene trace read for critique: objects followed over time, with what kind of thing they are.

The trace (`manimatic.render.trace`) lists, per sampled frame, the on-screen objects with their
type, colours, opacity, bounding box, text, font size and stroke paths. This module turns it into
`Timeline` (samples of `TracedObject`) and answers the questions every check asks: is this text,
is it a line-like stroke, what region does the camera show, is the object holding still.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Objects whose purpose is to be read.
TEXT_TYPES = frozenset(
    {
        "Text",
        "MarkupText",
        "Paragraph",
        "Tex",
        "MathTex",
        "SingleStringMathTex",
        "Title",
        "BulletedList",
        "DecimalNumber",
        "Integer",
        "Variable",
        "Code",
    }
)
# Drawn to sit behind everything (grids, screen-sized frames): never "crossing" or "off frame".
BACKGROUND_TYPES = frozenset(
    {
        "NumberPlane",
        "ComplexPlane",
        "PolarPlane",
        "FullScreenRectangle",
        "ScreenRectangle",
        "BackgroundRectangle",
    }
)
# Strokes meant to go through text: striking it out.
STRIKE_TYPES = frozenset({"Cross"})
# Invisible by design: trackers and anchors.
HELPER_TYPES = frozenset({"ValueTracker", "ComplexValueTracker", "Point"})
STILL_TOLERANCE = 0.02  # scene units: a box that moved less than this is holding still
OPACITY_TOLERANCE = 0.02  # and an opacity that changed less than this is not fading


@dataclass
class TracedObject:
    """One object in one sampled frame."""

    id: int
    type: str
    bbox: tuple[float, float, float, float]
    text: str | None = None
    opacity: float = 1.0
    colors: list[str] = field(default_factory=list)
    font_size: float | None = None
    fill_opacity: float = 0.0
    paths: list[list[tuple[float, float]]] = field(default_factory=list)
    unfilled: bool = False  # drawn as strokes (`paths` key present), even if their course is not
    order: int = 0  # drawing order in the frame: later objects are drawn on top

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES or self.text is not None

    @property
    def is_background(self) -> bool:
        return self.type in BACKGROUND_TYPES

    @property
    def is_stroke(self) -> bool:
        """A line, an axis, a curve or an outline: drawn as strokes, nothing filled."""
        return self.unfilled and not self.is_text and not self.is_background

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    @property
    def degenerate(self) -> bool:
        """A point-sized box: an object at the very start of Create/GrowFromCenter shows nothing."""
        return self.width < 0.02 and self.height < 0.02

    def label(self) -> str:
        """How findings name the object: `Text('Hello')`, `MathTex('x^2')`, `Axes`."""
        if self.text:
            text = " ".join(self.text.split())
            text = text if len(text) <= 40 else text[:37] + "..."
            return f"{self.type}({text!r})"
        return self.type

    @classmethod
    def from_dict(cls, data: dict[str, Any], order: int, fallback_id: int) -> TracedObject:
        """One traced object; a field of the wrong type raises TypeError or ValueError."""
        bbox = tuple(float(v) for v in data.get("bbox") or [0.0, 0.0, 0.0, 0.0])
        if len(bbox) != 4:
            raise ValueError(f"an object's bbox has {len(bbox)} numbers, not 4")
        opacity = data.get("opacity")
        if opacity is None:  # a format-1 trace: the object's own fill is all there is
            opacity = max(data.get("fill_opacity") or 0.0, data.get("stroke_opacity") or 0.0)
        colors = data.get("colors") or ([data["color"]] if data.get("color") else [])
        text, font_size = data.get("text"), data.get("font_size")
        return cls(
            id=int(data["id"]) if data.get("id") is not None else fallback_id,
            type=str(data.get("type") or "?"),
            bbox=bbox,  # type: ignore[arg-type]  # four floats, checked above
            text=None if text is None else str(text),
            opacity=float(opacity),
            colors=[str(c) for c in colors],
            font_size=None if font_size is None else float(font_size),
            fill_opacity=float(data.get("fill_opacity") or 0.0),
            paths=[[(float(x), float(y)) for x, y in p] for p in data.get("paths") or []],
            unfilled="paths" in data and (data["paths"] is None or bool(data["paths"])),
            order=order,
        )


@dataclass
class Sample:
    """The objects on screen at one sampled time, and the region the camera shows."""

    t: float
    objects: list[TracedObject]
    view: tuple[float, float, float, float]
    _index: dict[int, TracedObject] | None = field(default=None, repr=False, compare=False)

    def by_id(self) -> dict[int, TracedObject]:
        if self._index is None:  # asked for at every stillness test: build once
            self._index = {o.id: o for o in self.objects}
        return self._index


@dataclass
class Timeline:
    """A whole scene's trace."""

    scene: str | None
    samples: list[Sample]
    frame_width: float
    frame_height: float
    pixel_height: int | None
    background: str
    three_d: bool
    fps: float

    @property
    def duration(self) -> float:
        return self.samples[-1].t + 1 / self.fps if self.samples else 0.0

    def pixels_per_unit(self, sample: Sample) -> float | None:
        """Rendered pixels per scene unit at a sample (a zooming camera changes it)."""
        if not self.pixel_height:
            return None
        view_height = sample.view[3] - sample.view[1]
        return self.pixel_height / view_height if view_height > 0 else None

    def still(self, index: int, obj_id: int) -> bool:
        """Whether the object is where and as it was one sample earlier: same box, same opacity
        (a held pose, not motion or a fade)."""
        if index == 0:
            return False
        before = self.samples[index - 1].by_id().get(obj_id)
        now = self.samples[index].by_id().get(obj_id)
        if before is None or now is None:
            return False
        if abs(before.opacity - now.opacity) > OPACITY_TOLERANCE:
            return False
        moved = max(abs(a - b) for a, b in zip(before.bbox, now.bbox, strict=True))
        return moved <= STILL_TOLERANCE


def load_timeline(trace: str | Path | dict[str, Any], scene: str | None = None) -> Timeline:
    """Read a trace (a path to its JSON or the parsed dict) as a `Timeline`.

    Raises:
        ValueError: The trace cannot be read or has no `frames` list.
    """
    if isinstance(trace, dict):
        data = trace
    else:
        try:
            data = json.loads(Path(trace).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{trace}: not a readable scene trace ({exc})") from exc
        if scene is None:
            scene = Path(trace).name.removesuffix(".trace.json")
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list):
        raise ValueError("a scene trace needs a 'frames' list")
    # The trace is written inside the sandbox by the job's process: any JSON can be there. A
    # field of the wrong type is this one ValueError, never a crash of whoever reads it.
    try:
        return _timeline(data, scene)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise ValueError(f"not a readable scene trace ({type(exc).__name__}: {exc})") from None


def _timeline(data: dict[str, Any], scene: str | None) -> Timeline:
    width = float(data.get("frame_width") or 14.2222)
    height = float(data.get("frame_height") or 8.0)
    default_view = (-width / 2, -height / 2, width / 2, height / 2)
    samples = []
    for frame in data["frames"]:
        objects = [
            TracedObject.from_dict(m, order, fallback_id=order)
            for order, m in enumerate(frame.get("mobjects") or [])
        ]
        view = tuple(float(v) for v in frame["camera"]) if frame.get("camera") else default_view
        if len(view) != 4:
            raise ValueError(f"a frame's camera has {len(view)} numbers, not 4")
        samples.append(Sample(float(frame.get("t") or 0.0), objects, view))  # type: ignore[arg-type]
    pixel_height = data.get("pixel_height")
    return Timeline(
        scene=scene,
        samples=samples,
        frame_width=width,
        frame_height=height,
        pixel_height=None if pixel_height is None else int(pixel_height),
        background=str(data.get("background") or "#000000"),
        three_d=bool(data.get("three_d")),
        fps=float(data.get("fps") or 5.0),
    )


def held_start(
    timeline: Timeline, indices: list[int], ids: tuple[int, ...], held_samples: int
) -> int | None:
    """Where a condition first becomes a held defect, as a sample index (None: never).

    `indices` are the samples at which the condition holds for the objects `ids`. It is held when
    a run of consecutive such samples has the objects standing still for `held_samples` samples
    in a row, or reaches the final frame (what the video ends on stays on screen). The index
    returned is where the objects came to rest, so that a finding describes the held pose.
    """
    if not indices:
        return None
    last = len(timeline.samples) - 1
    runs: list[list[int]] = [[indices[0]]]
    for i in indices[1:]:
        if i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        rest = run[0]
        for i in run[1:]:
            if not all(timeline.still(i, x) for x in ids):
                rest = i
            elif i - rest + 1 >= held_samples:
                return rest
        if run[-1] == last:
            return rest
    return None

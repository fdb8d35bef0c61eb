"""Where things are: objects off the frame, and text overlapping text or crossed by strokes.

Both checks only report what is held on screen (see `timeline.held_start`): an object entering
from outside the frame, two texts sliding past each other, or a text fading out while another
fades in at the same place are the motion of an animation, not a layout a viewer is left with.
"""

from __future__ import annotations

from manimatic.critic import geometry
from manimatic.critic.findings import Finding
from manimatic.critic.thresholds import Thresholds
from manimatic.critic.timeline import STRIKE_TYPES, Sample, Timeline, TracedObject, held_start


def _default_view(timeline: Timeline, sample: Sample) -> bool:
    """Whether the camera shows the default frame (a zoom or pan chooses what is left out)."""
    w, h = timeline.frame_width / 2, timeline.frame_height / 2
    return max(abs(a - b) for a, b in zip(sample.view, (-w, -h, w, h), strict=True)) < 0.05


THIN = 0.5  # scene units: a line-like object's other dimension


def _spans_view(obj: TracedObject, view: geometry.Box) -> bool:
    """A backdrop covering the view, or a thin stroke from edge to edge (a horizon, a number line
    drawn as if endless); a circle too big for the frame is neither."""
    across = obj.bbox[0] <= view[0] and obj.bbox[2] >= view[2]
    down = obj.bbox[1] <= view[1] and obj.bbox[3] >= view[3]
    if obj.is_text:
        return False
    thin_across = across and obj.height < THIN
    thin_down = down and obj.width < THIN
    return (across and down) or (obj.is_stroke and (thin_across or thin_down))


def check_off_frame(timeline: Timeline, th: Thresholds) -> list[Finding]:
    """Objects held partly outside the frame, or never inside it at all."""
    partly: dict[int, list[int]] = {}
    inside_ever: set[int] = set()
    outside: dict[int, list[int]] = {}
    objects: dict[int, TracedObject] = {}
    for i, sample in enumerate(timeline.samples):
        if not _default_view(timeline, sample):
            continue
        for obj in sample.objects:
            if obj.is_background or obj.degenerate or obj.opacity < th.visible_opacity / 2:
                continue
            if _spans_view(obj, sample.view):
                continue
            if geometry.intersection(obj.bbox, sample.view) is None:
                outside.setdefault(obj.id, []).append(i)
                objects.setdefault(obj.id, obj)
                continue
            inside_ever.add(obj.id)
            if geometry.overhang(obj.bbox, sample.view) > th.off_frame_tolerance:
                partly.setdefault(obj.id, []).append(i)
                objects.setdefault(obj.id, obj)
    findings = []
    for obj_id, indices in partly.items():
        start = held_start(timeline, indices, (obj_id,), th.held_samples)
        if start is None:
            continue
        obj = timeline.samples[start].by_id()[obj_id]
        view = timeline.samples[start].view
        sides = _sides(obj.bbox, view, th.off_frame_tolerance)
        findings.append(
            Finding(
                "off_frame",
                timeline.samples[start].t,
                [obj.label()],
                f"{obj.label()} runs off the {sides} edge of the frame (it spans "
                f"{_span(obj.bbox)}; the frame spans {_span(view)})",
                _off_frame_fix(obj),
                timeline.scene,
            )
        )
    for obj_id, indices in outside.items():
        if obj_id in inside_ever:
            continue  # it was on screen and left: an exit, not a misplacement
        start = held_start(timeline, indices, (obj_id,), th.held_samples)
        if start is None:
            continue
        obj = objects[obj_id]
        findings.append(
            Finding(
                "off_frame",
                timeline.samples[start].t,
                [obj.label()],
                f"{obj.label()} is entirely outside the frame and never comes into view "
                f"(center at x {(obj.bbox[0] + obj.bbox[2]) / 2:.2f}, "
                f"y {(obj.bbox[1] + obj.bbox[3]) / 2:.2f})",
                "place it inside the frame (x within ±7.1, y within ±4) with move_to/next_to, "
                "or remove it",
                timeline.scene,
            )
        )
    return findings


def _span(box: geometry.Box) -> str:
    return f"x {box[0]:.2f}..{box[2]:.2f}, y {box[1]:.2f}..{box[3]:.2f}"


def _sides(box: geometry.Box, view: geometry.Box, tolerance: float) -> str:
    names = []
    if view[0] - box[0] > tolerance:
        names.append("left")
    if box[2] - view[2] > tolerance:
        names.append("right")
    if box[3] - view[3] > tolerance:
        names.append("top")
    if view[1] - box[1] > tolerance:
        names.append("bottom")
    return "/".join(names) or "an"


def _off_frame_fix(obj: TracedObject) -> str:
    if obj.is_text:
        return (
            "keep it inside the frame: use to_edge(..., buff=0.5) or next_to(...) instead of a "
            "far shift, and scale_to_fit_width(config.frame_width - 1) if it is too wide"
        )
    return (
        "move it inside the frame or scale it down (e.g. .scale(0.8), or smaller axis "
        "x_length/y_length), so the whole object is visible"
    )


def _overlaps(a: TracedObject, b: TracedObject, th: Thresholds) -> bool:
    shared = geometry.intersection(a.bbox, b.bbox)
    if shared is None:
        return False
    if min(shared[2] - shared[0], shared[3] - shared[1]) < th.overlap_min_extent:
        return False
    smaller = min(geometry.area(a.bbox), geometry.area(b.bbox))
    if smaller <= 0 or geometry.area(shared) < th.overlap_fraction * smaller:
        return False
    same_place = max(abs(x - y) for x, y in zip(a.bbox, b.bbox, strict=True)) < 0.02
    return not (same_place and a.text == b.text)  # one text drawn twice looks like one


def _crosses(text: TracedObject, stroke: TracedObject, th: Thresholds) -> bool:
    inner = geometry.shrink(text.bbox, th.cross_margin_fraction * min(text.width, text.height))
    if inner is None or geometry.intersection(inner, stroke.bbox) is None:
        return False
    return any(geometry.path_hits_box(path, inner) for path in stroke.paths)


def check_overlap(timeline: Timeline, th: Thresholds) -> list[Finding]:
    """Text or formulas held overlapping each other, or crossed by a line, axis or curve."""
    pairs: dict[tuple[int, int], list[int]] = {}
    crossing: set[tuple[int, int]] = set()
    for i, sample in enumerate(timeline.samples):
        seen = [o for o in sample.objects if o.opacity >= th.visible_opacity]
        texts = [o for o in seen if o.is_text]
        strokes = [o for o in seen if o.is_stroke and o.type not in STRIKE_TYPES]
        for ai, a in enumerate(texts):
            for b in texts[ai + 1 :]:
                if a.id != b.id and _overlaps(a, b, th):
                    key = (min(a.id, b.id), max(a.id, b.id))  # drawing order may change
                    pairs.setdefault(key, []).append(i)
            for s in strokes:
                if s.id != a.id and _crosses(a, s, th):
                    pairs.setdefault((a.id, s.id), []).append(i)
                    crossing.add((a.id, s.id))
    findings = []
    for (a_id, b_id), indices in pairs.items():
        start = held_start(timeline, indices, (a_id, b_id), th.held_samples)
        if start is None:
            continue
        objs = timeline.samples[start].by_id()
        a, b = objs[a_id], objs[b_id]
        t = timeline.samples[start].t
        if (a_id, b_id) in crossing:
            findings.append(
                Finding(
                    "overlap",
                    t,
                    [a.label(), b.label()],
                    f"{b.label()} runs through {a.label()}, so the text is crossed by a stroke",
                    "move the label off the line (e.g. .next_to(line, UP, buff=0.2) or a "
                    "different direction), or shorten/reposition the line",
                    timeline.scene,
                )
            )
        else:
            findings.append(
                Finding(
                    "overlap",
                    t,
                    [a.label(), b.label()],
                    f"{a.label()} and {b.label()} overlap on screen",
                    "place one next to the other (b.next_to(a, DOWN, buff=0.3) or "
                    "VGroup(a, b).arrange(DOWN)), or FadeOut/ReplacementTransform the old one "
                    "before showing the new one",
                    timeline.scene,
                )
            )
    return findings

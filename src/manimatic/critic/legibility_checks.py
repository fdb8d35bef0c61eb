"""Can it be read: text too small at the rendered resolution, objects lost in the background.

`invisible` compares an object's colours, blended by its opacity, with what is behind it: the
topmost filled shape under it (a dark formula on a light box is fine) or else the scene's
background. An object is reported when it is held hidden and never seen after that: one added
transparent and faded in later is not a finding, while black text on black is, even though
`Write` shows its outline in another colour for a moment.
"""

from __future__ import annotations

from manimatic.critic import colors, geometry
from manimatic.critic.findings import Finding
from manimatic.critic.thresholds import (
    CAP_UNITS_PER_POINT_PANGO,
    CAP_UNITS_PER_POINT_TEX,
    PANGO_TYPES,
    Thresholds,
)
from manimatic.critic.timeline import HELPER_TYPES, Sample, Timeline, TracedObject, held_start


def cap_height_px(timeline: Timeline, sample: Sample, obj: TracedObject) -> float | None:
    """The text's capital-letter height in rendered pixels (None when unknown)."""
    per_unit = timeline.pixels_per_unit(sample)
    if not obj.font_size or per_unit is None:
        return None
    ratio = CAP_UNITS_PER_POINT_PANGO if obj.type in PANGO_TYPES else CAP_UNITS_PER_POINT_TEX
    return obj.font_size * ratio * per_unit


def check_tiny_text(timeline: Timeline, th: Thresholds) -> list[Finding]:
    """Text held on screen with letters too small to read at the rendered resolution."""
    small: dict[int, list[int]] = {}
    for i, sample in enumerate(timeline.samples):
        for obj in sample.objects:
            if not obj.is_text or obj.opacity < th.visible_opacity:
                continue
            px = cap_height_px(timeline, sample, obj)
            if px is not None and px < th.min_cap_px:
                small.setdefault(obj.id, []).append(i)
    findings = []
    for obj_id, indices in small.items():
        start = held_start(timeline, indices, (obj_id,), th.held_samples)
        if start is None:
            continue
        sample = timeline.samples[start]
        obj = sample.by_id()[obj_id]
        px = cap_height_px(timeline, sample, obj) or 0.0
        ratio = CAP_UNITS_PER_POINT_PANGO if obj.type in PANGO_TYPES else CAP_UNITS_PER_POINT_TEX
        per_unit = timeline.pixels_per_unit(sample) or 1.0
        needed = th.min_cap_px / (ratio * per_unit)
        findings.append(
            Finding(
                "tiny_text",
                sample.t,
                [obj.label()],
                f"{obj.label()} is {px:.1f} px tall (capital letters) at the rendered "
                f"{timeline.pixel_height}p resolution (font_size {obj.font_size:g}); "
                f"under {th.min_cap_px:g} px it cannot be read",
                f"use font_size={max(round(needed + 0.5), 1)} or more (or scale it up), and "
                "make room for it rather than shrinking it to fit",
                timeline.scene,
            )
        )
    return findings


def _behind(sample: Sample, obj: TracedObject, th: Thresholds) -> str | None:
    """The colour of the topmost filled, non-text shape drawn under the object and covering it."""
    for other in reversed(sample.objects[: obj.order]):
        if other.is_text or other.fill_opacity < th.visible_opacity or not other.colors:
            continue
        if geometry.contains(other.bbox, obj.bbox, tolerance=0.05):
            return other.colors[0]
    return None


def _blend(color: str, backdrop: str, alpha: float) -> str:
    fg, bg = colors.parse_hex(color), colors.parse_hex(backdrop)
    if fg is None or bg is None:
        return color
    mixed = [alpha * f + (1 - alpha) * b for f, b in zip(fg, bg, strict=True)]
    return "#" + "".join(f"{round(c * 255):02x}" for c in mixed)


def _seen(obj: TracedObject, backdrop: str, th: Thresholds) -> bool:
    """Whether any of the object's colours stands out from the backdrop at its opacity."""
    if obj.opacity < th.transparent_opacity:
        return False
    ratios = [
        colors.contrast(_blend(c, backdrop, min(1.0, obj.opacity)), backdrop) for c in obj.colors
    ]
    known = [r for r in ratios if r is not None]
    return not known or max(known) >= th.min_contrast


def check_invisible(timeline: Timeline, th: Thresholds) -> list[Finding]:
    """Text, lines and curves on screen that are never distinguishable from what is behind."""
    hidden: dict[int, list[int]] = {}
    last_seen: dict[int, int] = {}
    backdrops: dict[int, str] = {}
    for i, sample in enumerate(timeline.samples):
        for obj in sample.objects:
            if obj.type in HELPER_TYPES or not (obj.is_text or obj.is_stroke):
                continue
            backdrop = _behind(sample, obj, th) or timeline.background
            if _seen(obj, backdrop, th):
                last_seen[obj.id] = i
            else:
                hidden.setdefault(obj.id, []).append(i)
                backdrops.setdefault(obj.id, backdrop)
    findings = []
    for obj_id, indices in hidden.items():
        after = [i for i in indices if i > last_seen.get(obj_id, -1)]
        start = held_start(timeline, after, (obj_id,), th.held_samples)
        if start is None:
            continue
        obj = timeline.samples[start].by_id()[obj_id]
        backdrop = backdrops[obj_id]
        if obj.opacity < th.transparent_opacity and not obj.is_text:
            continue  # a shape left transparent (a faded source, an anchor) shows no defect
        if obj.opacity < th.transparent_opacity:
            message = f"{obj.label()} is on screen with zero opacity, so nothing of it shows"
            fix = "give it opacity (set_opacity(1), or FadeIn it) or do not add it"
        else:
            shown = ", ".join(obj.colors) or "unknown"
            message = (
                f"{obj.label()} is drawn in {shown} on {backdrop}: the same as what is behind "
                "it, so it cannot be seen"
            )
            fix = (
                "give it a colour that contrasts with the background (e.g. WHITE or YELLOW on "
                "a dark background, BLACK on a light one)"
            )
        findings.append(
            Finding(
                "invisible", timeline.samples[start].t, [obj.label()], message, fix, timeline.scene
            )
        )
    return findings

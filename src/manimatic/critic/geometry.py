"""Boxes and segments in scene units: the few computations the layout checks are made of."""

from __future__ import annotations

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def intersection(a: Box, b: Box) -> Box | None:
    """The shared region of two boxes, or None when they do not meet (a flat box, such as a
    horizontal line's, still meets what it lies across)."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    if x1 < x0 or y1 < y0:
        return None
    return (x0, y0, x1, y1)


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def shrink(box: Box, by: float) -> Box | None:
    """The box with `by` taken off every side; None when nothing is left."""
    out = (box[0] + by, box[1] + by, box[2] - by, box[3] - by)
    return out if out[2] > out[0] and out[3] > out[1] else None


def contains(outer: Box, inner: Box, tolerance: float = 0.0) -> bool:
    return (
        inner[0] >= outer[0] - tolerance
        and inner[1] >= outer[1] - tolerance
        and inner[2] <= outer[2] + tolerance
        and inner[3] <= outer[3] + tolerance
    )


def overhang(box: Box, view: Box) -> float:
    """How far the box reaches past the view's edges (0 when inside)."""
    return max(0.0, view[0] - box[0], box[2] - view[2], view[1] - box[1], box[3] - view[3])


def segment_hits_box(p: tuple[float, float], q: tuple[float, float], box: Box) -> bool:
    """Whether the segment p-q passes through the box (Liang-Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for edge_p, edge_q in (
        (-dx, p[0] - box[0]),
        (dx, box[2] - p[0]),
        (-dy, p[1] - box[1]),
        (dy, box[3] - p[1]),
    ):
        if edge_p == 0:
            if edge_q < 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def path_hits_box(path: list[tuple[float, float]], box: Box) -> bool:
    """Whether a polyline passes through the box."""
    if len(path) == 1:
        x, y = path[0]
        return box[0] <= x <= box[2] and box[1] <= y <= box[3]
    return any(segment_hits_box(path[i], path[i + 1], box) for i in range(len(path) - 1))

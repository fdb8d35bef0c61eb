"""Fidelity: our own visual metric, built to separate renders of the same task from others.

Why not VS: Manim frames are mostly flat background, so the SSIM of two unrelated frames is ~0.97,
and for two stills (64 of the 100 ManimBench test references are stills) the SSIM term of VS is
exp(0) = 1 whatever they show. Fidelity looks at the content instead, and optionally at what the
renderer recorded to be on screen.

Pixel term (always). Each frame is reduced to content descriptors, all independent of frame size:

* background: the most common colour on the frame border; foreground = pixels that differ from it
  by more than a small tolerance (anti-aliasing and video noise stay background).
* layout: the foreground coverage map on coarse grids (8 x 5, 16 x 9 and 32 x 18 cells),
  lightly blurred so that a small shift costs a little, not everything. Compared with soft IoU
  (sum of minima / sum of maxima): sensitive both to where content is and to how much there is.
* shape: a histogram of gradient orientations over the foreground (magnitude-weighted), which
  tells a circle from a square from text irrespective of position.
* colour: a histogram of foreground colours (12 hue bins for saturated pixels, 3 grey levels for
  the rest), compared by intersection.

Frame similarity = 0.45 layout + 0.25 shape + 0.30 colour (two empty frames: 1; one empty: 0).
Over time, the two frame sequences are aligned with DTW (cost 1 - similarity; so a change of
timing costs little) and the mean similarity along the path is the sequence score; the last
frames (the final composition, and the whole of a still) are compared on their own as well, and
the ratio r of the frame counts stands for duration:
pixel = (0.6 sequence + 0.4 last frame) x (0.95 + 0.05 r).

Trace term (when both renders come with scene traces: per sampled frame the on-screen mobjects
with type, colour, fill opacity, bounding box and text). Two objects are compared by type
(1 same class, 0.5 same family such as Circle/Dot/Arc), colour, position and size of the bounding
box, and text; two frames by the best one-to-one matching of their objects (Hungarian), divided by
the larger object count, so missing and extra objects cost. The trace score combines a DTW over
frames (0.4), the last frame (0.3), and a time-free "inventory" (0.3: Jaccard overlap of the
distinct (type, text) and (type, text, colour) keys seen over the whole render). With traces:
fidelity = 0.4 pixel + 0.6 trace (the trace knows what is drawn, the pixels how it looks);
without: fidelity = pixel. Every part is returned in `components`.
Long traces of crowded scenes are thinned evenly in time so that at most `TRACE_PAIR_BUDGET`
object pairs are scored (a 35 x 35-frame comparison of 200-object frames would take ~25 s).

All weights are fixed constants, set by hand from the properties the unit tests check on
synthetic scenes (identical > small perturbation > large perturbation > unrelated); nothing was
fitted by optimisation. One change was made after looking at ManimBench: after a 4-task smoke
run of `bench/fidelity_separation.py` on the *test* split, the trace inventory was split into
kinds of objects (half) and colours (half), so that a recoloured scene keeps half of it. The
test split is therefore not entirely unseen by this metric; the same script on train-split
references (`--split train`) is the cleaner check (bench/RESULTS.md gives both).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from manimatic.metrics.frames import Frames
from manimatic.metrics.ssim import dedupe

FG_TOLERANCE = 40  # summed |RGB difference| from the background beyond which a pixel is content
WORK_WIDTH = 320  # descriptors are computed at this width (aspect kept); enough for 4 px strokes
GRIDS = ((8, 5), (16, 9), (32, 18))
ORIENT_BINS = 12
HUE_BINS = 12
GREY_BINS = 3
FRAME_WEIGHTS = {"layout": 0.45, "shape": 0.25, "colour": 0.30}
PIXEL_WEIGHTS = {"sequence": 0.6, "last": 0.4}
DURATION_WEIGHT = 0.05
TRACE_WEIGHTS = {"sequence": 0.4, "last": 0.3, "inventory": 0.3}
WITH_TRACE = {"pixel": 0.4, "trace": 0.6}
TRACE_PAIR_BUDGET = 2e7  # object pairs scored per trace comparison before frames are thinned
OBJECT_WEIGHTS = {"type": 0.35, "colour": 0.2, "position": 0.2, "size": 0.1, "text": 0.15}


@dataclass
class Fidelity:
    """Fidelity of a generated render to a reference.

    Attributes:
        score: In [0, 1]; 1 for identical renders.
        components: The parts it is made of (pixel, trace, their sub-scores), each in [0, 1];
            `trace` is None when traces were not given for both renders.
    """

    score: float
    components: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- pixel descriptors ----------------------------------------------------------------------


@dataclass
class _FrameDesc:
    empty: bool
    grids: list[np.ndarray]
    orient: np.ndarray
    colour: np.ndarray


def _background(img: np.ndarray) -> np.ndarray:
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).reshape(-1, 3)
    colours, counts = np.unique(border, axis=0, return_counts=True)
    return colours[np.argmax(counts)].astype(np.int16)


def _describe(img: np.ndarray) -> _FrameDesc:
    h, w = img.shape[:2]
    if w > WORK_WIDTH:
        # INTER_AREA keeps thin strokes as faint pixels rather than dropping them.
        img = cv2.resize(img, (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))), cv2.INTER_AREA)
    bg = _background(img)
    diff = np.abs(img.astype(np.int16) - bg).sum(axis=2)
    mask = diff > FG_TOLERANCE
    if not mask.any():
        return _FrameDesc(True, [], np.zeros(ORIENT_BINS), np.zeros(HUE_BINS + GREY_BINS))
    maskf = mask.astype(np.float32)
    grids = []
    for gw, gh in GRIDS:
        g = cv2.resize(maskf, (gw, gh), interpolation=cv2.INTER_AREA)
        grids.append(cv2.GaussianBlur(g, (3, 3), 0.6, borderType=cv2.BORDER_CONSTANT))
    # Orientation of content edges, taken on the distance-from-background image so that the
    # background colour itself does not matter; angles mod pi (an edge has no direction).
    d = diff.astype(np.float32)
    gx = cv2.Sobel(d, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(d, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    orient = np.bincount(
        np.minimum((ang / np.pi * ORIENT_BINS).astype(int), ORIENT_BINS - 1).ravel(),
        weights=mag.ravel(),
        minlength=ORIENT_BINS,
    )
    hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV)[mask]
    hue, sat, val = hsv[:, 0].astype(int), hsv[:, 1], hsv[:, 2]
    saturated = (sat >= 64) & (val >= 48)
    bins = np.where(
        saturated,
        np.minimum(hue * HUE_BINS // 180, HUE_BINS - 1),
        HUE_BINS + np.minimum(val.astype(int) * GREY_BINS // 256, GREY_BINS - 1),
    )
    colour = np.bincount(bins, minlength=HUE_BINS + GREY_BINS).astype(float)
    return _FrameDesc(False, grids, orient, colour)


def _soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum()) / den if den > 0 else 1.0


def _hist_intersection(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = a.sum(), b.sum()
    if sa <= 0 and sb <= 0:
        return 1.0
    if sa <= 0 or sb <= 0:
        return 0.0
    return float(np.minimum(a / sa, b / sb).sum())


def _frame_parts(a: _FrameDesc, b: _FrameDesc) -> dict[str, float]:
    if a.empty or b.empty:
        v = 1.0 if a.empty and b.empty else 0.0
        return {"layout": v, "shape": v, "colour": v}
    return {
        "layout": float(np.mean([_soft_iou(x, y) for x, y in zip(a.grids, b.grids, strict=True)])),
        "shape": _hist_intersection(a.orient, b.orient),
        "colour": _hist_intersection(a.colour, b.colour),
    }


def _frame_sim(parts: dict[str, float]) -> float:
    return sum(FRAME_WEIGHTS[k] * parts[k] for k in FRAME_WEIGHTS)


# --- alignment --------------------------------------------------------------------------------


def dtw_mean_similarity(sim: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """Align two sequences by DTW on cost 1 - sim; mean similarity along the optimal path.

    Args:
        sim: N x M similarity matrix in [0, 1].

    Returns:
        The mean similarity of the aligned pairs, and the path.
    """
    n, m = sim.shape
    cost = 1.0 - sim
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    steps = np.zeros((n + 1, m + 1), dtype=np.int8)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
            k = int(np.argmin(options))
            acc[i, j] = cost[i - 1, j - 1] + options[k]
            steps[i, j] = k
    path = []
    i, j = n, m
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        k = steps[i, j]
        i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
    path.reverse()
    return float(np.mean([sim[p] for p in path])), path


def _describe_all(frames: Frames) -> tuple[list[_FrameDesc], np.ndarray]:
    ids, first = dedupe(frames.images)
    return [_describe(frames.images[i]) for i in first], ids


def pixel_fidelity(ref: Frames, gen: Frames) -> dict[str, float]:
    """The pixel term and its parts (see the module docstring)."""
    if not len(ref) or not len(gen):
        raise ValueError("both renders need at least one frame")
    da, ia = _describe_all(ref)
    db, ib = _describe_all(gen)
    parts = [[_frame_parts(a, b) for b in db] for a in da]
    sim_u = np.array([[_frame_sim(p) for p in row] for row in parts])
    sim = sim_u[np.ix_(ia, ib)]
    seq, path = dtw_mean_similarity(sim)
    last = parts[ia[-1]][ib[-1]]
    out = {"pixel_sequence": seq, "pixel_last": _frame_sim(last)}
    # Part scores along the path, for reading what differs.
    for key in FRAME_WEIGHTS:
        out[key] = float(np.mean([parts[ia[i]][ib[j]][key] for i, j in path]))
    # DTW forgives any change of pace; the length ratio keeps a slower or shorter render (or a
    # video against a still) from being exactly equal. A factor, so that no content stays 0.
    out["duration"] = min(len(ref), len(gen)) / max(len(ref), len(gen))
    content = PIXEL_WEIGHTS["sequence"] * seq + PIXEL_WEIGHTS["last"] * out["pixel_last"]
    out["pixel"] = content * (1 - DURATION_WEIGHT + DURATION_WEIGHT * out["duration"])
    return out


# --- traces -----------------------------------------------------------------------------------

_FAMILIES = [
    {"Circle", "Dot", "Ellipse", "Arc", "Annulus", "Sector", "AnnularSector", "ArcBetweenPoints"},
    {"Square", "Rectangle", "RoundedRectangle", "Polygon", "RegularPolygon", "Triangle", "Star"},
    {"Line", "Arrow", "DashedLine", "Vector", "DoubleArrow", "CurvedArrow", "TangentLine"},
    {"Text", "MarkupText", "Paragraph", "Tex", "MathTex", "SingleStringMathTex", "Title"},
    {"Integer", "DecimalNumber", "Variable"},
    {"Axes", "NumberPlane", "NumberLine", "ThreeDAxes", "ComplexPlane", "PolarPlane"},
    {"ParametricFunction", "FunctionGraph", "ImplicitFunction"},
]
_FAMILY_OF = {name: i for i, fam in enumerate(_FAMILIES) for name in fam}


def load_trace(trace: dict | str | Path | None) -> dict | None:
    """A scene trace from a dict or a JSON file path (None stays None).

    Raises:
        ValueError: The file cannot be read or is not a trace.
    """
    if trace is None or isinstance(trace, dict):
        data = trace
    else:
        try:
            data = json.loads(Path(trace).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{trace}: not a readable trace ({exc})") from exc
    if data is not None and not isinstance(data.get("frames"), list):
        raise ValueError("a trace needs a 'frames' list")
    return data


def _hex_rgb(colour: Any) -> tuple[float, float, float] | None:
    if not isinstance(colour, str) or not colour.startswith("#") or len(colour) not in (7, 9):
        return None
    try:
        return tuple(float(int(colour[k : k + 2], 16)) for k in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        return None


class _Vocab:
    """Integer ids for types and texts shared by both traces (vectorised equality) and a cache
    of text similarities between distinct texts."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {None: 0}
        self.text_ratio: dict[tuple[int, int], float] = {}
        self.texts: list[str | None] = [None]

    def id(self, value: Any) -> int:
        if value not in self.ids:
            self.ids[value] = len(self.ids)
            self.texts.append(value if isinstance(value, str) else None)
        return self.ids[value]

    def text_sims(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Text similarity for text ids (0 = no text): 1 if neither has text, 0 if one has."""
        ua, ub = np.unique(a), np.unique(b)
        table = np.empty((ua.size, ub.size))
        for r, x in enumerate(ua.tolist()):
            for c, y in enumerate(ub.tolist()):
                if x == 0 or y == 0:
                    table[r, c] = 1.0 if x == y else 0.0
                elif (x, y) not in self.text_ratio:
                    ratio = difflib.SequenceMatcher(None, self.texts[x], self.texts[y]).ratio()
                    self.text_ratio[(x, y)] = table[r, c] = ratio
                else:
                    table[r, c] = self.text_ratio[(x, y)]
        return table[np.ix_(np.searchsorted(ua, a), np.searchsorted(ub, b))]


class _TraceFrame:
    """The objects of one trace frame as arrays, for vectorised comparison."""

    def __init__(self, mobjects: list[dict], width: float, height: float, vocab: _Vocab) -> None:
        n = len(mobjects)
        self.n = n
        self.types = [str(m.get("type")) for m in mobjects]
        self.family = np.array([_FAMILY_OF.get(t, -1) for t in self.types], int)
        rgbs = [_hex_rgb(m.get("color")) for m in mobjects]
        self.has_rgb = np.array([c is not None for c in rgbs], bool)
        self.rgb = np.array([c or (0.0, 0.0, 0.0) for c in rgbs], float).reshape(n, 3)
        boxes = np.array([(m.get("bbox") or [0, 0, 0, 0])[:4] for m in mobjects], float)
        boxes = boxes.reshape(n, 4)
        scale = np.array([width, height])
        self.centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / scale
        self.area = np.prod(np.abs(boxes[:, 2:] - boxes[:, :2]) / scale + 0.01, axis=1)
        self.texts = [m.get("text") if isinstance(m.get("text"), str) else None for m in mobjects]
        self.type_ids = np.array([vocab.id(("type", t)) for t in self.types], int)
        self.text_ids = np.array([vocab.id(x) for x in self.texts], int)
        # Inventory keys: kind (type, text) and the same with a coarse colour.
        coarse = [None if c is None else tuple(int(v) // 32 for v in c) for c in rgbs]
        self.keys = {(t, x, c) for t, x, c in zip(self.types, self.texts, coarse, strict=True)}


def _object_sims(a: _TraceFrame, b: _TraceFrame, vocab: _Vocab) -> np.ndarray:
    """Similarity of every object of `a` with every object of `b`, in [0, 1]."""
    same = a.type_ids[:, None] == b.type_ids[None, :]
    family = (a.family[:, None] == b.family[None, :]) & (a.family[:, None] >= 0)
    t = np.where(same, 1.0, np.where(family, 0.5, 0.0))
    both = a.has_rgb[:, None] & b.has_rgb[None, :]
    neither = ~a.has_rgb[:, None] & ~b.has_rgb[None, :]
    dist = np.abs(a.rgb[:, None, :] - b.rgb[None, :, :]).sum(axis=2)
    c = np.where(both, np.maximum(0.0, 1.0 - dist / 255.0), np.where(neither, 1.0, 0.5))
    p = np.exp(-np.linalg.norm(a.centre[:, None, :] - b.centre[None, :, :], axis=2) / 0.1)
    sz = np.minimum(a.area[:, None], b.area[None, :]) / np.maximum(a.area[:, None], b.area[None, :])
    x = vocab.text_sims(a.text_ids, b.text_ids)
    w = OBJECT_WEIGHTS
    return w["type"] * t + w["colour"] * c + w["position"] * p + w["size"] * sz + w["text"] * x


def _set_sim(a: _TraceFrame, b: _TraceFrame, vocab: _Vocab) -> float:
    """Best one-to-one matching of the two frames' objects / the larger object count."""
    if not a.n and not b.n:
        return 1.0
    if not a.n or not b.n:
        return 0.0
    from scipy.optimize import linear_sum_assignment

    sim = _object_sims(a, b, vocab)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return float(sim[rows, cols].sum()) / max(a.n, b.n)


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _inventory_sim(a: Sequence[_TraceFrame], b: Sequence[_TraceFrame]) -> float:
    # Half on what kinds of objects (and texts) appear, half also counting their colours, so a
    # recoloured scene keeps half its inventory.
    ka = set().union(*(f.keys for f in a))
    kb = set().union(*(f.keys for f in b))
    kinds = _jaccard({k[:2] for k in ka}, {k[:2] for k in kb})
    return 0.5 * kinds + 0.5 * _jaccard(ka, kb)


def _trace_frames(trace: dict, vocab: _Vocab) -> tuple[list[_TraceFrame], np.ndarray]:
    """Distinct frames of a trace (objects rarely change between samples) and each frame's id."""
    w = float(trace.get("frame_width") or 14.222222)
    h = float(trace.get("frame_height") or 8.0)
    seen: dict[str, int] = {}
    distinct: list[_TraceFrame] = []
    ids = []
    for frame in trace["frames"] or [{"mobjects": []}]:
        mobjects = frame.get("mobjects") or []
        key = json.dumps(mobjects, sort_keys=True)
        if key not in seen:
            seen[key] = len(distinct)
            distinct.append(_TraceFrame(mobjects, w, h, vocab))
        ids.append(seen[key])
    return distinct, np.array(ids)


def _thin(ids: np.ndarray, fraction: float) -> np.ndarray:
    n = max(2, math.ceil(len(ids) * fraction))
    return ids[np.unique(np.linspace(0, len(ids) - 1, n).round().astype(int))]


def trace_fidelity(ref_trace: dict, gen_trace: dict) -> dict[str, float]:
    """The trace term and its parts (see the module docstring)."""
    vocab = _Vocab()
    fa, ia = _trace_frames(ref_trace, vocab)
    fb, ib = _trace_frames(gen_trace, vocab)
    # Bound the cost (object pairs to score) for long traces of crowded scenes: sample frames
    # evenly in time, always keeping the last. Typical scenes stay far below the budget.
    biggest = max([f.n for f in fa + fb] + [1])
    pairs = len(fa) * len(fb) * biggest * biggest
    if pairs > TRACE_PAIR_BUDGET:
        keep = math.sqrt(TRACE_PAIR_BUDGET / pairs)
        ia, ib = _thin(ia, keep), _thin(ib, keep)
    ua, ub = np.unique(ia), np.unique(ib)
    sim_u = np.full((len(fa), len(fb)), np.nan)
    for x in ua.tolist():
        for y in ub.tolist():
            sim_u[x, y] = _set_sim(fa[x], fb[y], vocab)
    sim = sim_u[np.ix_(ia, ib)]
    seq, _ = dtw_mean_similarity(sim)
    out = {"trace_sequence": seq, "trace_last": float(sim[-1, -1])}
    out["trace_inventory"] = _inventory_sim(fa, fb)
    out["trace"] = (
        TRACE_WEIGHTS["sequence"] * seq
        + TRACE_WEIGHTS["last"] * out["trace_last"]
        + TRACE_WEIGHTS["inventory"] * out["trace_inventory"]
    )
    return out


# --- together ---------------------------------------------------------------------------------


def fidelity(
    ref: Frames,
    gen: Frames,
    ref_trace: dict | str | Path | None = None,
    gen_trace: dict | str | Path | None = None,
) -> Fidelity:
    """Fidelity of a generated render to the reference render.

    Args:
        ref: Frames of the reference.
        gen: Frames of the generation.
        ref_trace: Scene trace of the reference (dict or JSON path), optional.
        gen_trace: Scene trace of the generation, optional; used only with `ref_trace`.

    Returns:
        The score in [0, 1] and its components.

    Raises:
        ValueError: A render has no frames, or a trace is unreadable.
    """
    comps: dict[str, float | None] = dict(pixel_fidelity(ref, gen))
    ta, tb = load_trace(ref_trace), load_trace(gen_trace)
    if ta is not None and tb is not None:
        comps.update(trace_fidelity(ta, tb))
        score = WITH_TRACE["pixel"] * comps["pixel"] + WITH_TRACE["trace"] * comps["trace"]
    else:
        comps["trace"] = None
        score = comps["pixel"]
    score = float(min(1.0, max(0.0, score)))  # type: ignore[arg-type]
    return Fidelity(score=score, components=comps)

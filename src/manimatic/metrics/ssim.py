"""Fast all-pairs SSIM between the frames of two renders, equal to skimage's default SSIM.

`skimage.metrics.structural_similarity(x, y, data_range=255)` on gray uint8 frames uses a 7x7
uniform window, sample covariance (49/48), K1 0.01, K2 0.03, and averages the SSIM map over the
window centres at least 3 pixels from the border. VS needs it for every pair of frames (~30 ms a
pair at 854x480). What we exploit, without changing the value (tests hold it to 1e-9):

* The SSIM map is exactly 1 at every window where the two frames agree pixel for pixel; only the
  windows that see a difference are evaluated, inside the bounding box of the difference.
* Window sums of x, x^2 (per frame, cached) and x*y (per pair) are exact int32 sums from
  OpenCV's box filter; skimage's formula, multiplied through by 49^2, turns means, variances and
  covariances into exact integers, and only the final products and the division are float64.
  (float32 arithmetic would be 1.5x faster but ~1e-8 off; we keep the exact value.)
* Identical frames are deduplicated (manim holds frames still), so each distinct pair is computed
  once; an identical pair has SSIM exactly 1, which settles its row and column maximum.
* Pairs are visited in a serpentine order and each map is updated from the previous pair's: only
  windows where either frame changed are recomputed (animation frames differ locally), or the pair
  is computed afresh when that touches fewer windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

WIN = 7
PAD = (WIN - 1) // 2
NP_WIN = WIN * WIN
COV_NORM = NP_WIN / (NP_WIN - 1)
C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
# skimage's formula multiplied through by NP_WIN^2 reads exact integer window sums.
_C1S = NP_WIN * NP_WIN * C1
_C2S = NP_WIN * NP_WIN * C2
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (WIN, WIN))
DENSE_FACTOR = 3  # fewer touched windows than a third of the rectangle: evaluate only those
# Window statistics take 12 bytes a pixel (three int32 maps, ~5 MB at 854x480): cap the cache.
CACHE_BYTES = 768 * 2**20


def ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """skimage's SSIM with the study's settings (the definition the fast path reproduces)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=255))


def _box(img: np.ndarray) -> np.ndarray:
    """7x7 window sums (int32, exact) centred at every pixel; valid only PAD or more pixels from
    the border. Contiguous, the same shape as `img`."""
    return cv2.boxFilter(
        img, cv2.CV_32S, (WIN, WIN), normalize=False, borderType=cv2.BORDER_CONSTANT
    )


def _stats(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-window integers of a gray region: s = sum(x), s^2, and 49 sum(x^2) - s^2.

    All fit int32: s <= 49 * 255, s^2 and 49 sum(x^2) <= 1.6e8.
    """
    sx = _box(gray)
    sq = cv2.multiply(gray, gray, dtype=cv2.CV_16U)  # x^2 <= 65025 fits uint16
    sx2 = sx * sx
    return sx, sx2, NP_WIN * _box(sq) - sx2


class _Windows:
    """The window centres touched by a pixel mask: a rectangle (valid-region coordinates, window
    i covers image rows i..i+2*PAD) and, when they are few, which windows inside it (`rows`,
    `cols`, relative to the rectangle); otherwise the whole rectangle is evaluated."""

    __slots__ = ("r0", "r1", "c0", "c1", "rows", "cols", "size")

    def __init__(self, mask: np.ndarray) -> None:
        h, w = mask.shape
        x, y, bw, bh = cv2.boundingRect(mask)
        # A marked row y touches valid rows y-2*PAD..y (clipped); the same for columns.
        self.r0 = max(y - 2 * PAD, 0)
        self.r1 = min(y + bh - 1, h - 2 * PAD - 1) + 1
        self.c0 = max(x - 2 * PAD, 0)
        self.c1 = min(x + bw - 1, w - 2 * PAD - 1) + 1
        sub = mask[self.r0 : self.r1 + 2 * PAD, self.c0 : self.c1 + 2 * PAD]
        touched = cv2.dilate(sub, _KERNEL)[PAD:-PAD, PAD:-PAD]
        self.size = (self.r1 - self.r0) * (self.c1 - self.c0)
        self.rows = self.cols = None
        # Dense: evaluate the whole rectangle (windows without a difference come out exactly as
        # before, or exactly 1); sparse: only the touched windows, when gathering them pays.
        if cv2.countNonZero(touched) * DENSE_FACTOR < self.size:
            self.rows, self.cols = np.nonzero(touched)
            self.size = int(self.rows.size)

    def pick(self, arr: np.ndarray, r_origin: int, c_origin: int) -> np.ndarray:
        """The windows' entries of a `_box`-shaped array whose pixel (PAD + r_origin, PAD +
        c_origin) is the rectangle's first window."""
        r, c = r_origin + PAD, c_origin + PAD
        if self.rows is None:
            return arr[r : r + self.r1 - self.r0, c : c + self.c1 - self.c0]
        return np.take(arr.ravel(), (self.rows + r) * arr.shape[1] + (self.cols + c))


def _windows(mask: np.ndarray) -> _Windows | None:
    return _Windows(mask) if cv2.countNonZero(mask) else None


class _Sums:
    """A gray frame and, for frames used in several pairs, its window statistics (`_stats`)
    over the whole frame; otherwise they are computed for the windows needed."""

    __slots__ = ("gray", "stats")

    def __init__(self, gray: np.ndarray, precompute: bool = True) -> None:
        self.gray = gray
        self.stats = _stats(gray) if precompute else None

    def window_stats(self, win: _Windows) -> list[np.ndarray]:
        if self.stats is not None:
            return [win.pick(x, win.r0, win.c0) for x in self.stats]
        region = self.gray[win.r0 : win.r1 + 2 * PAD, win.c0 : win.c1 + 2 * PAD]
        return [win.pick(x, 0, 0) for x in _stats(region)]


def _map_values(a: _Sums, b: _Sums, win: _Windows) -> np.ndarray:
    """SSIM map values at the windows (2-D over the rectangle when dense, else 1-D).

    skimage's formula multiplied through by 49^2: with P = sx sy, Q = sx^2 + sy^2,
    V = 49 (sxx + syy) - Q and C = 49 sxy - P (exact int32),
    S = (2P + 49^2 C1)(2k C + 49^2 C2) / ((Q + 49^2 C1)(k V + 49^2 C2)), k = 49/48.
    """
    r0, r1, c0, c1 = win.r0, win.r1 + 2 * PAD, win.c0, win.c1 + 2 * PAD
    prod = cv2.multiply(a.gray[r0:r1, c0:c1], b.gray[r0:r1, c0:c1], dtype=cv2.CV_16U)
    sxy = win.pick(_box(prod), 0, 0)
    sx, sx2, vqa = a.window_stats(win)
    sy, sy2, vqb = b.window_stats(win)
    p = sx * sy
    cov = sxy * NP_WIN
    cov -= p
    num = p * 2.0
    num += _C1S
    cov2 = cov * (2 * COV_NORM)
    cov2 += _C2S
    num *= cov2
    den = (sx2 + sy2) + _C1S
    var = (vqa + vqb) * COV_NORM
    var += _C2S
    den *= var
    num /= den
    return num


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"frame sizes differ: {a.shape} vs {b.shape}")
    if a.ndim != 2 or min(a.shape) < WIN:
        raise ValueError(f"need 2-D gray frames of at least {WIN}x{WIN}, got shape {a.shape}")


def ssim_pair(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two same-sized gray uint8 frames, equal to `ssim_reference` (fast path)."""
    _check(a, b)
    win = _windows(cv2.compare(a, b, cv2.CMP_NE))
    if win is None:
        return 1.0
    total = (a.shape[0] - 2 * PAD) * (a.shape[1] - 2 * PAD)
    values = _map_values(_Sums(a, False), _Sums(b, False), win)
    return float((values.sum() + (total - values.size)) / total)


def dedupe(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Group identical frames.

    Returns:
        For each frame the id of its group (ids numbered by first appearance), and for each group
        the index of its first frame.
    """
    # Hash a sparse sample of pixels (cheap), then confirm with a full comparison.
    buckets: dict[tuple, list[int]] = {}
    ids = np.empty(len(frames), dtype=np.intp)
    first: list[int] = []
    for i, f in enumerate(frames):
        key = (f.shape, hashlib.blake2b(np.ascontiguousarray(f[::5, ::5]).tobytes()).digest())
        for g in buckets.setdefault(key, []):
            if np.array_equal(frames[first[g]], f):
                ids[i] = g
                break
        else:
            ids[i] = len(first)
            buckets[key].append(len(first))
            first.append(i)
    return ids, first


def _order_unique(ids: np.ndarray) -> list[int]:
    """Distinct ids in order of first appearance (neighbours in time are usually alike)."""
    seen: dict[int, None] = {}
    for g in ids.tolist():
        seen.setdefault(g, None)
    return list(seen)


class _Incremental:
    """The SSIM map of the last computed pair, updated to the next pair where cheaper."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.smap = np.ones((shape[0] - 2 * PAD, shape[1] - 2 * PAD))
        self.total = self.smap.size
        self.sum = float(self.total)
        self.last: tuple[_Sums, _Sums] | None = None

    def ssim(self, a: _Sums, b: _Sums) -> float:
        fresh = cv2.compare(a.gray, b.gray, cv2.CMP_NE)
        fresh_n = cv2.countNonZero(fresh)
        step = None
        if self.last is not None and fresh_n:
            la, lb = self.last
            step = np.zeros(a.gray.shape, np.uint8)
            if la is not a:
                step |= cv2.compare(la.gray, a.gray, cv2.CMP_NE)
            if lb is not b:
                step |= cv2.compare(lb.gray, b.gray, cv2.CMP_NE)
            step_n = cv2.countNonZero(step)
            if step_n == 0:
                return self.sum / self.total
            if step_n >= fresh_n:
                step = None
        self.last = (a, b)
        # Either path gives the same map; the one with fewer differing pixels is cheaper.
        if step is not None:
            win = _windows(step)
            assert win is not None
            values = _map_values(a, b, win)
            target = self.smap[win.r0 : win.r1, win.c0 : win.c1]
            at = (win.rows, win.cols) if win.rows is not None else slice(None)
            # A running sum: its rounding drift over thousands of updates is ~1e-13.
            self.sum += float(values.sum() - target[at].sum())
            target[at] = values
        else:
            self.smap.fill(1.0)
            self.sum = float(self.total)
            if fresh_n:
                win = _windows(fresh)
                assert win is not None
                values = _map_values(a, b, win)
                target = self.smap[win.r0 : win.r1, win.c0 : win.c1]
                at = (win.rows, win.cols) if win.rows is not None else slice(None)
                target[at] = values
                self.sum += float(values.sum()) - values.size
        return self.sum / self.total


def ssim_matrix(
    ga: Sequence[np.ndarray], gb: Sequence[np.ndarray], *, full: bool = False
) -> np.ndarray:
    """The N x M SSIM matrix (gray uint8 frames, all the same size), or enough of it for VS.

    Args:
        ga: Reference gray frames.
        gb: Generated gray frames, same size as the reference ones.
        full: Compute every entry. By default a pair whose row and column both already hold an
            exact 1 (an identical pair) is skipped and left NaN: it cannot change either maximum.

    Returns:
        An N x M float array (NaN where skipped).
    """
    if not len(ga) or not len(gb):
        raise ValueError("need at least one frame on each side")
    for g in (*ga, *gb):
        _check(ga[0], g)
    frames = [*ga, *gb]
    ids, first = dedupe(frames)
    ia, ib = ids[: len(ga)], ids[len(ga) :]
    ua, ub = _order_unique(ia), _order_unique(ib)
    ra = {g: k for k, g in enumerate(ua)}
    rb = {g: k for k, g in enumerate(ub)}
    n, m = len(ua), len(ub)
    mat = np.full((n, m), np.nan)
    row_done = np.zeros(n, bool)
    col_done = np.zeros(m, bool)
    for g in set(ua) & set(ub):
        mat[ra[g], rb[g]] = 1.0
        row_done[ra[g]] = col_done[rb[g]] = True

    per_frame = frames[0].size * 12
    cache: dict[int, _Sums] = {}

    def sums(g: int, uses: int) -> _Sums:
        s = cache.get(g)
        if s is None:
            # Whole-frame sums pay off for a frame in several pairs; a frame in one pair gets
            # sums over the windows it needs only.
            s = _Sums(frames[first[g]], precompute=uses > 1)
            if uses > 1 and (len(cache) + 1) * per_frame <= CACHE_BYTES:
                cache[g] = s
        return s

    inc = _Incremental(frames[0].shape)
    for i in range(n):
        # Serpentine order: consecutive pairs share a frame, so the update is local.
        cols = range(m) if i % 2 == 0 else range(m - 1, -1, -1)
        a = None
        for j in cols:
            if not np.isnan(mat[i, j]) or (not full and row_done[i] and col_done[j]):
                continue
            if a is None:
                a = sums(ua[i], m)
            mat[i, j] = inc.ssim(a, sums(ub[j], n))
    return mat[np.ix_([ra[g] for g in ia.tolist()], [rb[g] for g in ib.tolist()])]

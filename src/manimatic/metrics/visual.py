"""The study's visual similarity (VS) between a reference render and a generated one.

Definition (arXiv 2604.18364; docs/architecture.md section 4), for N reference and M generated
frames:

* SSIM term: the N x M matrix of grayscale SSIM (skimage defaults: 7x7 uniform window, sample
  covariance, K1 0.01, K2 0.03; data_range 255), each generated frame resized to the reference
  size; seqA = row max, seqB = column max; d = FastDTW(seqA, seqB, euclidean);
  ssim_term = exp(-5 d / max(N, M)).
* Semantic term: image embeddings (CLIP ViT-L/14), L2-normalised; c = FastDTW with cosine
  distance; semantic_term = exp(-c / max(N, M)).
* VS = sqrt(ssim_term * semantic_term). Without an embedder, VS = ssim_term and the result says so
  (`semantic_term` None, `note` set). A failed render scores 0: that is the caller's rule.

Preprocessing (shared by both implementations below, so they see the same input): RGB -> gray with
OpenCV's BT.601 weights (uint8), generated frame resized with `cv2.resize` (bilinear).

`visual_similarity` computes the same value as the straightforward `visual_similarity_reference`
(every pair through `skimage.metrics.structural_similarity`, every frame embedded) much faster:
identical frames are computed once, the SSIM matrix comes from `manimatic.metrics.ssim` (exact
window sums, only windows that differ, incremental updates between neighbouring pairs), and a
1 x 1 comparison (two stills) is exactly 1 without computing anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from manimatic.metrics.embedders import ImageEmbedder, l2_normalise
from manimatic.metrics.frames import Frames
from manimatic.metrics.ssim import WIN, dedupe, ssim_matrix, ssim_reference

SSIM_SCALE = 5.0  # ssim_term = exp(-5 d / max(N, M))
NO_EMBEDDER_NOTE = "no image embedder available: VS = SSIM term (semantic term not computed)"


@dataclass
class VisualSimilarity:
    """VS of a generated render against a reference.

    Attributes:
        vs: sqrt(ssim_term * semantic_term), or ssim_term when semantic_term is None.
        ssim_term: exp(-5 d / max(N, M)) from the SSIM profiles.
        semantic_term: exp(-c / max(N, M)) from image embeddings; None without an embedder.
        frames_a: N, frames of the reference.
        frames_b: M, frames of the generated render.
        elapsed_s: Wall time of the computation.
        embedder: Name of the image embedder used, if any.
        note: Set when VS is not the full definition (no embedder).
    """

    vs: float
    ssim_term: float
    semantic_term: float | None
    frames_a: int
    frames_b: int
    elapsed_s: float
    embedder: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- preprocessing shared by both implementations ---------------------------------------------


def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB (or gray) uint8 -> gray uint8, OpenCV BT.601 weights."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def gray_frames(ref: Frames, gen: Frames) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Grayscale frames, the generated ones resized to the reference frame size."""
    if not len(ref) or not len(gen):
        raise ValueError("both renders need at least one frame")
    ga = [to_gray(im) for im in ref.images]
    h, w = ga[0].shape
    if h < WIN or w < WIN:
        raise ValueError(f"frames of {w}x{h} are smaller than the {WIN}x{WIN} SSIM window")
    gb = []
    for im in gen.images:
        g = to_gray(im)
        if g.shape != (h, w):
            g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)
        gb.append(g)
    for g in ga[1:]:
        if g.shape != (h, w):
            raise ValueError(f"reference frames change size ({g.shape} vs {(h, w)})")
    return ga, gb


def _ssim_term(seq_a: Sequence[float], seq_b: Sequence[float]) -> float:
    from fastdtw import fastdtw
    from scipy.spatial.distance import euclidean

    # As (n, 1) vectors: scipy's euclidean rejects scalars; for 1-D points it is |a - b|.
    a = np.asarray(seq_a, float).reshape(-1, 1)
    b = np.asarray(seq_b, float).reshape(-1, 1)
    d, _ = fastdtw(a, b, dist=euclidean)
    return math.exp(-SSIM_SCALE * d / max(len(seq_a), len(seq_b)))


def _semantic_term(emb_a: np.ndarray, emb_b: np.ndarray) -> float:
    from fastdtw import fastdtw
    from scipy.spatial.distance import cosine

    c, _ = fastdtw(l2_normalise(emb_a), l2_normalise(emb_b), dist=cosine)
    return math.exp(-c / max(len(emb_a), len(emb_b)))


def _combine(
    ssim_term: float, semantic_term: float | None, n: int, m: int, t0: float, embedder: Any
) -> VisualSimilarity:
    if semantic_term is None:
        vs, note, name = ssim_term, NO_EMBEDDER_NOTE, None
    else:
        vs, note, name = math.sqrt(ssim_term * semantic_term), None, getattr(embedder, "name", None)
    return VisualSimilarity(
        vs=vs,
        ssim_term=ssim_term,
        semantic_term=semantic_term,
        frames_a=n,
        frames_b=m,
        elapsed_s=time.perf_counter() - t0,
        embedder=name,
        note=note,
    )


# --- the straightforward implementation (benchmark baseline) -----------------------------------


def visual_similarity_reference(
    ref: Frames, gen: Frames, embedder: ImageEmbedder | None = None
) -> VisualSimilarity:
    """VS computed literally as defined: every pair through skimage, every frame embedded."""
    t0 = time.perf_counter()
    ga, gb = gray_frames(ref, gen)
    mat = np.array([[ssim_reference(a, b) for b in gb] for a in ga])
    ssim_term = _ssim_term(mat.max(axis=1), mat.max(axis=0))
    semantic = None
    if embedder is not None:
        semantic = _semantic_term(embedder.embed(ref.images), embedder.embed(gen.images))
    return _combine(ssim_term, semantic, len(ga), len(gb), t0, embedder)


# --- the fast implementation --------------------------------------------------------------------


def _embed_deduped(embedder: ImageEmbedder, images: list[np.ndarray]) -> np.ndarray:
    """Embeddings of all images, each distinct image embedded once."""
    ids, first = dedupe(images)
    vecs = np.asarray(embedder.embed([images[i] for i in first]), dtype=np.float64)
    return vecs[ids]


def visual_similarity(
    ref: Frames,
    gen: Frames,
    embedder: ImageEmbedder | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> VisualSimilarity:
    """The study's VS of a generated render against a reference (fast, same value).

    Args:
        ref: Frames of the reference render.
        gen: Frames of the generated render.
        embedder: Image embedder for the semantic term; None gives VS = SSIM term (and says so).
        progress: Optional callback for status lines (e.g. a CLI spinner).

    Returns:
        The VS and its terms.

    Raises:
        ValueError: A render has no frames, or frames are smaller than the SSIM window.
    """
    t0 = time.perf_counter()
    ga, gb = gray_frames(ref, gen)
    if progress:
        progress(f"SSIM over {len(ga)} x {len(gb)} frames")
    if len(ga) == 1 and len(gb) == 1:
        # seqA and seqB are then the same single number: d = 0 and the SSIM term is exactly 1,
        # whatever the frames show (a known weakness of the definition; see `fidelity`).
        ssim_term = 1.0
    else:
        mat = ssim_matrix(ga, gb)
        ssim_term = _ssim_term(np.nanmax(mat, axis=1), np.nanmax(mat, axis=0))
    semantic = None
    if embedder is not None:
        if progress:
            progress(f"embedding with {getattr(embedder, 'name', 'embedder')}")
        emb = _embed_deduped(embedder, list(ref.images) + list(gen.images))
        semantic = _semantic_term(emb[: len(ref)], emb[len(ref) :])
    return _combine(ssim_term, semantic, len(ga), len(gb), t0, embedder)

"""The study's VS: hand-computed cases, fast == reference, stills, the semantic term."""

from __future__ import annotations

import math

import numpy as np
import pytest
from metrics_helpers import other_frame, scene_frame, write_png

from manimatic.metrics.frames import Frames, load_frames
from manimatic.metrics.visual import (
    NO_EMBEDDER_NOTE,
    visual_similarity,
    visual_similarity_reference,
)

C1 = (0.01 * 255) ** 2


def frames(*images: np.ndarray) -> Frames:
    return Frames.from_arrays(list(images))


def test_identical_renders_score_one():
    video = frames(*[scene_frame(progress=k / 4) for k in range(5)])
    res = visual_similarity(video, video)
    assert res.vs == 1.0 and res.ssim_term == 1.0
    assert res.semantic_term is None and res.note == NO_EMBEDDER_NOTE
    assert (res.frames_a, res.frames_b) == (5, 5)


def test_known_dtw_case_by_hand():
    # SSIM(black, white) on flat frames = C1 / (255^2 + C1) (means differ, no variance).
    black = np.zeros((16, 16), np.uint8)
    white = np.full((16, 16), 255, np.uint8)
    s = C1 / (255**2 + C1)
    # Matrix [[1, s], [1, s]]: seqA = [1, 1], seqB = [1, s]; the cheapest warping path pays
    # |1 - s| once, so d = 1 - s and the term is exp(-5 (1 - s) / 2).
    res = visual_similarity(frames(black, black), frames(black, white))
    assert res.ssim_term == pytest.approx(math.exp(-5 * (1 - s) / 2), abs=1e-12)
    assert res.vs == res.ssim_term
    ref = visual_similarity_reference(frames(black, black), frames(black, white))
    assert ref.ssim_term == pytest.approx(res.ssim_term, abs=1e-12)


def test_two_stills_always_score_one():
    # The definition's known weakness: for 1 x 1 frames seqA == seqB, so d = 0.
    res = visual_similarity(frames(scene_frame()), frames(other_frame()))
    assert res.vs == 1.0
    assert visual_similarity_reference(frames(scene_frame()), frames(other_frame())).vs == 1.0


def test_png_against_video(tmp_path):
    still = load_frames(write_png(tmp_path / "a.png", scene_frame()))
    video = frames(*[scene_frame(progress=k / 4) for k in range(5)])
    fast = visual_similarity(still, video)
    assert (fast.frames_a, fast.frames_b) == (1, 5)
    assert fast.vs == pytest.approx(visual_similarity_reference(still, video).vs, abs=1e-9)
    assert 0 < fast.vs < 1


def test_fast_equals_reference_on_random_frames():
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(4)]
    a = frames(imgs[0], imgs[0], imgs[1], imgs[2])
    b = frames(imgs[3], imgs[1], imgs[1], imgs[0], imgs[3])
    assert visual_similarity(a, b).vs == pytest.approx(
        visual_similarity_reference(a, b).vs, abs=1e-9
    )


def test_generated_frames_are_resized_to_the_reference():
    a = frames(*[scene_frame(progress=k / 3) for k in range(4)])
    b = frames(*[scene_frame(progress=k / 2, w=320, h=180) for k in range(3)])
    fast, ref = visual_similarity(a, b), visual_similarity_reference(a, b)
    assert fast.vs == pytest.approx(ref.vs, abs=1e-9)


def test_fast_equals_reference_on_a_real_render(real_render):
    real = load_frames(real_render)
    assert len(real) >= 6
    shifted = Frames.from_arrays([np.roll(im, 4, axis=1) for im in real.images])
    for other in (real, shifted, frames(scene_frame(), other_frame())):
        fast, ref = visual_similarity(real, other), visual_similarity_reference(real, other)
        assert fast.vs == pytest.approx(ref.vs, abs=1e-9)


def test_semantic_term_with_a_tiny_embedder():
    from manimatic.metrics.embedders import tiny_clip_embedder

    emb = tiny_clip_embedder()
    a = frames(*[scene_frame(progress=k / 3) for k in range(4)])
    b = frames(other_frame(), other_frame(), scene_frame())
    same = visual_similarity(a, a, embedder=emb)
    assert same.semantic_term == pytest.approx(1.0, abs=1e-9) and same.note is None
    fast = visual_similarity(a, b, embedder=emb)
    ref = visual_similarity_reference(a, b, embedder=emb)
    assert fast.semantic_term is not None and 0 < fast.semantic_term < 1
    assert fast.semantic_term == pytest.approx(ref.semantic_term, abs=1e-6)
    assert fast.vs == pytest.approx(math.sqrt(fast.ssim_term * fast.semantic_term), abs=1e-12)
    assert fast.embedder and fast.embedder.startswith("tiny-random-clip")


def test_default_embedder_is_none_offline_and_says_why(monkeypatch, tmp_path):
    from manimatic.metrics import embedders

    monkeypatch.setattr(embedders, "_default_cache", {})
    monkeypatch.setenv(embedders.CLIP_PATH_ENV, str(tmp_path / "nowhere"))
    assert embedders.default_embedder() is None
    assert "MANIMATIC_CLIP_PATH" in embedders.default_embedder_reason()


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="at least one frame"):
        visual_similarity(Frames(images=[]), frames(scene_frame()))

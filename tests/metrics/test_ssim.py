"""The fast SSIM engine equals skimage's default SSIM."""

from __future__ import annotations

import numpy as np
import pytest
from metrics_helpers import other_frame, scene_frame

from manimatic.metrics.ssim import dedupe, ssim_matrix, ssim_pair, ssim_reference
from manimatic.metrics.visual import to_gray

TOL = 1e-9


@pytest.mark.parametrize("shape", [(7, 7), (8, 11), (33, 47), (90, 160)])
def test_pair_matches_skimage_on_random_frames(shape):
    rng = np.random.default_rng(shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 256, shape, dtype=np.uint8)
    local = a.copy()
    local[shape[0] // 2, shape[1] // 3] ^= 0x55  # one pixel differs
    edge = a.copy()
    edge[0, 0] ^= 0x0F  # the corner pixel: seen by a single window
    for x, y in ((a, b), (a, local), (a, edge), (a, a)):
        assert ssim_pair(x, y) == pytest.approx(ssim_reference(x, y), abs=TOL)


def test_pair_matches_skimage_on_manim_like_frames():
    a = to_gray(scene_frame())
    for b in (scene_frame(shift=(3, 1)), scene_frame(circle_colour=(88, 196, 221)), other_frame()):
        assert ssim_pair(a, to_gray(b)) == pytest.approx(ssim_reference(a, to_gray(b)), abs=TOL)


def test_identical_frames_are_exactly_one():
    a = to_gray(scene_frame())
    assert ssim_pair(a, a.copy()) == 1.0


def test_matrix_matches_all_pairs_with_repeats():
    rng = np.random.default_rng(0)
    base = [to_gray(scene_frame(progress=k / 5)) for k in range(6)]
    noisy = rng.integers(0, 256, base[0].shape, dtype=np.uint8)
    ga = [base[0], base[0], base[2], base[5], base[5], noisy]
    gb = [base[1], base[2], base[2], to_gray(other_frame()), base[5]]
    expected = np.array([[ssim_reference(x, y) for y in gb] for x in ga])
    full = ssim_matrix(ga, gb, full=True)
    np.testing.assert_allclose(full, expected, atol=TOL, rtol=0)
    pruned = ssim_matrix(ga, gb)
    # Skipped entries are NaN, but the row and column maxima are the same.
    np.testing.assert_allclose(np.nanmax(pruned, 1), expected.max(1), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.nanmax(pruned, 0), expected.max(0), atol=TOL, rtol=0)


def test_matrix_validates_input():
    with pytest.raises(ValueError, match="at least one frame"):
        ssim_matrix([], [np.zeros((9, 9), np.uint8)])
    with pytest.raises(ValueError, match="sizes differ"):
        ssim_matrix([np.zeros((9, 9), np.uint8)], [np.zeros((9, 10), np.uint8)])
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim_pair(np.zeros((5, 9), np.uint8), np.zeros((5, 9), np.uint8))


def test_dedupe_groups_identical_frames():
    a, b = np.zeros((9, 9), np.uint8), np.ones((9, 9), np.uint8)
    ids, first = dedupe([a, b, a.copy(), b, a])
    assert ids.tolist() == [0, 1, 0, 1, 0] and first == [0, 1]

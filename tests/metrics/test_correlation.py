"""Pearson / Spearman between metric lists, with missing values and degenerate inputs."""

from __future__ import annotations

import math

import pytest

from manimatic.metrics.correlation import correlate


def test_perfect_and_monotone():
    r = correlate([1, 2, 3, 4], [2, 4, 6, 8])
    assert r.n == 4 and r.pearson == pytest.approx(1.0) and r.spearman == pytest.approx(1.0)
    r = correlate([1, 2, 3, 4], [1, 10, 100, 1000])
    assert r.spearman == pytest.approx(1.0) and r.pearson < 1.0
    assert 0 <= r.pearson_p <= 1 and r.reason is None


def test_none_and_nan_are_dropped():
    r = correlate([1, None, 3, 4, math.nan, 6], [1, 2, None, 4, 5, 7])
    assert r.n == 3 and r.dropped == 3 and r.pearson is not None


def test_constant_input_gives_none_with_reason():
    r = correlate([1, 2, 3], [5, 5, 5])
    assert r.pearson is None and r.spearman is None and "second input is constant" in r.reason


def test_too_few_pairs():
    r = correlate([1, None], [2, 3])
    assert r.n == 1 and r.pearson is None and "at least 3" in r.reason


def test_length_mismatch():
    with pytest.raises(ValueError, match="differ in length"):
        correlate([1, 2], [1])

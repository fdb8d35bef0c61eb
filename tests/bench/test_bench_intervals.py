"""95% intervals: Wilson for rates, seeded percentile bootstrap for means."""

from __future__ import annotations

import pytest

from manimatic.bench.intervals import bootstrap_mean, wilson


def test_wilson_known_values_and_edges() -> None:
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10)[1] == 1.0 and wilson(10, 10)[0] < 1.0
    assert wilson(0, 0) is None


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.6, 0.55, 0.2, 0.9]
    ci = bootstrap_mean(values)
    assert ci == bootstrap_mean(values)  # same data, same interval
    mean = sum(values) / len(values)
    assert ci[0] < mean < ci[1] and ci[0] >= 0.1 and ci[1] <= 0.9
    assert bootstrap_mean([]) is None and bootstrap_mean([0.5]) == (0.5, 0.5)

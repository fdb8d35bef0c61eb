"""bench.stats: intervals, McNemar, paired bootstrap and degenerate VS, checked by hand."""

from __future__ import annotations

import math

import pytest

from manimatic.bench.analysis import summarize
from manimatic.bench.stats import (
    bootstrap_ci,
    comparison_note,
    is_degenerate_vs,
    mcnemar,
    paired_bootstrap,
    paired_correlation_delta,
    paired_tests,
    run_intervals,
)


def row(task: str, ok: bool, vs=None, fidelity=None, **more) -> dict:
    base = {"task_id": task, "ok": ok, "vs": vs, "fidelity": fidelity, "ref_ok": True,
            "infra_error": False}  # fmt: skip
    return {**base, **more}


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.8, 0.2, 0.6]
    low, high = bootstrap_ci(values)
    assert low < sum(values) / len(values) < high
    assert bootstrap_ci(values) == (low, high)  # same rows, same interval
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([0.0] * 10) == (0.0, 0.0)  # no variation seen
    wide, narrow = bootstrap_ci(values, confidence=0.99), bootstrap_ci(values, confidence=0.5)
    assert wide[0] <= low <= narrow[0] and narrow[1] <= high <= wide[1]


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    a = [True] * 4 + [False] * 6 + [False] * 3
    b = [True] * 4 + [True] * 6 + [False] * 3  # 6 tasks fixed, none broken
    result = mcnemar(a, b)
    assert (result.both, result.neither, result.only_a, result.only_b) == (4, 3, 0, 6)
    assert result.method == "exact"
    assert result.p_value == pytest.approx(2 / 2**6)  # both tails of Binomial(6, 0.5) at 0
    assert mcnemar([True, False], [True, False]).p_value == 1.0  # no discordant pair
    with pytest.raises(ValueError, match="length"):
        mcnemar([True], [True, False])


def test_mcnemar_chi_square_for_many_discordant_pairs() -> None:
    a = [True] * 10 + [False] * 30
    b = [False] * 10 + [True] * 30
    result = mcnemar(a, b)
    assert result.method == "chi2"
    assert result.statistic == pytest.approx((30 - 10 - 1) ** 2 / 40)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))  # ~0.00266
    assert 0.002 < result.p_value < 0.003


def test_paired_bootstrap_delta_interval_and_p() -> None:
    a = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.2, 0.3]
    same = paired_bootstrap(a, a)
    assert same.delta == 0.0 and same.ci == [0.0, 0.0] and same.p_value == 1.0
    better = paired_bootstrap(a, [x + 0.1 + 0.01 * i for i, x in enumerate(a)])
    assert better.delta == pytest.approx(0.1 + 0.045)
    assert better.ci[0] > 0 and better.p_value < 0.01  # every task improved
    mixed = paired_bootstrap([0.5, 0.2, 0.9, 0.1], [0.4, 0.3, 0.8, 0.2])
    assert mixed.ci[0] < 0 < mixed.ci[1] and mixed.p_value > 0.3
    assert paired_bootstrap([], []).delta is None


def test_paired_correlation_delta_resamples_tasks_together() -> None:
    code = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    tight = [x + 0.01 * (-1) ** i for i, x in enumerate(code)]  # r ~ 1
    loose = [0.5, 0.1, 0.9, 0.2, 0.8, 0.3, 0.4, 0.7, 0.6, 0.35]  # r ~ 0
    t = paired_correlation_delta((code, loose), (code, tight))
    assert t.n == 10 and t.mean_b > 0.99 and abs(t.mean_a) < 0.5
    assert t.delta == pytest.approx(t.mean_b - t.mean_a)
    assert t.ci[0] > 0 and t.p_value < 0.05
    assert paired_correlation_delta((code, loose), (code, tight)) == t  # seeded
    same = paired_correlation_delta((code, tight), (code, tight))
    assert same.delta == 0.0 and same.p_value == 1.0
    # A constant visual metric (nothing rendered): r is undefined, so nothing can be said.
    flat = paired_correlation_delta((code, [0.0] * 10), (code, tight))
    assert flat.mean_a is None and flat.delta is None and flat.p_value is None
    assert (
        paired_correlation_delta(([0.1, 0.2], [0.1, 0.3]), ([0.1, 0.2], [0.3, 0.1])).delta is None
    )
    with pytest.raises(ValueError, match="length"):
        paired_correlation_delta((code, tight), (code[:3], tight))


def test_degenerate_vs_flag_and_run_intervals_pools() -> None:
    assert is_degenerate_vs({"vs": 0.9998, "fidelity": 0.05})  # black scene vs white reference
    assert not is_degenerate_vs({"vs": 0.99, "fidelity": 0.9})
    assert not is_degenerate_vs({"vs": 0.99, "fidelity": None})
    rows = [
        row("a", True, 0.99, 0.1, codebleu=0.4),
        row("b", False, 0.0, 0.0, codebleu=0.2),
        row("c", True, 0.6, 0.7, codebleu=0.5),
        row("d", False, None, None, ref_ok=False, codebleu=0.1),  # out of the visual pools
        row("e", False, infra_error=True),  # out of every pool
    ]
    iv = run_intervals(rows)
    assert iv["degenerate_vs"] == 1 and iv["degenerate_vs_ids"] == ["a"]
    assert 0.0 <= iv["rsr_ci"][0] <= 0.5 <= iv["rsr_ci"][1] <= 1.0  # 2 of 4 scored
    assert iv["mean_vs_ci"][1] <= 0.99 and iv["mean_vs_ci"][0] >= 0.0
    assert iv["mean_cbb_ci"] is None  # no CBB anywhere
    stats = summarize(rows)
    assert stats["intervals"]["rsr_ci"] == iv["rsr_ci"]
    assert any("degenerate VS" in n and "unrelated videos" in n for n in stats["notes"])


def test_paired_tests_pair_common_tasks_and_give_percentage_points() -> None:
    a = [row("x", True, 0.8, 0.8), row("y", False, 0.0, 0.0), row("z", True, 0.5, 0.5)]
    b = [row("x", True, 0.9, 0.9), row("y", True, 0.6, 0.6), row("w", True, 1.0, 1.0)]
    t = paired_tests(a, b)
    assert t.n == 2 and (t.render.only_a, t.render.only_b) == (0, 1)
    assert t.metrics["vs"]["delta_pp"] == pytest.approx(100 * (0.1 + 0.6) / 2)
    assert t.metrics["rsr"]["delta_pp"] == pytest.approx(50.0)
    assert "McNemar" in comparison_note(t)

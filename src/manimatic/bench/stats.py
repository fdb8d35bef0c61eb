"""Statistics a paper needs: bootstrap intervals, McNemar, paired bootstrap, degenerate VS.

    from manimatic.bench.stats import bootstrap_ci, mcnemar, paired_bootstrap, run_intervals
    bootstrap_ci([0.2, 0.9, 0.4])            # (low, high): 95% percentile bootstrap of the mean
    mcnemar([True, False, ...], [True, True, ...])   # paired render success, exact when small
    paired_bootstrap(vs_a, vs_b)              # delta of means, its interval, two-sided p
    paired_correlation_delta((cb_a, vs_a), (cb_b, vs_b))   # r(B) - r(A), same tasks
    run_intervals(store.results(run_id))      # {"rsr_ci": [lo, hi], "mean_vs_ci": ..., ...}

Everything is numpy only and seeded (`DEFAULT_SEED`), so the same rows give the same intervals on
every call and every machine: a report regenerated later shows the numbers it showed before.

The pools follow `analysis.group_stats`: RSR over scored tasks (infrastructure errors left out);
VS and fidelity over tasks whose reference rendered (a failed render counts 0); code metrics over
scored tasks with a value. Percentile intervals are used, the plain bootstrap: with 10 tasks an
RSR of 0/10 has the interval [0, 0], which says "no variation seen", not "certainly 0"; the
report says so beside the numbers.

Degenerate VS: the study's VS compares SSIM *profiles*, and unrelated Manim frames (mostly black)
have SSIM ~0.97, so a black scene scored against a white reference can reach VS 0.9998. A row
with VS >= 0.95 while our fidelity is < 0.2 is flagged (`is_degenerate_vs`): its VS says nothing
about the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_SEED = 20260418  # fixed: the same rows always give the same intervals
DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
EXACT_MCNEMAR_MAX = 25  # discordant pairs up to which the exact binomial test is used
DEGENERATE_VS = 0.95
DEGENERATE_FIDELITY = 0.2

VISUAL_METRICS = ("vs", "ssim_term", "semantic_term", "fidelity")
INTERVAL_METRICS = ("vs", "ssim_term", "semantic_term", "fidelity", "codebleu", "codebert",
                    "cbb", "ast_distance", "rounds")  # fmt: skip


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(DEFAULT_SEED if seed is None else seed)


def bootstrap_ci(
    values: Sequence[float],
    *,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of a statistic (default: the mean).

    Args:
        values: The sample (one value per task).
        statistic: Maps a (resamples, n) array to one value per row; default the row mean.
        resamples: Bootstrap resamples.
        confidence: Coverage of the interval (0.95: the 2.5th and 97.5th percentiles).
        seed: RNG seed (default `DEFAULT_SEED`).

    Returns:
        (low, high), or None for an empty sample.
    """
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return None
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    idx = _rng(seed).integers(0, data.size, size=(resamples, data.size))
    samples = data[idx]
    stats = statistic(samples) if statistic is not None else samples.mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return float(low), float(high)


@dataclass
class McNemarResult:
    """McNemar's test on paired binary outcomes (render success of A and B on the same tasks).

    Attributes:
        n: Pairs.
        both: Both succeeded.
        neither: Both failed.
        only_a: A succeeded, B failed.
        only_b: B succeeded, A failed.
        statistic: The chi-square statistic (continuity-corrected) or, for the exact test, the
            smaller discordant count.
        p_value: Two-sided p (1.0 when there is no discordant pair).
        method: "exact" (binomial, discordant <= 25) or "chi2" (with continuity correction).
    """

    n: int
    both: int
    neither: int
    only_a: int
    only_b: int
    statistic: float
    p_value: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial p for k of n under p = 0.5 (doubled smaller tail, capped at 1)."""
    if n == 0:
        return 1.0
    k = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar(a_ok: Sequence[bool], b_ok: Sequence[bool]) -> McNemarResult:
    """McNemar's test on paired successes; exact binomial for few discordant pairs.

    Raises:
        ValueError: The two sequences differ in length.
    """
    if len(a_ok) != len(b_ok):
        raise ValueError(f"paired outcomes differ in length: {len(a_ok)} vs {len(b_ok)}")
    pairs = [(bool(a), bool(b)) for a, b in zip(a_ok, b_ok, strict=True)]
    both = sum(1 for a, b in pairs if a and b)
    neither = sum(1 for a, b in pairs if not a and not b)
    only_a = sum(1 for a, b in pairs if a and not b)
    only_b = sum(1 for a, b in pairs if b and not a)
    discordant = only_a + only_b
    if discordant <= EXACT_MCNEMAR_MAX:
        return McNemarResult(len(pairs), both, neither, only_a, only_b,
                             float(min(only_a, only_b)), _binom_two_sided(only_a, discordant),
                             "exact")  # fmt: skip
    chi2 = (abs(only_a - only_b) - 1) ** 2 / discordant
    p = math.erfc(math.sqrt(chi2 / 2))  # chi-square survival with 1 degree of freedom
    return McNemarResult(len(pairs), both, neither, only_a, only_b, chi2, p, "chi2")


@dataclass
class PairedResult:
    """Paired bootstrap of the difference of means (B - A) over the same tasks.

    Attributes:
        n: Pairs.
        mean_a: Mean of A.
        mean_b: Mean of B.
        delta: mean_b - mean_a.
        ci: 95% percentile interval of delta ([low, high]; None without pairs).
        p_value: Two-sided bootstrap p for delta = 0 (None without pairs).
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    delta: float | None
    ci: list[float] | None
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int | None = None,
) -> PairedResult:
    """Resample tasks (pairs kept together) and bootstrap the difference of means.

    The p value is twice the smaller share of resampled deltas on either side of 0 (capped at
    1): the usual percentile-bootstrap test. A delta that is exactly 0 in every resample (the
    two conditions agree on every task) has p = 1.

    Raises:
        ValueError: The two sequences differ in length.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    if not len(a):
        return PairedResult(0, None, None, None, None, None)
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = xb - xa
    idx = _rng(seed).integers(0, diff.size, size=(resamples, diff.size))
    deltas = diff[idx].mean(axis=1)
    ci, p = _interval_and_p(deltas, confidence)
    return PairedResult(int(diff.size), float(xa.mean()), float(xb.mean()), float(diff.mean()),
                        ci, p)  # fmt: skip


def _interval_and_p(deltas: np.ndarray, confidence: float) -> tuple[list[float], float]:
    """Percentile interval of bootstrapped deltas and the two-sided p for delta = 0."""
    alpha = (1 - confidence) / 2
    low, high = np.quantile(deltas, [alpha, 1 - alpha])
    if np.all(deltas == 0):
        return [float(low), float(high)], 1.0
    p = float(min(1.0, 2 * min(np.mean(deltas <= 0), np.mean(deltas >= 0))))
    return [float(low), float(high)], p


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of each row of x against the same row of y; NaN where a row is constant."""
    dx = x - x.mean(axis=1, keepdims=True)
    dy = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (dx * dy).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def paired_correlation_delta(
    a: tuple[Sequence[float], Sequence[float]],
    b: tuple[Sequence[float], Sequence[float]],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int | None = None,
) -> PairedResult:
    """Bootstrap of Pearson r(B) - r(A), each (code, visual) over the same tasks in the same order.

    Tasks are resampled together for both conditions. Resamples in which either correlation is
    undefined (a constant input) are dropped; when that leaves fewer than half of them, or the
    correlation of the full sample is undefined in either condition, nothing can be said and
    delta, interval and p are None (mean_a / mean_b hold the two r where defined).

    Raises:
        ValueError: The four sequences are not all of one length.
    """
    xa, ya, xb, yb = (np.asarray(v, dtype=float) for v in (*a, *b))
    if not (xa.size == ya.size == xb.size == yb.size):
        raise ValueError("paired correlation inputs differ in length")
    n = int(xa.size)
    if n < 3:
        return PairedResult(n, None, None, None, None, None)
    ra, rb = (float(r) for r in _rowwise_pearson(np.stack([xa, xb]), np.stack([ya, yb])))
    mean_a = None if math.isnan(ra) else ra
    mean_b = None if math.isnan(rb) else rb
    if mean_a is None or mean_b is None:
        return PairedResult(n, mean_a, mean_b, None, None, None)
    idx = _rng(seed).integers(0, n, size=(resamples, n))
    deltas = _rowwise_pearson(xb[idx], yb[idx]) - _rowwise_pearson(xa[idx], ya[idx])
    deltas = deltas[~np.isnan(deltas)]
    if deltas.size < resamples / 2:
        return PairedResult(n, mean_a, mean_b, None, None, None)
    ci, p = _interval_and_p(deltas, confidence)
    return PairedResult(n, mean_a, mean_b, rb - ra, ci, p)


# --- run rows -----------------------------------------------------------------------------------


def scored_by_task(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A run's rows by task id, without those that hit an infrastructure error (not scored)."""
    return {r["task_id"]: r for r in rows if not r.get("infra_error")}


def is_degenerate_vs(row: dict[str, Any]) -> bool:
    """VS >= 0.95 while fidelity < 0.2: the study's VS calls two unlike videos alike."""
    vs, fid = row.get("vs"), row.get("fidelity")
    return vs is not None and fid is not None and vs >= DEGENERATE_VS and fid < DEGENERATE_FIDELITY


def _ci_list(values: list[float], seed: int | None) -> list[float] | None:
    ci = bootstrap_ci(values, seed=seed)
    return None if ci is None else [ci[0], ci[1]]


def metric_values(rows: Iterable[dict[str, Any]], metric: str) -> list[float]:
    """The values a mean of `metric` is over (`analysis.group_stats` takes its means of these):
    scored rows; visual metrics only where the reference rendered; present values only."""
    scored = [r for r in rows if not r.get("infra_error")]
    if metric == "rsr":
        return [1.0 if r.get("ok") else 0.0 for r in scored]
    pool = (
        [r for r in scored if r.get("ref_ok") is not False] if metric in VISUAL_METRICS else scored
    )
    return [float(r[metric]) for r in pool if r.get(metric) is not None]


def run_intervals(rows: Iterable[dict[str, Any]], *, seed: int | None = None) -> dict[str, Any]:
    """95% bootstrap intervals of a run's headline numbers, and its degenerate-VS count.

    Returns:
        `{"rsr_ci": [lo, hi] | None, "mean_vs_ci": ..., "mean_fidelity_ci": ...,
        "mean_codebleu_ci": ..., "mean_cbb_ci": ..., "mean_<metric>_ci" for every other mean,
        "degenerate_vs": count, "degenerate_vs_ids": [...]}`.
    """
    rows = list(rows)
    out: dict[str, Any] = {"rsr_ci": _ci_list(metric_values(rows, "rsr"), seed)}
    for metric in INTERVAL_METRICS:
        out[f"mean_{metric}_ci"] = _ci_list(metric_values(rows, metric), seed)
    flagged = [
        str(r.get("task_id"))
        for r in rows
        if not r.get("infra_error") and r.get("ref_ok") is not False and is_degenerate_vs(r)
    ]
    out["degenerate_vs"] = len(flagged)
    out["degenerate_vs_ids"] = sorted(flagged)
    return out


def degenerate_note(count: int, n: int) -> str | None:
    """The sentence results and reports print when some VS values are degenerate."""
    if not count:
        return None
    return (
        f"{count} of {n} task(s) have a degenerate VS (VS >= {DEGENERATE_VS} while fidelity < "
        f"{DEGENERATE_FIDELITY}): the study's VS can be ~1 for unrelated videos (mostly black "
        "frames, single-frame stills); read fidelity beside it"
    )


@dataclass
class PairedComparison:
    """The paired tests between two runs over their common scored tasks.

    Attributes:
        n: Common scored tasks.
        render: McNemar on render success.
        metrics: Per metric (vs, fidelity, codebleu, cbb, ...) the paired bootstrap; deltas of
            [0, 1] metrics are also given in percentage points (`delta_pp`, `ci_pp`).
    """

    n: int
    render: McNemarResult
    metrics: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "render": self.render.to_dict(), "metrics": self.metrics}


PP_METRICS = ("rsr", "vs", "ssim_term", "semantic_term", "fidelity", "codebleu", "codebert", "cbb")


def paired_tests(
    rows_a: list[dict[str, Any]],
    rows_b: list[dict[str, Any]],
    metrics: Sequence[str] = ("vs", "fidelity", "codebleu", "cbb"),
    *,
    seed: int | None = None,
) -> PairedComparison:
    """McNemar on render success and a paired bootstrap per metric, over common scored tasks.

    Visual metrics pair only tasks whose reference rendered in both runs, as the means do.
    """
    a, b = scored_by_task(rows_a), scored_by_task(rows_b)
    common = sorted(set(a) & set(b))
    render = mcnemar([bool(a[t].get("ok")) for t in common], [bool(b[t].get("ok")) for t in common])
    out: dict[str, dict[str, Any]] = {}
    rsr = paired_bootstrap(
        [float(bool(a[t].get("ok"))) for t in common],
        [float(bool(b[t].get("ok"))) for t in common],
        seed=seed,
    )
    out["rsr"] = _with_pp(rsr.to_dict(), "rsr")
    for metric in metrics:
        xs, ys = [], []
        for t in common:
            if metric in VISUAL_METRICS and (
                a[t].get("ref_ok") is False or b[t].get("ref_ok") is False
            ):
                continue
            va, vb = a[t].get(metric), b[t].get(metric)
            if va is not None and vb is not None:
                xs.append(float(va))
                ys.append(float(vb))
        out[metric] = _with_pp(paired_bootstrap(xs, ys, seed=seed).to_dict(), metric)
    return PairedComparison(n=len(common), render=render, metrics=out)


def _with_pp(data: dict[str, Any], metric: str) -> dict[str, Any]:
    if metric in PP_METRICS:
        data["delta_pp"] = None if data["delta"] is None else 100.0 * data["delta"]
        data["ci_pp"] = None if data["ci"] is None else [100.0 * v for v in data["ci"]]
    return data


def comparison_note(tests: PairedComparison) -> str:
    """One line: the render flips with McNemar's p, and the VS / fidelity deltas in pp."""
    r = tests.render
    parts = [
        f"n {tests.n}: render ok only in A {r.only_a}, only in B {r.only_b} "
        f"(McNemar {r.method} p = {r.p_value:.3g})"
    ]
    for metric in ("vs", "fidelity"):
        m = tests.metrics.get(metric) or {}
        if m.get("delta_pp") is not None:
            lo, hi = m["ci_pp"]
            parts.append(
                f"Δ{metric} {m['delta_pp']:+.1f} pp [{lo:+.1f}, {hi:+.1f}] (p = {m['p_value']:.3g})"
            )
    return "; ".join(parts)

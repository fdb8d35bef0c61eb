"""Correlation between per-task code metrics and visual metrics (Pearson and Spearman, scipy).

Pairs where either value is missing (None or NaN) are dropped first; the result says how many
remained. When a coefficient cannot be computed (fewer than 3 pairs, or a constant input) it is
None with the reason, never NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_PAIRS = 3  # a p-value needs at least 3 points; 2 points always correlate perfectly


@dataclass
class Correlation:
    """Pearson and Spearman correlation of two metric lists.

    Attributes:
        n: Pairs used (both values present).
        dropped: Pairs dropped for a missing value.
        pearson: Pearson's r, or None.
        pearson_p: Its two-sided p-value, or None.
        spearman: Spearman's rho, or None.
        spearman_p: Its two-sided p-value, or None.
        reason: Why a coefficient is None.
    """

    n: int
    dropped: int
    pearson: float | None = None
    pearson_p: float | None = None
    spearman: float | None = None
    spearman_p: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _present(v: Any) -> bool:
    if v is None:
        return False
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def correlate(xs: Sequence[float | None], ys: Sequence[float | None]) -> Correlation:
    """Pearson and Spearman correlation between two equally long metric lists.

    Args:
        xs: One metric per task (e.g. CBB); None/NaN for missing.
        ys: The other metric for the same tasks (e.g. VS).

    Returns:
        The coefficients with n; None coefficients come with a reason.

    Raises:
        ValueError: The lists differ in length.
    """
    from scipy import stats

    if len(xs) != len(ys):
        raise ValueError(f"lists differ in length: {len(xs)} vs {len(ys)}")
    pairs = [
        (float(x), float(y))  # type: ignore[arg-type]  # _present: not None, not NaN
        for x, y in zip(xs, ys, strict=True)
        if _present(x) and _present(y)
    ]
    n = len(pairs)
    out = Correlation(n=n, dropped=len(xs) - n)
    if n < MIN_PAIRS:
        out.reason = f"need at least {MIN_PAIRS} pairs with both values, have {n}"
        return out
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    constant = [name for name, v in (("first", x), ("second", y)) if np.ptp(v) == 0]
    if constant:
        out.reason = f"{' and '.join(constant)} input is constant: correlation is undefined"
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-constant inputs warn; the values are still defined
        pr = stats.pearsonr(x, y)
        sr = stats.spearmanr(x, y)
    out.pearson, out.pearson_p = float(pr.statistic), float(pr.pvalue)
    out.spearman, out.spearman_p = float(sr.statistic), float(sr.pvalue)
    return out

"""95% intervals for a condition's numbers: Wilson for a rate (RSR), percentile bootstrap for a
mean (VS, fidelity, CodeBLEU, CBB).

Wilson rather than the normal approximation because RSR is often near 0 or 1 on small task sets,
where the normal interval leaves [0, 1] or collapses to a point. The bootstrap is seeded so the
same results always print the same interval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Z95 = 1.959963984540054
BOOTSTRAP_SAMPLES = 2000


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of successes / n (None when n is 0)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n the bound is exactly 0 or 1; floating point would leave 0.9999999999999999.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def bootstrap_mean(
    values: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float] | None:
    """The 2.5th-97.5th percentile of the mean over bootstrap resamples (None when empty)."""
    data = [float(v) for v in values]
    if not data:
        return None
    if len(data) == 1:
        return data[0], data[0]
    rng = random.Random(seed)
    n = len(data)
    means = sorted(sum(rng.choices(data, k=n)) / n for _ in range(samples))
    low = means[int(0.025 * (samples - 1))]
    high = means[int(math.ceil(0.975 * (samples - 1)))]
    return low, high

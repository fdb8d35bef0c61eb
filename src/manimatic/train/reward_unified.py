"""The unified reward GRPO optimises: R = w_code R_code + w_visual R_visual (the study: 0.2 / 0.8).

    reward = UnifiedReward(scorer, {"code": 0.2, "visual": 0.8}, "arithmetic")
    trainer = GRPOTrainer(..., reward_funcs=[reward])

One callable is the optimised signal (TRL logs it as `rewards/unified/mean`); its components are
logged beside it through TRL's `log_metric` hook, as `reward_components/<name>` (code, visual,
render, format, plus the share of replies with code and of failed reference renders), and into the
completions table through `log_extra`. One function rather than one per component because the
geometric combination is not a weighted sum, which TRL's `reward_weights` could express.

Combinations over the terms with a non-zero weight:

* arithmetic: R = sum_i w_i R_i (the study's formula; not normalised, so 0.2 / 0.8 gives [0, 1]);
* geometric: R = prod_i R_i ** (w_i / sum w): every weighted term has to be good, and a failed
  render (R_visual = 0) gives R = 0.

A term that is undefined for a task (R_visual when the reference does not render) is left out and
the remaining weights are scaled up to the same total, so such a task is still scored on [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from manimatic.train.scoring import RolloutScore, RolloutScorer

Combination = Literal["arithmetic", "geometric"]
METRIC_PREFIX = "reward_components"


def component_values(score: RolloutScore) -> dict[str, float | None]:
    """The four reward terms of a scored rollout, by name."""
    return {
        "code": score.r_code,
        "visual": score.r_visual,
        "render": 1.0 if score.rendered else 0.0,
        "format": score.format,
    }


def combine(
    values: Mapping[str, float | None],
    weights: Mapping[str, float],
    combination: Combination = "arithmetic",
) -> float | None:
    """Combine reward terms into R.

    Args:
        values: Term values in [0, 1]; None for a term undefined for this rollout.
        weights: Non-negative weight per term; terms with weight 0 are ignored.
        combination: "arithmetic" (sum w_i R_i) or "geometric" (prod R_i^(w_i / sum w)).

    Returns:
        R, or None when no weighted term is defined.
    """
    active = {k: w for k, w in weights.items() if w > 0}
    total = sum(active.values())
    present = {k: w for k, w in active.items() if values.get(k) is not None}
    if not present:
        return None
    kept = sum(present.values())
    if combination == "arithmetic":
        terms = [w * float(values[k] or 0.0) for k, w in present.items()]  # present: not None
        return sum(terms) * (total / kept)
    if combination == "geometric":
        log_r = 0.0
        for k, w in present.items():
            v = float(values[k])  # type: ignore[arg-type]
            if v <= 0.0:
                return 0.0
            log_r += (w / kept) * math.log(v)
        return math.exp(log_r)
    raise ValueError(f"combination must be 'arithmetic' or 'geometric', got {combination!r}")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


class UnifiedReward:
    """TRL reward callable: the weighted combination of the reward terms, components logged.

    Args:
        scorer: The run's rollout scorer.
        weights: Weight per term: "code", "visual", "render", "format".
        combination: "arithmetic" or "geometric".
    """

    __name__ = "unified"

    def __init__(
        self,
        scorer: RolloutScorer,
        weights: Mapping[str, float],
        combination: Combination = "arithmetic",
    ) -> None:
        unknown = set(weights) - {"code", "visual", "render", "format"}
        if unknown:
            raise ValueError(
                f"unknown reward terms {sorted(unknown)}; use code, visual, render, format"
            )
        self.scorer = scorer
        self.weights = dict(weights)
        self.combination = combination
        self.last_scores: list[RolloutScore] = []

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        reference_code: list[str],
        log_metric: Any = None,
        log_extra: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """R per completion; components go to `log_metric` / `log_extra` when TRL passes them."""
        scores = self.scorer.score(completions, reference_code)
        self.last_scores = scores
        values = [component_values(s) for s in scores]
        rewards = [combine(v, self.weights, self.combination) for v in values]
        if log_metric is not None:
            for name, value in self.batch_metrics(scores).items():
                if value is not None:
                    log_metric(f"{METRIC_PREFIX}/{name}", value)
        if log_extra is not None:
            for name in ("code", "visual", "render", "format"):
                log_extra(f"r_{name}", [v[name] for v in values])
            log_extra("render_error", [s.error_category for s in scores])
        return rewards

    @staticmethod
    def batch_metrics(scores: list[RolloutScore]) -> dict[str, float | None]:
        """Batch means of each term (R_visual over rollouts whose reference rendered)."""
        values = [component_values(s) for s in scores]
        out = {
            name: _mean([float(x) for v in values if (x := v[name]) is not None])
            for name in ("code", "visual", "render", "format")
        }
        out["has_code"] = _mean([1.0 if s.found else 0.0 for s in scores])
        out["reference_failed"] = _mean([1.0 if s.r_visual is None else 0.0 for s in scores])
        return out

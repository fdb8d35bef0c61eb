"""The render-success term: 1 when the completion's code rendered, else 0.

    reward = RenderReward(scorer)
    reward(prompts, completions, reference_code=[...]) -> [1.0, 0.0, ...]

The render is the one `RolloutScorer` does for the visual term (memoised per batch, cached by the
pool), so adding this term to a run costs no extra render.
"""

from __future__ import annotations

from typing import Any

from manimatic.train.scoring import RolloutScorer


class RenderReward:
    """TRL reward callable: render success of each completion (no code counts as a failure).

    Args:
        scorer: The run's rollout scorer.
    """

    __name__ = "render"

    def __init__(self, scorer: RolloutScorer) -> None:
        self.scorer = scorer

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        reference_code: list[str],
        **kwargs: Any,
    ) -> list[float]:
        """One 1.0/0.0 per completion."""
        scores = self.scorer.score(completions, reference_code)
        return [1.0 if s.rendered else 0.0 for s in scores]

"""R_visual: how close the completion's render is to the reference render.

    reward = VisualReward(scorer)          # scorer built with visual="vs" or "fidelity"
    reward(prompts, completions, reference_code=[...]) -> [0.83, 0.0, None, ...]

VS is the study's visual similarity; fidelity is manimatic's metric with scene traces. A failed
render (or a reply without code) scores 0, never an exception. When the task's reference itself
does not render the value is None: TRL then leaves the term out for that completion.
"""

from __future__ import annotations

from typing import Any

from manimatic.train.scoring import RolloutScorer


class VisualReward:
    """TRL reward callable: R_visual of each completion.

    Args:
        scorer: The run's rollout scorer (it renders the batch and keeps reference frames).
    """

    __name__ = "visual"

    def __init__(self, scorer: RolloutScorer) -> None:
        self.scorer = scorer

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        reference_code: list[str],
        **kwargs: Any,
    ) -> list[float | None]:
        """One R_visual per completion, in [0, 1] (None when the reference failed)."""
        return [s.r_visual for s in self.scorer.score(completions, reference_code)]

"""R_code: how close the completion's code is to the task's reference code.

    reward = CodeReward(scorer)
    reward(prompts, completions, reference_code=[...]) -> [0.41, 0.0, ...]

The study's R_code is CBB = sqrt(CodeBLEU x CodeBERT) (`manimatic.metrics.code`). Without
CodeBERT weights (offline, or `code_embedder: none`) it is CodeBLEU alone; the scorer's
`code_kind` says which, and the trainer records it in run.json. A reply without code scores 0.
"""

from __future__ import annotations

from typing import Any

from manimatic.train.scoring import RolloutScorer


class CodeReward:
    """TRL reward callable: R_code of each completion against its task's reference.

    Args:
        scorer: The run's rollout scorer.
    """

    __name__ = "code"

    def __init__(self, scorer: RolloutScorer) -> None:
        self.scorer = scorer

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        reference_code: list[str],
        **kwargs: Any,
    ) -> list[float]:
        """One R_code per completion, in [0, 1]."""
        return [s.r_code for s in self.scorer.score(completions, reference_code)]

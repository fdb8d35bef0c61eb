"""A staged reward for models that do not render yet (`reward_shaping: staged`; beyond the study).

With the study's reward (`reward_shaping: study`, R = 0.2 R_code + 0.8 R_visual) a model whose
code never renders gets R_visual = 0 for every rollout, so GRPO sees only the small CodeBLEU
differences (measured on SmolLM2-135M: R ~0.03, all from R_code). The staged reward gives credit
for each step towards a render, then the study's reward on top:

    R = w_block [a closed code block] + w_parse [it parses] + w_preflight [preflight passes]
        + w_render [it rendered] + w_study (0.2 R_code + 0.8 R_visual)

with the default weights 0.05 / 0.05 / 0.1 / 0.1 / 0.7 (sum 1, so R is in [0, 1]). The stages are
cumulative, each needs the one before (code that does not parse cannot pass preflight), so the
ladder orders replies by how far they got: prose < a block of nonsense < code that parses < code
preflight accepts < code that renders < code that renders the right picture. The study's part
keeps most of the weight, so once rollouts render, visual similarity dominates as in the study.

The parse and preflight steps are static (`ast.parse`, `manimatic.render.preflight.check_code`:
no execution), so nothing the model wrote runs on the host; the render and the similarity come
from the run's `RolloutScorer` (the sandboxed warm pool), exactly as for the study's reward.

    reward = StagedReward(scorer)          # a plain TRL reward callable
    trainer = GRPOTrainer(..., reward_funcs=[reward])
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from manimatic.agent.extract import Extraction, extract_code
from manimatic.train.reward_unified import METRIC_PREFIX, combine, component_values
from manimatic.train.scoring import RolloutScore, RolloutScorer, completion_text

STAGES = ("block", "parse", "preflight", "render")
DEFAULT_STAGE_WEIGHTS = {"block": 0.05, "parse": 0.05, "preflight": 0.1, "render": 0.1}
DEFAULT_STUDY_WEIGHT = 0.7
STUDY_WEIGHTS = {"code": 0.2, "visual": 0.8}


@dataclass
class StagedScore:
    """How far one rollout got, and its reward.

    Attributes:
        block: The reply has a closed code block (`<CODE>` or a fenced block).
        parse: Its code parses and compiles.
        preflight: manimatic's static preflight finds nothing that would fail.
        render: It rendered (in the sandbox).
        study: The study's 0.2 R_code + 0.8 R_visual (R_visual left out when the reference
            failed, as in `UnifiedReward`).
        reward: The staged reward R.
    """

    block: bool
    parse: bool
    preflight: bool
    render: bool
    study: float
    reward: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def static_stages(
    text: str, extract: Callable[[str], Extraction] = extract_code
) -> tuple[bool, bool, bool]:
    """(block, parse, preflight) of a reply; static only, the code is never executed.

    `extract` is the run's extraction rule (its protocol's), so the stages credit the code the
    scorer renders.
    """
    ext = extract(text)
    block = bool(ext.found and ext.terminated and not ext.in_think and ext.method != "raw")
    if not block or not ext.code.strip():
        return False, False, False
    try:
        compile(ast.parse(ext.code), "<rollout>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True, False, False
    from manimatic.render.preflight import check_code

    try:
        passed = check_code(ext.code).ok
    except Exception:  # noqa: BLE001 - a preflight bug must not stop training: no credit
        passed = False
    return True, True, passed


def staged_value(
    stages: tuple[bool, bool, bool, bool],
    study: float,
    stage_weights: Mapping[str, float] = DEFAULT_STAGE_WEIGHTS,
    study_weight: float = DEFAULT_STUDY_WEIGHT,
) -> float:
    """R from the four stages (cumulative: a stage counts only when every earlier one holds)."""
    total, reached = 0.0, True
    for name, passed in zip(STAGES, stages, strict=True):
        reached = reached and passed
        if reached:
            total += stage_weights.get(name, 0.0)
    return total + study_weight * study


class StagedReward:
    """TRL reward callable: the staged reward, its stages logged beside it.

    Args:
        scorer: The run's rollout scorer (renders and the study's terms).
        stage_weights: Weight per stage: block, parse, preflight, render.
        study_weight: Weight of the study's 0.2 R_code + 0.8 R_visual.
    """

    __name__ = "staged"

    def __init__(
        self,
        scorer: RolloutScorer,
        stage_weights: Mapping[str, float] | None = None,
        study_weight: float = DEFAULT_STUDY_WEIGHT,
    ) -> None:
        weights = dict(DEFAULT_STAGE_WEIGHTS if stage_weights is None else stage_weights)
        unknown = set(weights) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}; use {', '.join(STAGES)}")
        if any(w < 0 for w in weights.values()) or study_weight < 0:
            raise ValueError("staged reward weights must be >= 0")
        self.scorer = scorer
        self.stage_weights = weights
        self.study_weight = study_weight
        self.last: list[StagedScore] = []
        self.last_scores: list[RolloutScore] = []

    def score(self, completions: list[Any], reference_code: list[str]) -> list[StagedScore]:
        """Score completions (one reference per completion)."""
        scores = self.scorer.score(completions, reference_code)
        self.last_scores = scores
        out = []
        for completion, s in zip(completions, scores, strict=True):
            block, parse, preflight = static_stages(
                completion_text(completion), self.scorer.protocol.extract
            )
            study = combine(component_values(s), STUDY_WEIGHTS) or 0.0
            stages = (block, parse, preflight, bool(s.rendered))
            out.append(
                StagedScore(
                    block=block,
                    parse=parse,
                    preflight=preflight,
                    render=bool(s.rendered),
                    study=study,
                    reward=staged_value(stages, study, self.stage_weights, self.study_weight),
                )
            )
        self.last = out
        return out

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        reference_code: list[str],
        log_metric: Any = None,
        log_extra: Any = None,
        **kwargs: Any,
    ) -> list[float]:
        """R per completion; stage shares go to `log_metric` / `log_extra` when TRL passes them."""
        staged = self.score(completions, reference_code)
        if log_metric is not None and staged:
            for name in (*STAGES, "study"):
                values = [float(getattr(s, name)) for s in staged]
                log_metric(f"{METRIC_PREFIX}/{name}", sum(values) / len(values))
        if log_extra is not None:
            for name in (*STAGES, "study"):
                log_extra(f"r_{name}", [float(getattr(s, name)) for s in staged])
        return [s.reward for s in staged]

"""The staged reward: a ladder of block, parse, preflight, render, then the study's reward on top."""

from __future__ import annotations

import json

import pytest
from train_helpers import BROKEN, CIRCLE, SQUARE, cpu_args

from manimatic.agent.prompts import answer_text
from manimatic.train.config import ManimGRPOConfig
from manimatic.train.reward_staged import StagedReward, static_stages
from manimatic.train.reward_unified import UnifiedReward
from manimatic.train.scoring import RolloutScorer

GOOD = answer_text(CIRCLE)  # the reference itself: renders the same picture
OTHER = answer_text(SQUARE)  # renders, another picture
PREFLIGHT_FAIL = answer_text(BROKEN)  # parses; ShowCreation is caught by preflight
NO_PARSE = answer_text("from manim import *\n\nclass X(Scene):\n    def construct(self)\n")
PROSE = "I would draw a blue circle."
RAW = CIRCLE  # code, but not in a block: no block credit


@pytest.fixture(scope="module")
def scorer(render_pool):
    s = RolloutScorer(render_pool, visual="vs", render_timeout=60)
    yield s
    s.close()


def test_static_stages_never_run_the_code():
    assert static_stages(GOOD) == (True, True, True)
    assert static_stages(PREFLIGHT_FAIL) == (True, True, False)
    assert static_stages(NO_PARSE) == (True, False, False)
    assert static_stages(PROSE) == (False, False, False)
    assert static_stages(RAW) == (False, False, False)
    assert static_stages(GOOD[: len(GOOD) // 2]) == (False, False, False)  # cut off


def test_staged_reward_orders_replies_by_how_far_they_got(scorer):
    reward = StagedReward(scorer)
    replies = [PROSE, NO_PARSE, PREFLIGHT_FAIL, OTHER, GOOD]
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    values = reward(
        None,
        replies,
        reference_code=[CIRCLE] * len(replies),
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    assert values == sorted(values) and len(set(values)) == len(values)  # strictly increasing
    assert values[0] == 0.0
    study = UnifiedReward(scorer, {"code": 0.2, "visual": 0.8})(
        None, replies, reference_code=[CIRCLE] * len(replies)
    )
    # block / parse / preflight / render credit, then 0.7 x the study's reward on top.
    assert values[1] == pytest.approx(0.05 + 0.7 * study[1])
    assert values[2] == pytest.approx(0.05 + 0.05 + 0.7 * study[2])
    assert values[3] == pytest.approx(0.3 + 0.7 * study[3])
    assert values[4] == pytest.approx(1.0)  # the reference itself: every stage, study R = 1
    assert metrics["reward_components/render"] == pytest.approx(2 / 5)
    assert metrics["reward_components/block"] == pytest.approx(4 / 5)
    assert extra["r_preflight"] == [0.0, 0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="unknown stages"):
        StagedReward(scorer, {"typo": 1.0})


def test_grpo_config_selects_the_staged_reward(tmp_path, tasks_file, render_pool):
    from manimatic.train.grpo import run_grpo

    data = tasks_file([("circle", "A blue circle is drawn.", CIRCLE)])
    out = tmp_path / "grpo"
    cfg = ManimGRPOConfig(
        **cpu_args(
            dataset=str(data), output_dir=str(out), max_steps=1, per_device_train_batch_size=4,
            gradient_accumulation_steps=1, num_generations=4, num_iterations=1,
            max_completion_length=16, logging_steps=1, save_strategy="no", render_timeout=30,
            code_embedder="none", image_embedder="none", reward_shaping="staged",
        )
    )  # fmt: skip
    run_grpo(cfg, pool=render_pool, progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    step = next(r for r in rows if "reward" in r)
    assert "rewards/staged/mean" in step and "reward_components/preflight" in step
    assert json.loads((out / "run.json").read_text())["reward"]["shaping"] == "staged"
    with pytest.raises(ValueError, match="reward_shaping"):
        ManimGRPOConfig(**cpu_args(output_dir=str(out), reward_shaping="shaped"))

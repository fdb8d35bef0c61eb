"""GRPO on the tiny model: real reference renders, rollouts through the pool, components logged."""

from __future__ import annotations

import json

import pytest
from train_helpers import BROKEN, CIRCLE, SQUARE, cpu_args

from manimatic.train.config import ManimGRPOConfig

GRPO_ARGS = {
    "max_steps": 2,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "num_generations": 4,
    "num_iterations": 1,
    "max_completion_length": 24,
    "learning_rate": 1e-4,
    "logging_steps": 1,
    "save_strategy": "no",
    "render_timeout": 30,
    "code_embedder": "none",
    "image_embedder": "none",
}


@pytest.fixture
def two_tasks(tasks_file):
    return tasks_file(
        [
            ("circle", "A blue circle is drawn.", CIRCLE),
            ("square", "A red square on the left.", SQUARE),
        ]
    )


def test_grpo_steps_with_real_renders(tmp_path, two_tasks, render_pool):
    from manimatic.llm import get_backend
    from manimatic.train.grpo import run_grpo

    out = tmp_path / "grpo"
    cfg = ManimGRPOConfig(**cpu_args(dataset=str(two_tasks), output_dir=str(out), **GRPO_ARGS))
    submitted = render_pool.stats.submitted
    result = run_grpo(cfg, pool=render_pool, progress=False)

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "reward" in r]
    assert len(steps) == 2
    for row in steps:
        # The optimised signal and every component, logged separately.
        assert "rewards/unified/mean" in row
        for name in ("code", "visual", "render", "format", "has_code", "reference_failed"):
            assert f"reward_components/{name}" in row
        assert row["reward_components/reference_failed"] == 0.0  # both references rendered
        if row["reward_components/render"] == 0.0:
            # Nothing rendered (the tiny model writes gibberish): R_visual is 0, not an error.
            assert row["reward_components/visual"] == 0.0
    # Both references were rendered for real, once each, through the shared pool.
    assert render_pool.stats.submitted - submitted >= 2
    assert result.metrics["rollouts_scored_per_process"] == 2 * 4  # steps x generation batch

    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "completed" and record["kind"] == "grpo"
    assert record["reward"]["weights"] == {"code": 0.2, "visual": 0.8, "render": 0.0, "format": 0.0}
    assert record["reward"]["r_code"] == "codebleu"  # no CodeBERT here, and the run says so
    # Metric failures are recorded in the run record (none here: every metric ran).
    assert record["result"]["metrics"]["metric_errors"] == 0
    assert record["result"]["metrics"]["metric_failures"] == []
    assert any("CodeBLEU" in n for n in result.notes)

    backend = get_backend(result.model_spec, device="cpu")
    backend.close()


def test_grpo_resumes_an_sft_adapter(tmp_path, two_tasks, render_pool, smoke_tasks):
    from manimatic.train.config import ManimSFTConfig
    from manimatic.train.grpo import run_grpo
    from manimatic.train.sft import run_sft

    sft = run_sft(
        ManimSFTConfig(
            **cpu_args(
                dataset=str(smoke_tasks),
                output_dir=str(tmp_path / "sft"),
                max_steps=1,
                max_length=1024,
                per_device_train_batch_size=2,
                gradient_accumulation_steps=1,
                validation_fraction=0.0,
                eval_strategy="no",
                load_best_model_at_end=False,
                save_strategy="no",
                merge_adapter=True,
            )
        ),
        progress=False,
    )
    # The merged model is a plain model the agent loads without peft.
    assert sft.merged_dir and (tmp_path / "sft" / "merged" / "config.json").is_file()
    assert sft.model_spec == f"hf:{sft.merged_dir}"
    cfg = ManimGRPOConfig(
        **cpu_args(
            dataset=str(two_tasks),
            output_dir=str(tmp_path / "grpo"),
            init_adapter=sft.adapter_dir,
            **{**GRPO_ARGS, "max_steps": 1},
        )
    )
    result = run_grpo(cfg, pool=render_pool, progress=False)
    assert result.base_model == sft.base_model  # the adapter's own tiny base is reused
    adapter = tmp_path / "grpo" / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert not (adapter / "ref").exists()  # TRL's frozen reference copy is not kept


def test_trainer_logs_a_failed_render_as_zero_visual(tmp_path, two_tasks, render_pool):
    """The tiny model writes gibberish; replace its replies (after generation) by fixed ones so
    that one step of the real trainer sees a passing render and a failing one per group."""
    from manimatic.agent.prompts import answer_text
    from manimatic.train.grpo import build_grpo_trainer
    from manimatic.train.model import resolve_base_model
    from manimatic.train.reward_unified import UnifiedReward
    from manimatic.train.runlog import JsonlMetricsCallback
    from manimatic.train.scoring import RolloutScorer

    replies = {CIRCLE: answer_text(CIRCLE), SQUARE: answer_text(SQUARE)}
    broken = answer_text(BROKEN)

    class FixedReplies(UnifiedReward):
        def __call__(self, prompts, completions, reference_code, **kwargs):
            fixed = [
                [{"role": "assistant", "content": replies[ref] if i % 2 == 0 else broken}]
                for i, ref in enumerate(reference_code)
            ]
            return super().__call__(prompts, fixed, reference_code, **kwargs)

    cfg = ManimGRPOConfig(
        **cpu_args(
            dataset=str(two_tasks), output_dir=str(tmp_path), **{**GRPO_ARGS, "max_steps": 1}
        )
    )
    scorer = RolloutScorer(render_pool, render_timeout=30)
    reward = FixedReplies(scorer, cfg.reward_weight_map())
    log = JsonlMetricsCallback(tmp_path / "metrics.jsonl")
    trainer, _, _ = build_grpo_trainer(cfg, resolve_base_model(cfg), reward, [log])
    try:
        trainer.train()
    finally:
        scorer.close()
    row = next(r for r in log.history if "reward" in r)
    assert row["reward_components/render"] == pytest.approx(0.5)
    # Passing renders are the references themselves (R_visual 1); failing ones score 0.
    assert row["reward_components/visual"] == pytest.approx(0.5)
    assert [s.rendered for s in reward.last_scores] == [True, False] * 2
    assert [s.r_visual for s in reward.last_scores][1::2] == [0.0, 0.0]
    assert row["reward"] > 0 and row["reward_std"] > 0

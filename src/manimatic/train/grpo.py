"""GRPO: TRL's GRPOTrainer with the unified code + visual reward, rollouts rendered in parallel.

    from manimatic.train import ManimGRPOConfig, run_grpo
    result = run_grpo(ManimGRPOConfig(model="tiny", output_dir="runs/grpo", max_steps=2))

Each step, TRL samples G completions per prompt (transformers' generate, or vLLM with
`use_vllm`); `UnifiedReward` renders them all at once through this process's warm `RenderPool`,
compares each render with its task's reference render (rendered once, frames kept in memory) and
its code with the reference code, and returns R = w_code R_code + w_visual R_visual. The
components are logged beside R (`reward_components/*` in metrics.jsonl).

Under a multi-GPU launch every process scores its own share of the rollouts with its own pool,
sized to its share of the machine's cores.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from manimatic.train.config import ManimGRPOConfig
from manimatic.train.data import grpo_data
from manimatic.train.model import finish_training, load_policy, lora_note, resolve_base_model
from manimatic.train.reward_unified import UnifiedReward
from manimatic.train.runlog import (
    RunRecorder,
    TrainResult,
    enable_tensorboard,
    quiet_trainer_output,
    run_callbacks,
)
from manimatic.train.scoring import RolloutScorer

log = logging.getLogger(__name__)


def default_render_workers() -> int:
    """This process's share of the machine's cores (one pool per training process)."""
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, (os.cpu_count() or 1) // local)


FROM_CONFIG = "config"
"""Embedder argument meaning "load what the config's code_embedder / image_embedder names"."""


def resolve_embedders(
    config: ManimGRPOConfig, code: Any = FROM_CONFIG, image: Any = FROM_CONFIG
) -> tuple[Any, Any, list[str]]:
    """(code embedder, image embedder, notes) for a run.

    From the config, 'auto' uses the metrics' defaults (local weights only when offline) and None
    when they cannot load; 'none' skips them; anything else is a directory or hub id that must
    load. An object passed as `code` / `image` is used as is (tests: tiny embedders).
    """
    from manimatic.metrics import code as code_metrics
    from manimatic.metrics import embedders

    if code is FROM_CONFIG:
        if config.code_embedder == "auto":
            code = code_metrics.default_code_embedder()
        elif config.code_embedder == "none":
            code = None
        else:
            code = code_metrics.HFCodeEmbedder.from_pretrained(config.code_embedder)
    if config.visual_reward != "vs":
        image = None  # fidelity does not embed images
    elif image is FROM_CONFIG:
        if config.image_embedder == "auto":
            image = embedders.default_embedder()
        elif config.image_embedder == "none":
            image = None
        else:
            image = embedders.ClipEmbedder.from_pretrained(config.image_embedder)
    notes = []
    if code is None:
        notes.append(
            "R_code = CodeBLEU, not CBB: no CodeBERT embedder "
            f"(set {code_metrics.CODEBERT_PATH_ENV} to a local microsoft/codebert-base)"
        )
    if config.visual_reward == "vs" and image is None:
        notes.append(
            "R_visual = VS's SSIM term only: no CLIP embedder "
            f"(set {embedders.CLIP_PATH_ENV} to a local openai/clip-vit-large-patch14)"
        )
    return code, image, notes


def build_reward(
    config: ManimGRPOConfig, pool: Any, *, code_embedder: Any = None, image_embedder: Any = None
) -> Any:
    """The reward of a config (`UnifiedReward`, or `StagedReward` when `reward_shaping` is
    staged), scoring through `pool`."""
    assert config.render_timeout is not None  # __post_init__ sets the default
    scorer = RolloutScorer(
        pool,
        visual=config.visual_reward,
        render_timeout=config.render_timeout,
        quality=config.render_quality,
        code_embedder=code_embedder,
        image_embedder=image_embedder,
        protocol=config.protocol,
    )
    if config.reward_shaping == "staged":
        from manimatic.train.reward_staged import StagedReward

        return StagedReward(scorer)
    return UnifiedReward(scorer, config.reward_weight_map(), config.reward_combination)


def build_grpo_trainer(
    config: ManimGRPOConfig,
    base_model: str,
    reward: UnifiedReward,
    callbacks: list[Any] | None = None,
) -> tuple[Any, Any, Any]:
    """The GRPOTrainer for a config (used by `run_grpo`, and by tests to inspect).

    Returns:
        (trainer, policy, data).
    """
    from datasets import Dataset
    from trl import GRPOTrainer

    policy = load_policy(config, base_model, for_generation=True)
    data = grpo_data(
        config.dataset,
        config.dataset_split,
        types=config.dataset_types,
        limit=config.dataset_limit,
        tokenizer=policy.tokenizer,
        max_prompt_length=config.max_prompt_length,
        prompts=config.prompt_set,
    )
    trainer = GRPOTrainer(
        model=policy.model,
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_list(data.train),
        processing_class=policy.tokenizer,
        peft_config=policy.peft_config,
        callbacks=callbacks,
    )
    return trainer, policy, data


def run_grpo(
    config: ManimGRPOConfig,
    *,
    pool: Any = None,
    explicit: dict[str, Any] | None = None,
    console: Any = None,
    progress: bool = True,
    code_embedder: Any = FROM_CONFIG,
    image_embedder: Any = FROM_CONFIG,
) -> TrainResult:
    """Train a LoRA adapter with GRPO and save it to OUTPUT_DIR/adapter.

    Args:
        config: The run's configuration.
        pool: A render pool to use (default: one started for the run, `render_workers` wide).
        explicit: The values the user set (for config.yaml); default: non-default fields.
        console: A rich console for the progress bar (default: stderr).
        progress: Draw the progress bar.
        code_embedder: An embedder object to use instead of the config's `code_embedder`.
        image_embedder: An embedder object to use instead of the config's `image_embedder`.

    Returns:
        Where the adapter is, the final reward metrics, and notes.
    """
    from manimatic.executors import make_executor

    started = time.perf_counter()
    recorder = RunRecorder(config, "grpo", explicit)
    notes = [n for n in [enable_tensorboard(config)] if n]
    recorder.start()
    own_pool = pool is None
    reward = None
    with recorder.running():
        try:
            code_emb, image_emb, emb_notes = resolve_embedders(
                config, code_embedder, image_embedder
            )
            notes += emb_notes
            if own_pool:
                pool = make_executor(
                    config.render_executor,
                    workers=config.render_workers
                    or (default_render_workers() if config.render_executor == "local" else None),
                    sandbox=config.render_sandbox,
                )
            reward = build_reward(config, pool, code_embedder=code_emb, image_embedder=image_emb)
            base_model = resolve_base_model(config)
            metrics_cb, callbacks = run_callbacks(
                config, "grpo", progress=progress, console=console
            )
            trainer, policy, data = build_grpo_trainer(config, base_model, reward, callbacks)
            quiet_trainer_output(trainer)
            notes += [n for n in [lora_note(policy)] if n]
            if data.dropped:
                notes.append(
                    f"{len(data.dropped)} task(s) dropped: prompt longer than max_prompt_length"
                )
            recorder.update(
                base_model=base_model,
                data=data.summary(),
                lora={"targets": policy.lora_targets, "skipped": policy.skipped_targets},
                reward={
                    "shaping": config.reward_shaping,
                    "weights": config.reward_weight_map(),
                    "combination": config.reward_combination,
                    "r_code": reward.scorer.code_kind,
                    "r_visual": config.visual_reward,
                    "image_embedder": getattr(image_emb, "name", None),
                    "code_embedder": getattr(code_emb, "name", None),
                    "render_workers": getattr(pool, "size", None),
                    "render_timeout": config.render_timeout,
                    "protocol": config.protocol,
                    "prompts": config.prompt_spec,
                },
            )
            trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
            metrics = _reward_metrics(metrics_cb.history)
            metrics["steps"] = trainer.state.global_step
            metrics["train_tasks"] = len(data.train_ids)
            metrics["rollouts_scored_per_process"] = reward.scorer.stats["rollouts"]
            # A metric that raised scored its term 0: say how often, and what it said.
            metrics["metric_errors"] = reward.scorer.stats["metric_errors"]
            metrics["metric_failures"] = list(reward.scorer.stats["metric_failures"])
            result = finish_training("grpo", trainer, config, base_model, metrics, started, notes)
        finally:
            if reward is not None:
                reward.scorer.close()
            if own_pool and pool is not None:
                pool.close()
    recorder.finish("completed", result)
    return result


def _reward_metrics(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Run means of the reward and of each component, and the last logged reward."""
    keys = ["reward"] + sorted(
        {k for row in history for k in row if k.startswith("reward_components/")}
    )
    out: dict[str, Any] = {}
    for key in keys:
        values = [row[key] for row in history if isinstance(row.get(key), (int, float))]
        if values:
            out[f"{key.split('/', 1)[-1]}_mean"] = sum(values) / len(values)
            if key == "reward":
                out["reward_last"] = values[-1]
    return out

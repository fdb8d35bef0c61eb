"""Training: SFT, then GRPO with the unified code + visual reward (TRL + PEFT LoRA).

    from manimatic.train import ManimSFTConfig, run_sft, ManimGRPOConfig, run_grpo
    sft = run_sft(ManimSFTConfig(model="tiny", output_dir="runs/sft"))
    grpo = run_grpo(ManimGRPOConfig(model="tiny", init_adapter=sft.adapter_dir,
                                    output_dir="runs/grpo"))
    grpo.model_spec   # "hf:BASE@runs/grpo/adapter": `manimatic generate ... --model <spec>`

The CLI is `manimatic train sft|grpo --config configs/x.yaml [--any-field value ...]`. Rewards are
plain TRL callables, one module each: `reward_code`, `reward_visual`, `reward_render`,
`reward_format`, combined by `reward_unified`; `scoring.RolloutScorer` renders a batch of rollouts
through the warm render pool. Heavy imports (torch, trl) happen when a submodule is used.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeReward",
    "ManimGRPOConfig",
    "ManimSFTConfig",
    "RenderReward",
    "RolloutScore",
    "RolloutScorer",
    "TrainResult",
    "UnifiedReward",
    "VisualReward",
    "combine",
    "format_reward",
    "parse_config",
    "run_grpo",
    "run_sft",
]

_WHERE = {
    "ManimSFTConfig": "config",
    "ManimGRPOConfig": "config",
    "parse_config": "config",
    "run_sft": "sft",
    "run_grpo": "grpo",
    "TrainResult": "runlog",
    "RolloutScorer": "scoring",
    "RolloutScore": "scoring",
    "CodeReward": "reward_code",
    "VisualReward": "reward_visual",
    "RenderReward": "reward_render",
    "format_reward": "reward_format",
    "UnifiedReward": "reward_unified",
    "combine": "reward_unified",
}


def __getattr__(name: str) -> Any:
    # Lazy: `import manimatic.train` must not pull in torch/trl (the CLI imports it to register).
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"manimatic.train.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'manimatic.train' has no attribute {name!r}")

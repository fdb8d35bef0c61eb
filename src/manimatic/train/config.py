"""Training configs: TRL's `SFTConfig` / `GRPOConfig` plus only the fields manimatic adds.

Every TRL and `transformers.TrainingArguments` field keeps its meaning and flag; the study's
settings (docs/architecture.md section 4) become the defaults here, and our own fields (model and
data source, LoRA, rewards, rendering) are documented in `metadata["help"]` like TRL's, so
`manimatic train grpo --help-fields` lists them all. Rules that a value must follow are checked
in `__post_init__`, with an error that names the rule, the value and the fix.

    config = ManimGRPOConfig(model="tiny", output_dir="runs/smoke", max_steps=2)

The shared fields live in `train.config_fields` and the YAML + flags parser in
`train.config_parse`; their public names are re-exported here, where they were first defined.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Literal

from trl import GRPOConfig, SFTConfig

from manimatic.render.quality import QUALITY_HELP, check_quality
from manimatic.train.config_fields import (
    DEFAULT_LORA_TARGETS,
    FORBIDDEN_SPLITS,
    STUDY_MODEL,
    TINY_MODEL,
    _ManimaticFields,
)
from manimatic.train.config_parse import PATH_FIELDS, fields_help, parse_config

__all__ = [
    "DEFAULT_LORA_TARGETS",
    "FORBIDDEN_SPLITS",
    "PATH_FIELDS",
    "STUDY_MODEL",
    "TINY_MODEL",
    "ManimGRPOConfig",
    "ManimSFTConfig",
    "fields_help",
    "parse_config",
]


@dataclass
class ManimSFTConfig(SFTConfig, _ManimaticFields):
    """Supervised fine-tuning: TRL's `SFTConfig` with the study's defaults and our fields.

    The study: LoRA r=8 alpha=16 dropout 0 on q/k/v/o/gate/up/down, lr 2e-6, 2 epochs, batch 16,
    linear schedule, warmup 0.1, max length 2048. Unlike the study, checkpoints are selected on
    eval loss over a validation slice carved from the training split (`validation_fraction`).
    """

    validation_fraction: float = field(
        default=0.1,
        metadata={
            "help": "Share of the training tasks held out (seeded by `seed`) for eval loss and "
            "checkpoint selection; 0 disables evaluation (then set load_best_model_at_end false)."
        },
    )
    # The study's settings, as defaults of TRL / transformers fields.
    learning_rate: float = field(
        default=2e-6, metadata={"help": "AdamW learning rate (study: 2e-6)."}
    )
    num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs (study: 2)."})
    per_device_train_batch_size: int = field(
        default=2, metadata={"help": "Sequences per device per forward pass."}
    )
    gradient_accumulation_steps: int = field(
        default=8,
        metadata={"help": "Forward passes per optimizer step (2 x 8 = the study's batch 16)."},
    )
    warmup_steps: float = field(
        default=0.1,
        metadata={"help": "Warmup: steps, or a ratio of all steps if < 1 (study: 0.1)."},
    )
    max_length: int | None = field(
        default=2048, metadata={"help": "Longest tokenized prompt + completion (study: 2048)."}
    )
    completion_only_loss: bool | None = field(
        default=True,
        metadata={"help": "Loss on the completion (the code answer) only, never on the prompt."},
    )
    eval_strategy: str = field(
        default="epoch", metadata={"help": "When to compute eval loss: 'no', 'steps', 'epoch'."}
    )
    save_strategy: str = field(
        default="epoch",
        metadata={
            "help": "When to save checkpoints ('no', 'steps', 'epoch'); match eval_strategy."
        },
    )
    save_total_limit: int | None = field(
        default=2, metadata={"help": "Checkpoints kept on disk (the best one is always kept)."}
    )
    load_best_model_at_end: bool = field(
        default=True,
        metadata={"help": "End with the checkpoint of lowest eval loss on the validation slice."},
    )
    metric_for_best_model: str | None = field(
        default="eval_loss", metadata={"help": "Metric that selects the best checkpoint."}
    )

    def __post_init__(self) -> None:
        self._check_manimatic_fields("sft")
        if not 0.0 <= self.validation_fraction < 0.5:
            raise ValueError(
                f"validation_fraction must be in [0, 0.5), got {self.validation_fraction}: it is "
                "the share of training tasks held out for model selection (default 0.1)."
            )
        evaluates = getattr(self.eval_strategy, "value", self.eval_strategy) != "no"
        if self.validation_fraction == 0 and (evaluates or self.load_best_model_at_end):
            raise ValueError(
                "validation_fraction is 0, so there is no validation slice to evaluate on or "
                "to select the best checkpoint with: set validation_fraction > 0 (e.g. 0.1), or "
                "eval_strategy: no and load_best_model_at_end: false."
            )
        if self.validation_fraction > 0 and not evaluates:
            raise ValueError(
                f"validation_fraction is {self.validation_fraction} but eval_strategy is 'no', so "
                "the held-out tasks would never be used: set eval_strategy: epoch (or steps), or "
                "validation_fraction: 0."
            )
        super().__post_init__()


@dataclass
class ManimGRPOConfig(GRPOConfig, _ManimaticFields):
    """GRPO with the unified code + visual reward: TRL's `GRPOConfig`, study defaults, our fields.

    The study: G=8 generations, 2 prompts a step, num_iterations 4, beta 0.005, epsilon 0.2,
    lr 5e-7, temperature 0.9, top_p 0.9, min_p 0.1, completions up to 1639 tokens, loss dr_grpo;
    R = 0.2 R_code + 0.8 R_visual with R_code = CBB and R_visual = VS, 0 for a failed render.
    """

    reward_code_weight: float = field(
        default=0.2,
        metadata={"help": "w_code in R = w_code R_code + w_visual R_visual (study 0.2)."},
    )
    reward_visual_weight: float = field(
        default=0.8, metadata={"help": "w_visual (study 0.8). R_visual is 0 for a failed render."}
    )
    reward_render_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the render-success term (1 if it rendered, else 0). Study: 0."
        },
    )
    reward_format_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the format term (1 for a closed <CODE>```python``` block, 0.5 for "
            "a bare fence, 0 otherwise). Study: 0."
        },
    )
    reward_combination: Literal["arithmetic", "geometric"] = field(
        default="arithmetic",
        metadata={
            "help": "'arithmetic': R = sum w_i R_i (the study). 'geometric': R = prod R_i^(w_i / "
            "sum w), so every weighted term must be good (a failed render gives R = 0)."
        },
    )
    reward_shaping: Literal["study", "staged"] = field(
        default="study",
        metadata={
            "help": "'study': R = the weighted terms above (the study's reward). 'staged': credit "
            "for a closed code block, a parse, a passed preflight and a render, then 0.7 x the "
            "study's 0.2 R_code + 0.8 R_visual on top (`train.reward_staged`; for models that "
            "do not render yet, where the study's R_visual is 0 for every rollout)."
        },
    )
    visual_reward: Literal["vs", "fidelity"] = field(
        default="vs",
        metadata={
            "help": "R_visual: 'vs' (the study's visual similarity) or 'fidelity' (manimatic's "
            "metric with scene traces; separates tasks where VS does not, e.g. for stills)."
        },
    )
    code_embedder: str = field(
        default="auto",
        metadata={
            "help": "CodeBERT for R_code = CBB: 'auto' ($MANIMATIC_CODEBERT_PATH or the local hub "
            "cache), a directory, or 'none'. Without one R_code = CodeBLEU, recorded in run.json."
        },
    )
    image_embedder: str = field(
        default="auto",
        metadata={
            "help": "CLIP for VS's semantic term: 'auto' ($MANIMATIC_CLIP_PATH or the local hub "
            "cache), a directory, or 'none' (VS = SSIM term, recorded in run.json)."
        },
    )
    render_workers: int | None = field(
        default=None,
        metadata={
            "help": "Render workers of this process's pool (default: CPU cores / local processes)."
        },
    )
    render_timeout: float | None = field(
        default=None,
        metadata={
            "help": "Seconds per render; a rollout that runs longer scores R_visual 0. Default 60 "
            "(a step waits for its slowest rollout), or the study's 300 with protocol study."
        },
    )
    render_quality: str = field(
        default="l",
        metadata={"help": "Manim quality of reward renders (study: l, -ql): " + QUALITY_HELP},
    )
    render_sandbox: Literal["auto", "bwrap", "none"] = field(
        default="auto", metadata={"help": "Render sandbox: see `manimatic render --help`."}
    )
    render_executor: str = field(
        default="local",
        metadata={
            "aliases": ["--executor"],
            "help": "Where reward renders run: local (this machine's warm pool), ray (a local "
            "Ray instance) or ray:ADDRESS (a Ray cluster; render_workers = actors).",
        },
    )
    max_prompt_length: int | None = field(
        default=None,
        metadata={
            "help": "Drop tasks whose chat prompt is longer (tokens); TRL no longer truncates "
            "prompts. The study's 409-token budget is below our one-shot system prompt alone, so "
            "the default keeps every task."
        },
    )
    # The study's settings, as defaults of TRL / transformers fields.
    learning_rate: float = field(
        default=5e-7, metadata={"help": "AdamW learning rate (study: 5e-7)."}
    )
    num_generations: int | None = field(
        default=8, metadata={"help": "Completions per prompt, G (study: 8)."}
    )
    per_device_train_batch_size: int = field(
        default=8, metadata={"help": "Completions per device per forward pass."}
    )
    gradient_accumulation_steps: int = field(
        default=2,
        metadata={"help": "Forward passes per optimizer step (8 x 2 = 2 prompts x G=8 a step)."},
    )
    num_iterations: int = field(
        default=4, metadata={"help": "Optimizer passes per generation batch (study: 4)."}
    )
    beta: float = field(default=0.005, metadata={"help": "KL coefficient (study: 0.005)."})
    epsilon: float = field(default=0.2, metadata={"help": "Clipping epsilon (study: 0.2)."})
    temperature: float = field(default=0.9, metadata={"help": "Sampling temperature (study: 0.9)."})
    top_p: float = field(default=0.9, metadata={"help": "Nucleus sampling top_p (study: 0.9)."})
    min_p: float | None = field(default=0.1, metadata={"help": "min_p sampling (study: 0.1)."})
    max_completion_length: int | None = field(
        default=1639, metadata={"help": "Tokens per completion (study: 1639)."}
    )
    loss_type: str = field(
        default="dr_grpo",
        metadata={
            "help": "TRL loss: 'dr_grpo' (the study), 'grpo', 'dapo', 'bnpo', ...; with "
            "importance_sampling_level sequence, a GSPO-style objective."
        },
    )

    def __post_init__(self) -> None:
        self._check_manimatic_fields("grpo")
        weights = self.reward_weight_map()
        negative = {k: w for k, w in weights.items() if w < 0}
        if negative:
            raise ValueError(
                f"reward weights must be >= 0, got {negative}: a negative weight rewards failure."
            )
        if not any(weights.values()):
            raise ValueError(
                "all reward weights are 0, so every completion would get the same reward: set "
                "reward_code_weight and/or reward_visual_weight (study: 0.2 and 0.8)."
            )
        if self.reward_weights is not None:
            raise ValueError(
                "reward_weights (TRL's per-function weights) does not apply: manimatic optimises "
                "one unified reward. Set reward_code_weight, reward_visual_weight, "
                "reward_render_weight and reward_format_weight instead."
            )
        check_quality(self.render_quality)
        if self.reward_shaping not in ("study", "staged"):
            raise ValueError(
                f"reward_shaping must be 'study' (the study's reward) or 'staged' (credit for a "
                f"block, a parse, a preflight and a render first), got {self.reward_shaping!r}."
            )
        if self.render_timeout is None:  # the protocol's limit for generated code (60 / 300 s)
            from manimatic.agent.protocol import protocol_from_name

            self.render_timeout = protocol_from_name(self.protocol).generate_timeout
        if not self.render_timeout > 0:
            raise ValueError(f"render_timeout must be > 0 seconds, got {self.render_timeout}.")
        if self.render_executor != "local" and not self.render_executor.startswith("ray"):
            raise ValueError(
                f"render_executor must be local, ray or ray:ADDRESS, got {self.render_executor!r}."
            )
        if self.render_workers is not None and self.render_workers < 1:
            raise ValueError(
                f"render_workers must be >= 1, got {self.render_workers} (unset it for a default)."
            )
        if self.max_prompt_length is not None and self.max_prompt_length < 1:
            raise ValueError(f"max_prompt_length must be >= 1 token, got {self.max_prompt_length}.")
        if self.use_vllm and importlib.util.find_spec("vllm") is None:
            raise ValueError(
                "use_vllm is set but vllm is not installed: pip install vllm (CUDA GPUs), or drop "
                "--use-vllm to generate with transformers' generate."
            )
        super().__post_init__()

    def reward_weight_map(self) -> dict[str, float]:
        """The unified reward's weights by component name."""
        return {
            "code": self.reward_code_weight,
            "visual": self.reward_visual_weight,
            "render": self.reward_render_weight,
            "format": self.reward_format_weight,
        }

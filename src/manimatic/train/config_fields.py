"""The fields manimatic adds to both trainers' configs (model and data source, LoRA, run extras).

`ManimSFTConfig` and `ManimGRPOConfig` (`manimatic.train.config`) mix `_ManimaticFields` into
TRL's `SFTConfig` / `GRPOConfig`; its `_check_manimatic_fields` holds the rules both share.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, field
from typing import Any

TINY_MODEL = "tiny"
"""`model: tiny`: build `manimatic.llm.tiny`'s random model into OUTPUT_DIR (no download)."""

STUDY_MODEL = "Qwen/Qwen3-Coder-30B-A3B-Instruct"
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FORBIDDEN_SPLITS = ("test",)


def _world_size() -> int:
    """Processes in this launch, from the launcher's environment (accelerate, torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


@dataclass
class _ManimaticFields:
    """Fields shared by both trainers: where the model and data come from, LoRA, run extras."""

    model: str | None = field(
        default=None,
        metadata={
            "help": "Base model: a hub id (e.g. Qwen/Qwen3-Coder-30B-A3B-Instruct), a local "
            "directory, or 'tiny' to build manimatic's tiny random CPU model into "
            "OUTPUT_DIR/tiny-model (smoke runs, no download). `hf:BASE@ADAPTER` is accepted "
            "too and sets init_adapter."
        },
    )
    init_adapter: str | None = field(
        default=None,
        metadata={
            "help": "A LoRA adapter directory to start from and keep training (e.g. the SFT "
            "output's adapter/ for GRPO). None starts a fresh LoRA on the base model."
        },
    )
    dataset: str = field(
        default="manimbench",
        metadata={
            "help": "Task source for `manimatic.bench.datasets.load_dataset`: 'manimbench', a "
            "parquet directory or file, or a manimatic JSONL task file."
        },
    )
    dataset_split: str = field(
        default="train",
        metadata={
            "help": "Split to train on. 'test' is refused: the benchmark evaluates on it, and "
            "training (or model selection) on it would leak it."
        },
    )
    dataset_types: list[str] | None = field(
        default=None,
        metadata={
            "help": "Keep only tasks of these types (ManimBench: Basic Intermediate Advanced)."
        },
    )
    dataset_limit: int | None = field(
        default=None,
        metadata={"help": "Use only the first N tasks of the split (smoke runs)."},
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (study: 8)."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (study: 16)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout (study: 0)."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(DEFAULT_LORA_TARGETS),
        metadata={
            "help": "Module names to adapt (study: q k v o gate up down projections). Names the "
            "model lacks are skipped with a note; none matching is an error."
        },
    )
    load_in_4bit: bool = field(
        default=False,
        metadata={
            "help": "QLoRA: load the base model in 4-bit NF4 with bitsandbytes. Needs a CUDA GPU "
            "and `pip install bitsandbytes`."
        },
    )
    merge_adapter: bool = field(
        default=False,
        metadata={
            "help": "After training, also save base + adapter merged into OUTPUT_DIR/merged "
            "(a plain model for servers such as vLLM; as large as the base model)."
        },
    )
    effective_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Sequences (SFT) or completions (GRPO) per optimizer step over all processes. "
            "When set, gradient_accumulation_steps is derived as effective_batch_size / "
            "(per_device_train_batch_size x WORLD_SIZE), so one config trains the same on 1 or N "
            "GPUs."
        },
    )
    protocol: str = field(
        default="manimatic",
        metadata={
            "help": "Evaluation protocol of the prompts and rewards: manimatic (ours) or study "
            "(the study's prompt format, code extraction, code metrics and 300 s render "
            "timeout; see `manimatic.agent.protocol`)."
        },
    )
    prompts: str | None = field(
        default=None,
        metadata={
            "help": "Prompt templates to train with: a YAML file (system, user, feedback_user, "
            "doc_user, doc_feedback_user), or study:PATH (the authors' templates from a clone "
            "of their repository). Default: the protocol's own. Evaluate with the same ones."
        },
    )
    tensorboard: bool = field(
        default=True,
        metadata={
            "help": "Also write TensorBoard events to OUTPUT_DIR/runs when the tensorboard package "
            "is installed (metrics.jsonl is always written; wandb etc. via report_to)."
        },
    )

    def _check_manimatic_fields(self, kind: str) -> None:
        """Shared rules; raises ValueError naming the rule, the value and the fix."""
        if not self.model:
            raise ValueError(
                "model is not set: pass --model (or `model:` in the config) a hub id such as "
                f"the study's {STUDY_MODEL}, a local model directory, or tiny for the built-in "
                "CPU smoke model."
            )
        if self.model.startswith("hf:"):
            self.model = self.model[3:]
        if "@" in self.model and self.model != TINY_MODEL and not os.path.exists(self.model):
            base, _, adapter = self.model.rpartition("@")
            if self.init_adapter and self.init_adapter != adapter:
                raise ValueError(
                    f"model {self.model!r} names adapter {adapter!r} but init_adapter is "
                    f"{self.init_adapter!r}: give the adapter in one place only."
                )
            self.model, self.init_adapter = base, adapter
        from manimatic.agent.prompts import load_prompts
        from manimatic.agent.protocol import protocol_from_name

        self.protocol = protocol_from_name(self.protocol).name  # ValueError names the choices
        load_prompts(self.prompt_spec)  # a bad prompt file fails here, not after model loading
        if self.dataset_split in FORBIDDEN_SPLITS:
            raise ValueError(
                f"dataset_split {self.dataset_split!r} is the evaluation split: training or "
                "selecting checkpoints on it leaks the benchmark (the study did; we do not). Use "
                "dataset_split: train (model selection uses a slice carved from train)."
            )
        if self.dataset_limit is not None and self.dataset_limit < 1:
            raise ValueError(f"dataset_limit must be >= 1 task, got {self.dataset_limit}.")
        if self.lora_r < 1:
            raise ValueError(f"lora_r must be >= 1 (study: 8), got {self.lora_r}.")
        if self.lora_alpha <= 0:
            raise ValueError(f"lora_alpha must be > 0 (study: 16), got {self.lora_alpha}.")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"lora_dropout must be in [0, 1) (study: 0), got {self.lora_dropout}.")
        if not self.lora_target_modules:
            raise ValueError(
                "lora_target_modules is empty: name the modules to adapt, e.g. "
                f"{' '.join(DEFAULT_LORA_TARGETS)}."
            )
        if self.load_in_4bit and importlib.util.find_spec("bitsandbytes") is None:
            raise ValueError(
                "load_in_4bit needs bitsandbytes, which is not installed: pip install "
                "bitsandbytes (CUDA GPUs only), or drop --load-in-4bit to train in bf16."
            )
        if self.effective_batch_size is not None:
            per_step = self.per_device_train_batch_size * _world_size()  # type: ignore[attr-defined]
            if self.effective_batch_size < per_step or self.effective_batch_size % per_step:
                raise ValueError(
                    f"effective_batch_size {self.effective_batch_size} must be a multiple of "
                    f"per_device_train_batch_size x WORLD_SIZE = {per_step}: change one of them "
                    "(or unset effective_batch_size and set gradient_accumulation_steps)."
                )
            self.gradient_accumulation_steps = self.effective_batch_size // per_step
        if self.output_dir is None:  # type: ignore[has-type]
            self.output_dir = os.path.join("runs", f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")

    @property
    def prompt_spec(self) -> str:
        """The `--prompts` value in effect: `prompts`, else the protocol's own template file."""
        from manimatic.agent.protocol import protocol_from_name

        return self.prompts if self.prompts else protocol_from_name(self.protocol).prompts

    @property
    def prompt_set(self) -> Any:
        """The `PromptSet` the examples are built with."""
        from manimatic.agent.prompts import load_prompts

        return load_prompts(self.prompt_spec)

    @property
    def uses_tiny_model(self) -> bool:
        """Whether the run builds the tiny CPU model instead of loading one."""
        return self.model == TINY_MODEL

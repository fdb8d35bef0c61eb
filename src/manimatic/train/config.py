"""Training configs: TRL's `SFTConfig` / `GRPOConfig` plus only the fields manimatic adds.

Every TRL and `transformers.TrainingArguments` field keeps its meaning and flag; the study's
settings (docs/architecture.md section 4) become the defaults here, and our own fields (model and
data source, LoRA, rewards, rendering) are documented in `metadata["help"]` like TRL's, so
`manimatic train grpo --help-fields` lists them all. Rules that a value must follow are checked
in `__post_init__`, with an error that names the rule, the value and the fix.

    config = ManimGRPOConfig(model="tiny", output_dir="runs/smoke", max_steps=2)
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trl import GRPOConfig, SFTConfig

from manimatic.render.quality import QUALITY_HELP, check_quality

TINY_MODEL = "tiny"
"""`model: tiny`: build `manimatic.llm.tiny`'s random model into OUTPUT_DIR (no download)."""

STUDY_MODEL = "Qwen/Qwen3-Coder-30B-A3B-Instruct"
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FORBIDDEN_SPLITS = ("test",)
STUDY_RENDER_TIMEOUT = 300.0  # `manimatic.agent.protocol.STUDY_TIMEOUT_S`


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
        if self.render_timeout is None:
            self.render_timeout = STUDY_RENDER_TIMEOUT if self.protocol == "study" else 60.0
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


# --------------------------------------------------------------------------------- parsing

PATH_FIELDS = ("dataset", "init_adapter")
"""Fields whose relative paths in a config file are read from beside the file, if there."""


def parse_config(
    cls: type,
    config_file: str | os.PathLike | None = None,
    args: list[str] | None = None,
    *,
    dry_run: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Build a config from a YAML file plus `--field value` overrides (TRL's TrlParser rules).

    The file's values replace the defaults and flags replace the file's values; every field of
    the class (TRL's, transformers' and ours) is a flag, with dashes or underscores
    (`--learning-rate 1e-5`). An `env:` mapping in the file sets environment variables, as in
    TRL. Relative `dataset` / `init_adapter` paths in the file are taken relative to the file
    when they exist there, so a config travels with its data.

    Args:
        cls: `ManimSFTConfig` or `ManimGRPOConfig`.
        config_file: The YAML file, or None.
        args: The flags.
        dry_run: Resolve the config as the target machine would: a GPU recipe (bf16) is not
            refused on a machine without a GPU, since nothing is trained.

    Returns:
        (config, explicit): the config, and the values set by the file or the flags (what the
        run's config.yaml records).

    Raises:
        ValueError: Unknown keys or flags, a bad value, or a rule of `__post_init__`.
    """
    import yaml
    from trl import TrlParser

    args = list(args or [])
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ValueError(f"config file {path} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must hold a mapping of field: value.")
        for key, value in (loaded.pop("env", None) or {}).items():
            os.environ[str(key)] = str(value)
        for key in PATH_FIELDS:
            value = loaded.get(key)
            if isinstance(value, str) and not Path(value).is_absolute():
                beside = path.parent / value
                if beside.exists():
                    loaded[key] = str(beside.resolve())
        values = loaded
    parser = TrlParser([cls])
    # `--learning-rat 1e-6` must not silently become --learning-rate: no prefixes.
    parser.allow_abbrev = False
    unknown = parser.set_defaults_with_config(**values)
    if unknown:
        keys = sorted(k[2:] for k in unknown[::2])
        raise ValueError(
            f"unknown field(s) in {config_file}: {', '.join(keys)}; see `--help-fields` for the "
            "fields of this command."
        )
    _, rest = parser.parse_known_args(args)  # before building: unknown flags are the first error
    if rest:
        raise ValueError(
            f"unknown option(s): {' '.join(rest)}; see `--help-fields` for every field."
        )
    with _as_if_on_the_gpu(dry_run):
        (config,) = parser.parse_args_into_dataclasses(args=args)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    given = set(values) | _flag_names(args, names, _aliases(cls))
    from manimatic.train.runlog import config_dict

    resolved = config_dict(config)
    explicit = {k: resolved[k] for k in sorted(given) if k in resolved}
    explicit["output_dir"] = config.output_dir
    explicit["model"] = config.model
    if config.init_adapter:
        explicit["init_adapter"] = config.init_adapter
    return config, explicit


@contextlib.contextmanager
def _as_if_on_the_gpu(active: bool) -> Iterator[None]:
    """While building a config for a dry run, answer "yes" to transformers' bf16 device check.

    transformers refuses `bf16: true` in `TrainingArguments.__post_init__` on a machine with
    no bf16 GPU; a dry run only resolves and prints the config, so it may be done anywhere.
    """
    if not active:
        yield
        return
    import transformers.training_args as targs

    saved = getattr(targs, "is_torch_bf16_gpu_available", None)
    if saved is None:  # another transformers layout: nothing to relax
        yield
        return
    targs.is_torch_bf16_gpu_available = lambda *a, **k: True
    try:
        yield
    finally:
        targs.is_torch_bf16_gpu_available = saved


def _aliases(cls: type) -> dict[str, str]:
    """Alias flag (as a field-like name) -> field name, from `metadata["aliases"]`."""
    out = {}
    for f in dataclasses.fields(cls):
        for alias in f.metadata.get("aliases", []):
            out[alias.lstrip("-").replace("-", "_")] = f.name
    return out


def _flag_names(
    args: list[str], names: set[str], aliases: dict[str, str] | None = None
) -> set[str]:
    """Field names that appear as flags (`--x-y`, `--x_y`, `--x=v`, `--no-x`, aliases)."""
    out = set()
    for token in args:
        if not token.startswith("--"):
            continue
        name = token[2:].split("=", 1)[0].replace("-", "_")
        name = (aliases or {}).get(name, name)
        if name not in names and name.startswith("no_") and name[3:] in names:
            name = name[3:]
        if name in names:
            out.add(name)
    return out


def fields_help(cls: type) -> str:
    """Every flag of a config class with its help text (TRL's, transformers' and ours)."""
    from trl import TrlParser

    return TrlParser([cls]).format_help()

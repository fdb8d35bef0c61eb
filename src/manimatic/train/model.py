"""Loading the policy for training: base model (optionally 4-bit), tokenizer, LoRA.

The model is loaded here rather than by TRL from a name so that LoRA can target only modules the
model really has, an SFT adapter can be resumed for GRPO, and `model: tiny` can build the tiny CPU
model into the run directory. Nothing here assumes one device: without a device map the Trainer
(accelerate) places the model; a 4-bit model is pinned to this process's GPU, as bitsandbytes
requires under DDP.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.train.config import TINY_MODEL
from manimatic.train.errors import TrainError
from manimatic.train.runlog import TrainResult

log = logging.getLogger(__name__)

TINY_DIR = "tiny-model"
BNB_HINT = "pip install bitsandbytes (CUDA GPUs only), or drop --load-in-4bit"


@dataclass
class PolicyModel:
    """What a trainer needs about the policy.

    Attributes:
        model: The loaded model; a trainable `PeftModel` when resuming an adapter.
        tokenizer: Its tokenizer.
        peft_config: The fresh LoRA config for the trainer to apply, or None when `model` is
            already a `PeftModel`.
        base_model: Where the base model came from (hub id or directory): `hf:BASE@ADAPTER`.
        lora_targets: The module names LoRA adapts.
        skipped_targets: Requested target names the model does not have.
    """

    model: Any
    tokenizer: Any
    peft_config: Any
    base_model: str
    lora_targets: list[str]
    skipped_targets: list[str]


def resolve_base_model(config: Any) -> str:
    """The base model's location; builds the tiny model into OUTPUT_DIR/tiny-model if asked.

    With `model: tiny` and an `init_adapter` trained on a tiny model, the adapter's own base
    is used when it still exists (the tiny model is built with a fixed seed, so a rebuilt one
    has the same weights anyway). With several processes the local main process builds the
    model while the others wait, so they all load the same files.
    """
    if config.model != TINY_MODEL:
        from manimatic.llm.gguf_files import hf_location

        # A GGUF (a file, a folder with one, or gguf:NAME) trains from its converted folder.
        return hf_location(config.model)
    adapter_base = _adapter_base(config.init_adapter)
    if adapter_base and Path(adapter_base).name == TINY_DIR and Path(adapter_base).is_dir():
        return adapter_base
    from manimatic.llm.tiny import build_tiny_model

    path = Path(config.output_dir).resolve() / TINY_DIR
    with config.main_process_first(local=True, desc="build the tiny model"):
        if not (path / "config.json").is_file():
            build_tiny_model(path)  # fixed default seed: every tiny model is the same model
    return str(path)


def _adapter_base(adapter: str | None) -> str | None:
    """The base model an adapter directory was trained on (adapter_config.json), if known."""
    if not adapter:
        return None
    try:
        data = json.loads((Path(adapter) / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return None
    base = data.get("base_model_name_or_path")
    return str(base) if base else None


def _default_dtype(torch: Any, config: Any) -> Any:
    if torch.cuda.is_available() and not getattr(config, "use_cpu", False):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_policy(config: Any, base_model: str, *, for_generation: bool = False) -> PolicyModel:
    """Load the base model, its tokenizer and the LoRA setup from a training config.

    Args:
        config: A `ManimSFTConfig` or `ManimGRPOConfig`.
        base_model: From `resolve_base_model`.
        for_generation: Pad prompts on the left (GRPO samples from batches of prompts).

    Returns:
        The policy.

    Raises:
        TrainError: 4-bit without CUDA, no LoRA target in the model, or no chat template.
        ImportError: peft (or bitsandbytes for 4-bit) is missing, with the install command.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        import peft
    except ImportError as exc:  # pragma: no cover - peft comes with the train extra
        raise ImportError(f"training needs peft ({exc}): pip install 'manimatic[train]'") from exc

    kwargs: dict[str, Any] = dict(config.model_init_kwargs or {})
    kwargs.setdefault("trust_remote_code", config.trust_remote_code)
    kwargs.setdefault("dtype", _default_dtype(torch, config))
    if config.load_in_4bit:
        kwargs.update(_four_bit_kwargs(torch, config))
    tokenizer = AutoTokenizer.from_pretrained(
        base_model, trust_remote_code=config.trust_remote_code
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if for_generation:
        tokenizer.padding_side = "left"
    if not getattr(tokenizer, "chat_template", None) and not getattr(
        config, "chat_template_path", None
    ):
        raise TrainError(
            f"the tokenizer of {base_model} has no chat template, and manimatic trains on chat "
            "prompts (the agent's system + user turns): use an instruct/chat model, or set "
            "chat_template_path to a Jinja template."
        )
    model = AutoModelForCausalLM.from_pretrained(base_model, **kwargs)
    if config.load_in_4bit:
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=bool(config.gradient_checkpointing)
        )
    if config.init_adapter:
        trained_on = _adapter_base(config.init_adapter)
        if trained_on and trained_on != base_model:
            log.warning(
                "init_adapter %s was trained on %s, not on %s: check `model`",
                config.init_adapter,
                trained_on,
                base_model,
            )
        model = peft.PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True)
        targets = sorted(_adapter_targets(model))
        return PolicyModel(model, tokenizer, None, base_model, targets, [])
    targets, skipped = lora_targets(model, config.lora_target_modules)
    if skipped:
        log.warning("LoRA targets not in %s, skipped: %s", base_model, ", ".join(skipped))
    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return PolicyModel(model, tokenizer, lora, base_model, targets, skipped)


def lora_targets(model: Any, requested: list[str]) -> tuple[list[str], list[str]]:
    """Split requested LoRA target names into those the model has and those it lacks.

    A name matches a linear layer whose qualified name ends with it (`q_proj` matches
    `model.layers.0.self_attn.q_proj`).

    Raises:
        TrainError: None of the names is a linear layer of the model.
    """
    import torch

    linear = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) or type(module).__name__.startswith("Linear")
    }
    present = [t for t in requested if t in linear]
    missing = [t for t in requested if t not in linear]
    if not present:
        raise TrainError(
            f"none of lora_target_modules ({', '.join(requested)}) is a linear layer of this "
            f"model; its linear layers are named: {', '.join(sorted(linear)) or 'none'}."
        )
    return present, missing


def _adapter_targets(model: Any) -> set[str]:
    config = model.peft_config.get("default")
    targets = getattr(config, "target_modules", None) or []
    return {str(t) for t in targets}


def _four_bit_kwargs(torch: Any, config: Any) -> dict[str, Any]:
    if not torch.cuda.is_available():
        raise TrainError(
            "load_in_4bit needs a CUDA GPU (bitsandbytes 4-bit kernels); on this machine drop "
            "--load-in-4bit (LoRA trains in full precision)."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"load_in_4bit needs bitsandbytes ({exc}): {BNB_HINT}") from exc
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        ),
        # A quantized model cannot be moved after loading: put it on this process's GPU.
        "device_map": {"": int(os.environ.get("LOCAL_RANK", "0"))},
        "dtype": compute,
    }


def merge_adapter(
    base_model: str, adapter_dir: str | Path, out_dir: str | Path, config: Any
) -> Path:
    """Save base + adapter merged into one plain model (and its tokenizer) in `out_dir`.

    The base is reloaded unquantized (merging into 4-bit weights would lose precision).
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"trust_remote_code": config.trust_remote_code, "dtype": _default_dtype(torch, config)}
    base = AutoModelForCausalLM.from_pretrained(base_model, **kwargs)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(
        base_model, trust_remote_code=config.trust_remote_code
    ).save_pretrained(out)
    return out


def lora_note(policy: PolicyModel) -> str | None:
    """What the user should know about LoRA targets the model does not have."""
    if not policy.skipped_targets:
        return None
    return f"LoRA targets not in the model, skipped: {', '.join(policy.skipped_targets)}"


def finish_training(
    kind: str,
    trainer: Any,
    config: Any,
    base_model: str,
    metrics: dict[str, Any],
    started: float,
    notes: list[str],
) -> TrainResult:
    """Save the adapter (and the merged model if asked) and describe the run's outcome."""
    import shutil
    import time

    adapter_dir = Path(config.output_dir).resolve() / "adapter"
    trainer.save_model(str(adapter_dir))
    merged = None
    if trainer.is_world_process_zero():
        # Training from an existing adapter makes TRL keep a frozen copy ("ref") as the KL
        # reference; it is the starting adapter, not a result.
        shutil.rmtree(adapter_dir / "ref", ignore_errors=True)
        if config.merge_adapter:
            out = Path(config.output_dir) / "merged"
            merged = str(merge_adapter(base_model, adapter_dir, out, config))
    return TrainResult(
        kind=kind,
        output_dir=str(Path(config.output_dir).resolve()),
        adapter_dir=str(adapter_dir),
        base_model=base_model,
        merged_dir=merged,
        metrics=metrics,
        best_checkpoint=trainer.state.best_model_checkpoint,
        elapsed_s=time.perf_counter() - started,
        notes=notes,
    )

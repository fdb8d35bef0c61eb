"""Supervised fine-tuning: TRL's SFTTrainer + a LoRA adapter on (description, code) pairs.

    from manimatic.train import ManimSFTConfig, run_sft
    result = run_sft(ManimSFTConfig(model="tiny", output_dir="runs/sft", max_steps=5))
    result.model_spec   # "hf:runs/sft/tiny-model@runs/sft/adapter", for `manimatic generate`

Examples are the agent's own prompt (system + `<TEXT_SCRIPT>` user turn) with the reference code
as the answer (`<CODE>```python ...```</CODE>`); TRL masks the prompt so the loss falls on the
answer only. Checkpoints are evaluated on a validation slice of the *training* split and the one
with the lowest eval loss is kept (`load_best_model_at_end`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from manimatic.train.config import ManimSFTConfig
from manimatic.train.data import sft_data
from manimatic.train.model import finish_training, load_policy, lora_note, resolve_base_model
from manimatic.train.runlog import (
    RunRecorder,
    TrainResult,
    enable_tensorboard,
    quiet_trainer_output,
    run_callbacks,
)

log = logging.getLogger(__name__)


def build_sft_trainer(
    config: ManimSFTConfig, base_model: str, callbacks: list[Any] | None = None
) -> tuple[Any, Any, Any]:
    """The SFTTrainer for a config, ready to train (used by `run_sft`, and by tests to inspect).

    Returns:
        (trainer, policy, data): the trainer, the loaded `PolicyModel` and the `TrainData`.
    """
    from datasets import Dataset
    from trl import SFTTrainer

    data = sft_data(
        config.dataset,
        config.dataset_split,
        validation_fraction=config.validation_fraction,
        seed=config.seed,
        types=config.dataset_types,
        limit=config.dataset_limit,
        prompts=config.prompt_set,
    )
    policy = load_policy(config, base_model)
    trainer = SFTTrainer(
        model=policy.model,
        args=config,
        train_dataset=Dataset.from_list(data.train),
        eval_dataset=Dataset.from_list(data.validation) if data.validation else None,
        processing_class=policy.tokenizer,
        peft_config=policy.peft_config,
        callbacks=callbacks,
    )
    return trainer, policy, data


def run_sft(
    config: ManimSFTConfig,
    *,
    explicit: dict[str, Any] | None = None,
    console: Any = None,
    progress: bool = True,
) -> TrainResult:
    """Fine-tune a LoRA adapter and save it to OUTPUT_DIR/adapter.

    Args:
        config: The run's configuration.
        explicit: The values the user set (for config.yaml); default: non-default fields.
        console: A rich console for the progress bar (default: stderr).
        progress: Draw the progress bar.

    Returns:
        Where the adapter is, the final metrics, and notes.

    Raises:
        ValueError: Bad data or model setup (message says how to fix it).
    """
    started = time.perf_counter()
    recorder = RunRecorder(config, "sft", explicit)
    notes = [n for n in [enable_tensorboard(config)] if n]
    recorder.start()
    with recorder.running():
        base_model = resolve_base_model(config)
        _, callbacks = run_callbacks(config, "sft", progress=progress, console=console)
        trainer, policy, data = build_sft_trainer(config, base_model, callbacks)
        quiet_trainer_output(trainer)
        notes += [n for n in [lora_note(policy)] if n]
        recorder.update(
            base_model=base_model,
            data=data.summary(),
            lora={"targets": policy.lora_targets, "skipped": policy.skipped_targets},
        )
        output = trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
        metrics: dict[str, Any] = {
            "steps": trainer.state.global_step,
            "train_loss": output.training_loss,
            "train_tasks": len(data.train_ids),
            "validation_tasks": len(data.validation_ids),
        }
        if trainer.state.best_metric is not None:
            metrics["best_eval_loss"] = trainer.state.best_metric
        result = finish_training("sft", trainer, config, base_model, metrics, started, notes)
    recorder.finish("completed", result)
    return result

"""What a training run leaves in its output directory, and what it shows while it runs.

OUTPUT_DIR/
  config.yaml     the values that were set (config file + flags): rerun with --config
  run.json        versioned record: status, resolved config, seed, versions, git, data, results
  metrics.jsonl   one line per Trainer log (loss, eval_loss, rewards and reward components...)
  runs/           TensorBoard events, when tensorboard is installed (`tensorboard: true`)
  adapter/        the trained LoRA adapter: `hf:BASE@OUTPUT_DIR/adapter`
  merged/         base + adapter merged (`merge_adapter: true`)

Only the main process writes files or draws the progress bar, so a multi-GPU launch records one
run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from manimatic import provenance

RUN_FORMAT = 1
ERROR_LOG = "error.log"  # the traceback of the exception that ended a failed run
PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")  # + manimatic, manim
# Filled in by TRL / transformers from other fields: writing them back would conflict on rerun.
DERIVED_FIELDS = {
    "generation_batch_size",
    "steps_per_generation",
    "logging_dir",
    "gradient_checkpointing",  # mirrors activation_checkpointing
    "gradient_checkpointing_kwargs",
}


# --------------------------------------------------------------------------------- versions


def versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when absent)."""
    return provenance.versions(*PACKAGES)


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the manimatic checkout, when it is a git checkout."""
    return provenance.git_state().to_dict()


def device_info() -> dict[str, Any]:
    """Accelerators visible to this process."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "cuda": cuda,
        "gpus": torch.cuda.device_count() if cuda else 0,
        "gpu_name": torch.cuda.get_device_name(0) if cuda else None,
    }


# --------------------------------------------------------------------------------- config


def config_dict(config: Any) -> dict[str, Any]:
    """The resolved config as plain JSON-able values (tokens hidden by transformers)."""
    return json.loads(json.dumps(config.to_dict(), default=str))


def explicit_values(config: Any) -> dict[str, Any]:
    """Fields that differ from a default config of the same class (what a caller set).

    The baseline goes through the same `__post_init__`, so values the config class fills in
    itself (device-dependent defaults, normalised lists) cancel out.
    """
    resolved = config_dict(config)
    # Device fields are copied (a default bf16 fails on a CPU) and always written out.
    always = {
        k: getattr(config, k)
        for k in ("model", "output_dir", "bf16", "fp16", "use_cpu", "activation_checkpointing")
    }
    try:
        baseline = config_dict(type(config)(**always))
    except Exception:  # a default that is invalid here: fall back to every field
        baseline = {}
    init_fields = {f.name for f in dataclasses.fields(config) if f.init}
    out = dict(always)
    for key, value in resolved.items():
        if key not in init_fields or key in DERIVED_FIELDS or value == f"<{key.upper()}>":
            continue  # not a constructor field, filled in from others, or a masked secret
        if key not in baseline or baseline[key] != value:
            out[key] = value
    if getattr(config, "init_adapter", None):
        out["init_adapter"] = config.init_adapter
    return out


def enable_tensorboard(config: Any) -> str | None:
    """Add TensorBoard to `report_to` when asked for and installed; a note when it is not."""
    if not getattr(config, "tensorboard", False):
        return None
    report = config.report_to if isinstance(config.report_to, list) else [config.report_to]
    report = [r for r in report if r and r != "none"]
    if "tensorboard" in report or "all" in report:
        return None
    if not any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
        return "tensorboard is not installed: metrics are in metrics.jsonl only"
    config.report_to = [*report, "tensorboard"]
    return None


# --------------------------------------------------------------------------------- results


@dataclass
class TrainResult:
    """The outcome of a training run.

    Attributes:
        kind: "sft" or "grpo".
        output_dir: The run directory.
        adapter_dir: The trained adapter (`hf:BASE@ADAPTER`).
        base_model: The base model id or directory.
        merged_dir: The merged model, when `merge_adapter` was set.
        metrics: Final metrics (train loss or reward means, best eval loss...).
        best_checkpoint: The checkpoint selected by eval loss, if any.
        elapsed_s: Wall time of the run.
        notes: Things the user should know (no CodeBERT, skipped LoRA targets...).
    """

    kind: str
    output_dir: str
    adapter_dir: str
    base_model: str
    merged_dir: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    best_checkpoint: str | None = None
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def model_spec(self) -> str:
        """The agent's model spec for the trained model."""
        if self.merged_dir:
            return f"hf:{self.merged_dir}"
        return f"hf:{self.base_model}@{self.adapter_dir}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model_spec"] = self.model_spec
        return data


class RunRecorder:
    """Writes config.yaml and run.json for one run (main process only).

    Args:
        config: The training config.
        kind: "sft" or "grpo".
        explicit: The values the user set (config file + flags); default: fields that differ
            from the class defaults.
    """

    def __init__(self, config: Any, kind: str, explicit: dict[str, Any] | None = None) -> None:
        self.config = config
        self.kind = kind
        self.dir = Path(config.output_dir)
        self.main = config.process_index == 0
        self.explicit = explicit if explicit is not None else explicit_values(config)
        self.started = time.time()
        self.record: dict[str, Any] = {}

    def start(self, **extra: Any) -> None:
        """Write config.yaml and a run.json with status "running"."""
        self.record = {
            "format": RUN_FORMAT,
            "kind": self.kind,
            "status": "running",
            "started_at": _iso(self.started),
            "command": sys.argv,
            "seed": self.config.seed,
            "config": config_dict(self.config),
            "explicit": self.explicit,
            "versions": versions(),
            "git": git_state(),
            "device": device_info(),
            "world_size": self.config.world_size,
            **extra,
        }
        if not self.main:
            return
        import yaml

        self.dir.mkdir(parents=True, exist_ok=True)
        header = (
            f"# manimatic train {self.kind}: the values set for this run (rerun with --config)\n"
        )
        body = yaml.safe_dump(self.explicit, sort_keys=True, allow_unicode=True)
        (self.dir / "config.yaml").write_text(header + body)
        self._write()

    def update(self, **extra: Any) -> None:
        """Add fields to run.json (e.g. data summary, reward setup)."""
        self.record.update(extra)
        self._write()

    def finish(
        self,
        status: str,
        result: TrainResult | None = None,
        error: str | None = None,
        log: str | None = None,
    ) -> None:
        """Record the end of the run: "completed", "failed" or "interrupted".

        Args:
            status: The run's status.
            result: The result, when it completed.
            error: "Type: message" of the exception that ended it.
            log: The file holding that exception's traceback.
        """
        self.record.update(
            status=status,
            finished_at=_iso(time.time()),
            elapsed_s=round(time.time() - self.started, 3),
        )
        if result is not None:
            self.record["result"] = result.to_dict()
        if error is not None:
            self.record["error"] = error
        if log is not None:
            self.record["error_log"] = log
        self._write()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Record a failed or interrupted run in run.json, then let the exception go on."""
        try:
            yield
        except KeyboardInterrupt:
            self.finish("interrupted")
            raise
        except Exception as exc:
            log_file = self.write_traceback()
            self.finish("failed", error=f"{type(exc).__name__}: {exc}", log=log_file)
            raise

    def write_traceback(self) -> str | None:
        """Write the exception being handled, with its traceback, to OUTPUT_DIR/error.log."""
        if not self.main:
            return None
        import traceback

        path = self.dir / ERROR_LOG
        with contextlib.suppress(OSError):  # the run's own error matters more than its log
            self.dir.mkdir(parents=True, exist_ok=True)
            path.write_text(traceback.format_exc())
            return str(path)
        return None

    def _write(self) -> None:
        if not self.main:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "run.json.tmp"
        tmp.write_text(json.dumps(self.record, indent=2, default=str))
        tmp.replace(self.dir / "run.json")


def _iso(t: float) -> str:
    return provenance.utc_iso(t)


# --------------------------------------------------------------------------------- callbacks


def run_callbacks(
    config: Any, kind: str, *, progress: bool, console: Any = None
) -> tuple[JsonlMetricsCallback, list[Any]]:
    """The metrics log (kept to read the history back) and, if asked, the progress bar."""
    metrics_cb = JsonlMetricsCallback(Path(config.output_dir) / "metrics.jsonl")
    callbacks: list[Any] = [metrics_cb]
    if progress:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        callbacks.append(RichProgressCallback(console, kind))
    return metrics_cb, callbacks


class JsonlMetricsCallback(TrainerCallback):
    """Appends every Trainer log (loss, eval loss, rewards, components) to a JSONL file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.last: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time(), 3)}
        row.update({k: v for k, v in logs.items() if isinstance(v, (int, float, str)) or v is None})
        self.history.append(row)
        self.last.update(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


SHOWN_METRICS = (
    "loss",
    "eval_loss",
    "reward",
    "reward_components/visual",
    "reward_components/render",
)


class RichProgressCallback(TrainerCallback):
    """A rich progress bar with the latest loss / reward (replaces transformers' tqdm bar).

    Args:
        console: Where to draw (stderr keeps stdout clean for --json).
        title: Shown before the bar.
    """

    def __init__(self, console: Any, title: str) -> None:
        self.console = console
        self.title = title
        self.progress: Any = None
        self.task: Any = None
        self.shown: dict[str, float] = {}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.title, total=state.max_steps or None, metrics="")

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any
    ) -> None:
        if self.progress is None or not logs:
            return
        for key in SHOWN_METRICS:
            if isinstance(logs.get(key), (int, float)):
                self.shown[key.rsplit("/", 1)[-1]] = float(logs[key])
        text = "  ".join(f"{k} {v:.4g}" for k, v in self.shown.items())
        self.progress.update(self.task, metrics=text)

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)
            self.progress.stop()
            self.progress = None


def quiet_trainer_output(trainer: Any) -> None:
    """Drop transformers' tqdm bar and log printer (the rich bar and metrics.jsonl replace them)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)


def summary_lines(result: TrainResult) -> list[str]:
    """The end-of-run facts: where things are, the final metrics, notes."""
    lines = [
        f"run directory : {result.output_dir}",
        f"adapter       : {result.adapter_dir}",
        f"base model    : {result.base_model}",
    ]
    if result.merged_dir:
        lines.append(f"merged model  : {result.merged_dir}")
    if result.best_checkpoint:
        lines.append(f"best checkpoint (lowest eval loss): {result.best_checkpoint}")
    for key, value in result.metrics.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        lines.append(f"{key}: {value}")
    lines.append(f"elapsed: {result.elapsed_s:.1f} s")
    lines += [f"note: {n}" for n in result.notes]
    return lines


def usage_lines(result: TrainResult) -> list[str]:
    """How to use the trained model (commands to copy)."""
    lines = [
        f'manimatic generate "A red circle grows" --model {result.model_spec}',
        f"manimatic bench run --model {result.model_spec} ...",
    ]
    if result.kind == "sft":
        lines.append(
            "manimatic train grpo --config configs/grpo_study.yaml "
            f"--model {result.base_model} --init-adapter {result.adapter_dir}"
        )
    return lines

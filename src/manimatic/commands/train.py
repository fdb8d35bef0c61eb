"""`manimatic train sft|grpo --config x.yaml [--field value ...]`: fine-tune with TRL + LoRA.

Every field of the config (TRL's, transformers' and manimatic's) is a flag that overrides the
file: `manimatic train grpo --config configs/grpo_study.yaml --learning-rate 1e-6 --use-vllm`.
`--help-fields` lists them all. The run directory gets config.yaml, run.json, metrics.jsonl and
adapter/; the summary says how to use the adapter. Multi-GPU: `accelerate launch --config_file
configs/accelerate/multi_gpu.yaml -m manimatic.cli train grpo ...` (see docs/training.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.panel import Panel

from manimatic.commands._common import UserError, console, console_err, print_json

# Flags that are not the command's own pass through to the config parser.
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}

CONFIG_OPTION = typer.Option(
    None, "--config", help="YAML config (e.g. configs/sft_study.yaml); flags override it."
)
FIELDS_OPTION = typer.Option(False, "--help-fields", help="List every config field and exit.")
JSON_OPTION = typer.Option(False, "--json", help="Print the result as one JSON object.")
DRY_RUN_OPTION = typer.Option(
    False, "--dry-run", help="Resolve and print the config (what config.yaml would hold); no run."
)


def _quiet_libraries() -> None:
    """Turn off the per-stage tqdm bars of datasets/transformers (the rich bar replaces them)."""
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass


def check_config_path(config: Path | None) -> None:
    """Fail fast on a config path that cannot be read, before torch is imported (~20 s).

    Raises:
        UserError: The file is missing, a directory, or unreadable.
    """
    if config is None:
        return
    if not config.exists():
        near = (
            sorted(p.name for p in Path("configs").glob("*.yaml"))
            if Path("configs").is_dir()
            else []
        )
        hint = f" (configs/ has: {', '.join(near)})" if near else ""
        raise UserError(f"config file {config} does not exist{hint}")
    if config.is_dir():
        raise UserError(f"config file {config} is a directory; pass a .yaml file inside it")
    try:
        with config.open("rb"):
            pass
    except OSError as exc:
        raise UserError(f"cannot read config file {config}: {exc.strerror or exc}") from None


def _parse(
    cls_name: str, config: Path | None, args: list[str], dry_run: bool = False
) -> tuple[Any, dict[str, Any]]:
    check_config_path(config)
    try:
        from manimatic.train import config as train_config
    except ImportError as exc:
        raise UserError(
            f"training needs torch, transformers, trl, peft and datasets ({exc}); install them "
            "with: pip install 'manimatic[train]'"
        ) from exc
    cls = getattr(train_config, cls_name)
    try:
        return train_config.parse_config(cls, config, args, dry_run=dry_run)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def _run(kind: str, ctx: typer.Context, config: Path | None, as_json: bool, dry_run: bool) -> None:
    cls_name = "ManimSFTConfig" if kind == "sft" else "ManimGRPOConfig"
    cfg, explicit = _parse(cls_name, config, list(ctx.args), dry_run)
    if dry_run:
        if as_json:
            print_json(explicit)
        else:
            import yaml

            console.print(yaml.safe_dump(explicit, sort_keys=True), highlight=False, end="")
        return
    _quiet_libraries()
    from manimatic.train.errors import TrainError
    from manimatic.train.runlog import ERROR_LOG, summary_lines, usage_lines

    try:
        if kind == "sft":
            from manimatic.train.sft import run_sft

            result = run_sft(cfg, explicit=explicit, console=console_err, progress=not as_json)
        else:
            from manimatic.train.grpo import run_grpo

            result = run_grpo(cfg, explicit=explicit, console=console_err, progress=not as_json)
    except TrainError as exc:  # the input: one line naming the fix
        raise UserError(f"{kind}: {exc}") from None
    except (ImportError, OSError) as exc:  # a missing package or model file, a full disk...
        raise UserError(
            f"{kind} failed: {type(exc).__name__}: {exc} (traceback in "
            f"{Path(cfg.output_dir) / ERROR_LOG})",
            exit_code=1,
        ) from exc
    # Anything else is a bug: it surfaces with its traceback (also in OUTPUT_DIR/error.log).
    if cfg.process_index != 0:
        return
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        Panel(
            escape("\n".join(summary_lines(result))),
            title=f"manimatic train {kind}: done",
            border_style="green",
            expand=False,
        )
    )
    console.print("Use the trained model:", style="bold")
    for line in usage_lines(result):
        console.print(f"  {escape(line)}", soft_wrap=True, highlight=False)


def _fields(cls_name: str) -> None:
    from manimatic.train import config as train_config

    console.print(
        train_config.fields_help(getattr(train_config, cls_name)), highlight=False, markup=False
    )


def sft(
    ctx: typer.Context,
    config: Path | None = CONFIG_OPTION,
    help_fields: bool = FIELDS_OPTION,
    as_json: bool = JSON_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
) -> None:
    """Supervised fine-tuning of a LoRA adapter on (description, code) pairs.

    Study defaults: LoRA r=8 alpha=16, lr 2e-6, 2 epochs, batch 16, max length 2048.

    The best checkpoint is chosen by eval loss on a slice of the train split.

    Any config field is a flag: --learning-rate 1e-5, --model tiny, --dataset x.jsonl ...
    """
    if help_fields:
        _fields("ManimSFTConfig")
        return
    _run("sft", ctx, config, as_json, dry_run)


def grpo(
    ctx: typer.Context,
    config: Path | None = CONFIG_OPTION,
    help_fields: bool = FIELDS_OPTION,
    as_json: bool = JSON_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
) -> None:
    """GRPO with the rendered reward R = 0.2 R_code + 0.8 R_visual.

    Study defaults: G=8, 2 prompts a step, 4 iterations, beta 0.005, lr 5e-7, loss dr_grpo.

    Starts from the base model, or from an SFT adapter with --init-adapter DIR.

    Any config field is a flag: --use-vllm, --visual-reward fidelity, --learning-rate 1e-6 ...
    """
    if help_fields:
        _fields("ManimGRPOConfig")
        return
    _run("grpo", ctx, config, as_json, dry_run)


def register(app: typer.Typer) -> None:
    """Add the `train` command group to the CLI."""
    train_app = typer.Typer(
        help="Fine-tune a model: SFT, then GRPO with the render-based reward.",
        no_args_is_help=True,
    )
    train_app.command("sft", context_settings=PASSTHROUGH)(sft)
    train_app.command("grpo", context_settings=PASSTHROUGH)(grpo)
    app.add_typer(train_app, name="train")

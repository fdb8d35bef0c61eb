"""`manimatic study run|status|report --config FILE`: the whole study as one resumable command.

`run` does every stage not done yet (base -> SFT -> GRPO -> matrix -> report) in the study
directory (`--dir`, else the config's `dir:`); the same command after a crash or `kill -9`
continues where it stopped. `--from STAGE` redoes a stage and those after it, `--until STAGE`
stops after one. `status` reads the state without touching a running study; `report` rebuilds
the report from the database. Exit status: 0 done, 2 bad input, 3 a stage failed (resumable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from manimatic.commands._common import UserError, console, console_err, print_json

EXIT_STAGE = 3

study_app = typer.Typer(
    name="study",
    help="The study end to end: base -> SFT -> GRPO -> the 9-condition matrix -> report.",
    no_args_is_help=True,
)

CONFIG = typer.Option(..., "--config", "-c", help="Study YAML, e.g. configs/study_tiny_cpu.yaml.")
DIR = typer.Option(None, "--dir", help="Study directory (default: the config's `dir:`).")
JSON = typer.Option(False, "--json", help="Print the study's status as one JSON object.")


def _config(path: Path) -> Any:
    from manimatic.study import StudyError, load_study_config

    if not Path(path).expanduser().is_file():
        raise UserError(
            f"study config {path} not found; e.g. --config configs/study_tiny_cpu.yaml."
        )
    try:
        return load_study_config(path)
    except StudyError as exc:
        raise UserError(str(exc)) from None


def _say(line: str) -> None:
    console_err.print(f"[bold]study[/] {escape(line)}", highlight=False)


def _print_status(status: Any) -> None:
    console.print(
        f"[bold]study {escape(status.name)}[/] in {escape(status.directory)}", soft_wrap=True
    )
    if status.running_pid:
        console.print(f"running in process {status.running_pid}")
    table = Table("stage", "status", "wall time", "attempts", "note")
    for name, s in status.stages.items():
        note = s.error or ""
        metrics = (s.result or {}).get("metrics") or {}
        if not note and metrics.get("steps") is not None:
            note = f"{metrics['steps']} steps"
        progress = status.training_progress.get(name)
        if not note and progress:
            note = f"step {progress['step']}/{progress['max_steps'] or '?'}"
        table.add_row(name, s.status, f"{s.wall_s / 60:.1f} min", str(s.attempts), escape(note))
    console.print(table)
    if status.eval_progress:
        runs = Table("label", "strategy", "run", "done", "RSR", "status")
        for r in status.eval_progress:
            rsr = "-" if r["rsr"] is None else f"{r['rsr']:.0%}"
            runs.add_row(escape(str(r["label"])), r["strategy"], r["run_id"],
                         f"{r['done']}/{r['total']}", rsr, r["status"])  # fmt: skip
        console.print(runs)
    report = (status.stages.get("report") and status.stages["report"].result) or {}
    if report.get("study_md"):
        console.print(f"report: {escape(report['study_md'])}", soft_wrap=True, highlight=False)


@study_app.command("run")
def run_command(
    config: Path = CONFIG,
    directory: Path | None = DIR,
    from_stage: str | None = typer.Option(
        None, "--from", help="Redo this stage and every later one (sft, grpo, eval, report)."
    ),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
    as_json: bool = JSON,
) -> None:
    """Run (or resume) the study: every stage not done yet, in order."""
    from manimatic.study import StudyError, run_study

    cfg = _config(config)
    try:
        status = run_study(
            cfg, directory, from_stage=from_stage, until=until, progress=not as_json, say=_say
        )
    except StudyError as exc:
        code = EXIT_STAGE if str(exc).startswith("stage ") else 2
        raise UserError(str(exc), exit_code=code) from None
    _emit(status, as_json)


def _emit(status: Any, as_json: bool) -> None:
    if as_json:
        print_json(status.to_dict())
    else:
        _print_status(status)


@study_app.command("status")
def status_command(
    config: Path = CONFIG, directory: Path | None = DIR, as_json: bool = JSON
) -> None:
    """Where the study stands: each stage's status and wall time, the matrix's progress."""
    from manimatic.study import StudyError, study_status

    cfg = _config(config)
    try:
        status = study_status(cfg, directory)
    except StudyError as exc:
        raise UserError(str(exc)) from None
    _emit(status, as_json)


@study_app.command("report")
def report_command(
    config: Path = CONFIG, directory: Path | None = DIR, as_json: bool = JSON
) -> None:
    """Rebuild the study's report from its database (the matrix must have run)."""
    from manimatic.study import StudyError, run_study

    cfg = _config(config)
    try:
        status = run_study(cfg, directory, from_stage="report", progress=False, say=_say)
    except StudyError as exc:
        raise UserError(str(exc)) from None
    _emit(status, as_json)


def register(app: typer.Typer) -> None:
    """Add the `study` command group to the main app."""
    app.add_typer(study_app, name="study")

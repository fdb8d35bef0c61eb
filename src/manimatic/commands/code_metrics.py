"""`manimatic code-metrics GEN.py REF.py [--protocol study|manimatic] [--json]`.

Code similarity of a generated program to its reference, as the bench scores it (the scoring
core, `manimatic.scoring.code_scores`: an empty program scores 0). JSON output::

    {"codebleu", "codebleu_components", "ast_distance", "syntax_error", "codebert", "cbb"}

`--protocol study` gives the authors' values (their AST tree, their empty-generation rule, their
CodeBERT pooling; `manimatic.metrics.code`). `codebert` and `cbb` are null when no CodeBERT is
available (offline without a local copy: set `MANIMATIC_CODEBERT_PATH`, or `--code-embedder`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from manimatic.commands._common import UserError, console, print_json

OUTPUT_KEYS = ("codebleu", "codebleu_components", "ast_distance", "syntax_error", "codebert", "cbb")


def _read(path: Path, role: str) -> str:
    if not path.is_file():
        raise UserError(f"{role} {path}: no such file; give the path of a Python program.")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{role} {path}: cannot read it as UTF-8 text ({exc}).") from None


def _code_embedder(spec: str) -> tuple[Any, str | None]:
    """The CodeBERT embedder asked for (auto, none, or a local path / hub id) and why not."""
    from manimatic.metrics import code

    if spec == "none":
        return None, "CodeBERT disabled (--code-embedder none)"
    if spec == "auto":
        logger = logging.getLogger(code.__name__)
        level = logger.level
        logger.setLevel(logging.ERROR)  # the reason is printed with the result instead
        try:
            embedder = code.default_code_embedder()
        finally:
            logger.setLevel(level)
        reason = code._default_cache.get("reason") if embedder is None else None
        return embedder, reason
    try:
        return code.HFCodeEmbedder.from_pretrained(spec), None
    except Exception as exc:  # noqa: BLE001 - any load failure is the user's path to fix
        raise UserError(f"cannot load the code embedder {spec!r}: {exc}") from None


def code_metrics_command(
    gen: Path = typer.Argument(..., help="The generated program (.py)."),
    ref: Path = typer.Argument(..., help="The reference program (.py)."),
    protocol: str = typer.Option(
        "manimatic",
        "--protocol",
        help="study (the authors' AST tree, empty-generation rule, CodeBERT pooling) or "
        "manimatic (ours).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    code_embedder: str = typer.Option(
        "auto",
        "--code-embedder",
        help="CodeBERT: auto (a local microsoft/codebert-base if present), none, or a path.",
    ),
) -> None:
    """CodeBLEU, AST distance, CodeBERT and CBB of GEN against the reference REF."""
    from manimatic.agent.protocol import protocol_from_name
    from manimatic.scoring import code_scores

    try:
        chosen = protocol_from_name(protocol)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    gen_code, ref_code = _read(gen, "generated program"), _read(ref, "reference program")
    embedder, why_not = _code_embedder(code_embedder)
    scores = code_scores(ref_code, gen_code, embedder, protocol=chosen.code_metrics)
    if scores.failure is not None:
        hint = (
            "; install the metrics extra: pip install 'manimatic[metrics]'"
            if "ModuleNotFoundError" in scores.failure.error
            or "ImportError" in scores.failure.error
            else ""
        )
        raise UserError(f"code metrics failed: {scores.failure.error}{hint}")
    metrics = scores.metrics
    data = {key: getattr(metrics, key) for key in OUTPUT_KEYS}
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("protocol", chosen.name)
    table.add_row("CodeBLEU", f"{metrics.codebleu:.4f}")
    for name, value in (metrics.codebleu_components or {}).items():
        table.add_row(f"  {name}", f"{value:.4f}")
    dist = "n/a (syntax error)" if metrics.ast_distance is None else f"{metrics.ast_distance:.4f}"
    table.add_row("AST distance", dist)
    table.add_row("syntax error", "yes" if metrics.syntax_error else "no")
    for name, value in (("CodeBERT", metrics.codebert), ("CBB", metrics.cbb)):
        table.add_row(name, "n/a" if value is None else f"{value:.4f}")
    console.print(table)
    if metrics.codebert is None and why_not:
        first = why_not.splitlines()[0]
        console.print(f"[yellow]note:[/] no CodeBERT: {escape(first)}", soft_wrap=True)
    if metrics.ref_syntax_error:
        console.print(f"[yellow]note:[/] the reference {escape(str(ref))} does not parse")


def register(app: typer.Typer) -> None:
    """Add `code-metrics` to the main app."""
    app.command("code-metrics")(code_metrics_command)

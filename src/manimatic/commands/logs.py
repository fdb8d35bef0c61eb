"""`manimatic logs [-n N] [--json] [--db FILE]`: past generations, newest first.

Reads the generation log (`manimatic.agent.genlog`) that `generate` writes by default from the
CLI, Python and the studio. `--json` prints one JSON array (no transcripts unless
`--transcripts`); `manimatic view` shows each entry's rounds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from manimatic.commands._common import UserError, console, print_json

DEFAULT_LIMIT = 20


def logs_command(
    limit: int = typer.Option(
        DEFAULT_LIMIT, "-n", "--limit", help="Show the N newest generations (0: all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, newest first."),
    transcripts: bool = typer.Option(
        False, "--transcripts", help="--json: include each generation's full transcript."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Log file (default: generations.sqlite in the user data dir)."
    ),
) -> None:
    """List past generations (prompt, model, strategy, outcome, tokens, time), newest first."""
    from rich.markup import escape
    from rich.table import Table

    from manimatic.agent.genlog import GenerationLog, LogError, default_log_path

    if limit < 0:
        raise UserError(f"-n must be 0 (all) or a positive count; got {limit}.")
    path = Path(db).expanduser() if db is not None else default_log_path()
    if db is not None and not path.is_file():
        raise UserError(
            f"no generation log at {path}; `manimatic generate` writes one (default "
            f"{default_log_path()})."
        )
    try:
        with GenerationLog(path) as log:
            entries = log.entries(limit or None, transcripts=transcripts and as_json)
    except LogError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print_json([e.to_dict(transcript=transcripts) for e in entries])
        return
    if not entries:
        console.print(
            f"no generations logged in {path} yet; `manimatic generate` records each one.",
            highlight=False,
            soft_wrap=True,
        )
        return
    header = ("id", "started", "from", "model", "strategy", "status", "rounds", "tokens",
              "time", "prompt")  # fmt: skip
    rows = []
    for e in entries:
        prompt = " ".join(e.prompt.split())
        rows.append(
            (
                str(e.id),
                e.started.replace("+00:00", "Z"),
                e.source,
                e.model,
                e.strategy,
                "ok" if e.ok else e.status,
                str(e.rounds),
                "-" if e.total_tokens is None else str(e.total_tokens),
                "-" if e.duration_s is None else f"{e.duration_s:.1f}s",
                prompt if len(prompt) <= 60 else prompt[:57] + "...",
            )
        )
    if not console.is_terminal:
        # Piped or redirected: one tab-separated line per generation, never wrapped or cut.
        for row in (header, *rows):
            sys.stdout.write("\t".join(row) + "\n")
        return
    table = Table(*header)
    for row in rows:
        status = "[green]ok[/]" if row[5] == "ok" else f"[red]{escape(row[5])}[/]"
        table.add_row(*(escape(c) for c in row[:5]), status, *(escape(c) for c in row[6:]))
    console.print(table)
    console.print(f"[dim]log: {escape(str(path))}[/]", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `logs` to the main app."""
    app.command("logs")(logs_command)

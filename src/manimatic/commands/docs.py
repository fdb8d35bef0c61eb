"""`manimatic docs search|show`: the installed manim's API, searched and shown."""

from __future__ import annotations

import typer
from rich.table import Table

from manimatic.commands._common import UserError, console, print_json

docs_app = typer.Typer(
    help="Search and show the API of the installed Manim CE (signatures and docstrings).",
    no_args_is_help=True,
)


@docs_app.command("search")
def search(
    query: str = typer.Argument(..., help="A name, a description, or an error message."),
    # -n/--limit as in `bench` (how many); -k means feedback rounds elsewhere. --k stays.
    limit: int = typer.Option(10, "--limit", "-n", "--k", min=1, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Find API entries by name, description or error message (ManimGL names are mapped)."""
    from manimatic.docs import ApiIndex

    hits = ApiIndex.load().search(query, k=limit)
    if as_json:
        print_json(
            [
                {"name": h.name, "signature": h.signature, "summary": h.summary, "score": h.score}
                for h in hits
            ]
        )
        return
    if not hits:
        console.print(f"No API entries match {query!r}.")
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("score", justify="right")
    table.add_column("name", style="cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("summary")
    for hit in hits:
        table.add_row(f"{hit.score:.1f}", hit.name, hit.kind, hit.summary)
    console.print(table)


@docs_app.command("show")
def show(
    name: str = typer.Argument(..., help='An API name: "Create", "Axes.plot", "BLUE".'),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Show the signature and docstring (cut before "Examples") of one API name."""
    from manimatic.docs import ApiIndex

    index = ApiIndex.load()
    entry = index.get(name)
    if entry is None:
        close = index.closest(name)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UserError(f"{name!r} is not in Manim CE v{index.manim_version}.{hint}")
    if as_json:
        print_json(
            {
                "name": entry.name,
                "qualname": entry.qualname,
                "kind": entry.kind,
                "module": entry.module,
                "signature": entry.signature,
                "summary": entry.summary,
                "doc": entry.doc,
            }
        )
        return
    where = entry.module if entry.qualname == entry.name else f"{entry.qualname}, {entry.module}"
    header = f"[bold cyan]{entry.name}[/] [dim]({entry.kind}: {where})[/]"
    console.print(header, highlight=False, soft_wrap=True)
    # soft_wrap: keep docstring lines whole so copied signatures stay valid Python.
    console.print(entry.signature, markup=False, highlight=False, soft_wrap=True)
    if entry.doc:
        console.print()
        console.print(entry.doc, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `docs` command group to the main app."""
    app.add_typer(docs_app, name="docs")

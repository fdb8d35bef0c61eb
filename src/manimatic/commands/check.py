"""`manimatic check FILE... [--json]`: the static preflight, no rendering.

Exit status: 0 only when every file is ok; 1 when some file has findings or could not be checked
at all (missing, a directory, binary, not UTF-8, empty). Such a file gets one error line (with
`--json`: `{"file", "ok": false, "error"}`) and the other files are still checked.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from manimatic.commands._common import UserError, console, console_err, print_json, safe_text


def _print_report(report_dict: dict) -> None:
    file = report_dict["file"]
    for f in report_dict["findings"]:
        hint = f" [dim]->[/] {safe_text(f['suggestion'])}" if f["suggestion"] else ""
        console.print(
            f"{escape(file)}:{f['line']}:{f['col']}: [bold red]{f['code']}[/] "
            f"{safe_text(f['message'])}{hint}",
            highlight=False,
            soft_wrap=True,
        )
    if report_dict["ok"]:
        scenes = ", ".join(report_dict["scenes"])
        console.print(
            f"{escape(file)}: [green]ok[/] [dim](scenes: {escape(scenes)})[/]", soft_wrap=True
        )


def check(
    files: list[Path] = typer.Argument(..., help="Python files with Manim CE scenes."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file, per line."),
) -> None:
    """Statically check Manim CE files for what will fail (names, legacy API, kwargs...)."""
    from manimatic.render.preflight import check_code, manim_namespace
    from manimatic.render.source import read_source

    try:
        manim_namespace()  # fail once, clearly, when manim itself cannot be introspected
    except RuntimeError as exc:
        raise UserError(str(exc)) from exc
    status = 0
    for path in files:
        try:
            report = check_code(read_source(path), str(path))
        except ValueError as exc:
            status = 1
            if as_json:
                print_json({"file": str(path), "ok": False, "error": str(exc)})
            else:
                console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            continue
        data = report.to_dict()
        if not report.ok:
            status = 1
        if as_json:
            print_json(data)
        else:
            _print_report(data)
    raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    """Add the `check` command to the `manimatic` app."""
    app.command("check")(check)

"""`manimatic critique FILE... [--json]`: render with the scene trace, then report layout defects.

Exit status: 0 when every file renders with no findings; 1 when some file has findings or does
not render (its render error is reported; the other files are still critiqued); 3 when the
render pool itself cannot start.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from manimatic.commands._common import console, console_err, print_json, safe_text
from manimatic.commands.render import input_error
from manimatic.render import Limits, RenderPool, RenderRequest, RenderResult
from manimatic.render.quality import QUALITY_HELP, check_quality
from manimatic.render.result import RenderPoolError
from manimatic.render.source import SourceError, read_source


def _print_human(report_dict: dict) -> None:
    # The messages quote what the job did (its error text, its objects' text): never raw.
    name = safe_text(report_dict["file"] or "<code>")
    if not report_dict["rendered"]:
        err = report_dict["error"] or {}
        where = f":{err['line']}" if err.get("line") else ""
        console.print(
            f"[red]did not render[/] {name}{where} [dim]{safe_text(err.get('category'))}[/]: "
            f"{safe_text(err.get('message'))}",
            highlight=False,
            soft_wrap=True,
        )
        return
    if report_dict["ok"]:
        console.print(f"[green]ok[/] {name} [dim]no layout findings[/]", highlight=False)
        return
    count = len(report_dict["findings"])
    console.print(f"[yellow]{count} finding{'s' * (count != 1)}[/] {name}", highlight=False)
    for f in report_dict["findings"]:
        console.print(
            f"  [bold]{f['kind']}[/] [dim]at {f['time']:.1f}s[/] {safe_text(f['message'])}\n"
            f"    [cyan]fix:[/] {safe_text(f['suggestion'])}",
            highlight=False,
            soft_wrap=True,
        )


def critique_command(
    files: list[Path] = typer.Argument(..., help="Python files with Manim scenes."),
    as_json: bool = typer.Option(
        False, "--json", help='One {"file", "ok", "findings"} object per file, per line.'
    ),
    scene: str | None = typer.Option(None, "--scene", help="Critique only this scene."),
    quality: str = typer.Option(
        "l",
        "--quality",
        "-q",
        help=f"{QUALITY_HELP} Text size is judged at this resolution.",
    ),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per file before it is killed."),
    workers: int | None = typer.Option(None, "--workers", "-w", help="Parallel renders (cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Render again even if cached."),
    sandbox: str = typer.Option("auto", "--sandbox", help="auto | bwrap | none."),
) -> None:
    """Render Manim files (sandboxed, with the scene trace) and report what looks wrong."""
    from manimatic.critic import critique_render

    try:
        check_quality(quality)  # the one quality check of every command
    except ValueError as exc:
        console_err.print(f"[red]error:[/] --{safe_text(exc)}")
        raise typer.Exit(2) from None
    if sandbox not in ("auto", "bwrap", "none"):
        console_err.print(f"[red]error:[/] --sandbox must be auto, bwrap or none (got {sandbox!r})")
        raise typer.Exit(2)
    if not timeout > 0:
        console_err.print(f"[red]error:[/] --timeout must be positive seconds (got {timeout!r})")
        raise typer.Exit(2)
    results: list[RenderResult | None] = [None] * len(files)
    requests: list[tuple[int, RenderRequest]] = []
    for i, path in enumerate(files):
        try:
            code = read_source(path)
        except SourceError as exc:
            results[i] = input_error(path, exc)
            continue
        request = RenderRequest(
            code=code,
            scene=scene,
            quality=quality,
            timeout=timeout,
            trace=True,
            use_cache=not no_cache,
            file=str(path),
        )
        requests.append((i, request))
    pool = None
    if requests:
        size = min(workers or os.cpu_count() or 1, len(requests))
        try:
            pool = RenderPool(size, sandbox=sandbox, limits=Limits())  # type: ignore[arg-type]
        except (RenderPoolError, ValueError) as exc:
            console_err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(3) from None
    futures = {i: pool.submit_request(r) for i, r in requests} if pool else {}
    all_ok = True
    try:
        for i in range(len(files)):  # in input order, each as soon as it is done
            result = results[i]
            if result is None:
                try:
                    result = futures[i].result()
                except RenderPoolError as exc:
                    console_err.print(f"[red]error:[/] the render pool broke: {exc}")
                    raise typer.Exit(3) from None
            report = critique_render(result).to_dict()
            all_ok = all_ok and report["ok"]
            if as_json:
                print_json(report)
            else:
                _print_human(report)
    finally:
        if pool:
            pool.close()
    if not all_ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("critique")(critique_command)

"""`manimatic render FILE...`: render files through the warm sandboxed pool."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from manimatic.commands._common import console, console_err, print_json, safe_text
from manimatic.executors import EXECUTOR_HELP, make_executor
from manimatic.render import Limits, RenderRequest, RenderResult
from manimatic.render.result import RenderPoolError
from manimatic.render.source import SourceError, read_source


def input_error(path: Path, exc: SourceError) -> RenderResult:
    """A bad input file as a failed RenderResult, so the other files still render."""
    category = {"empty": "no_scene", "binary": "syntax", "encoding": "syntax"}.get(
        exc.kind, "import"
    )
    return RenderResult.failure("import", category, "InputError", str(exc), file=str(path))


def _print_human(result: RenderResult) -> None:
    name = safe_text(result.file or "<code>")
    if result.ok:
        tag = " (cached)" if result.cached else ""
        console.print(f"[green]ok[/] {name}{tag} [dim]{result.elapsed_s:.2f}s[/]")
        for out in result.outputs:
            console.print(f"   {safe_text(out)}", highlight=False)
        return
    err = result.error
    assert err is not None
    where = f":{err.line}" if err.line else ""
    console.print(
        f"[red]failed[/] {name}{where} [dim]stage {result.stage}, {err.category}[/]",
        highlight=False,
    )
    console.print(f"   {safe_text(err.type)}: {safe_text(err.message)}", highlight=False)
    if err.excerpt:
        console.print(f"   > {safe_text(err.excerpt.strip())}", highlight=False)
    if err.hint:
        console.print(f"   [cyan]hint:[/] {safe_text(err.hint)}", highlight=False)


def render_command(
    files: list[Path] = typer.Argument(..., help="Python files with Manim scenes."),
    scene: str | None = typer.Option(None, "--scene", "-s", help="Render only this scene."),
    quality: str = typer.Option(
        "l", "--quality", "-q", help="l (480p15), m (720p30), h (1080p60)."
    ),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per file before it is killed."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Copy outputs to OUT/<file stem>/ (default: they stay "
        "in the cache; paths are printed).",
    ),
    as_json: bool = typer.Option(False, "--json", help="One RenderResult JSON per line."),
    workers: int | None = typer.Option(None, "--workers", "-w", help="Parallel renders (cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Render again even if cached."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Run construct() without writing frames."
    ),
    no_preflight: bool = typer.Option(False, "--no-preflight", help="Skip the static check."),
    trace: bool = typer.Option(False, "--trace", help="Also record what is on screen per frame."),
    sandbox: str = typer.Option("auto", "--sandbox", help="auto | bwrap | none."),
    memory_mb: int = typer.Option(4096, "--memory-mb", help="Address-space limit per job."),
    executor: str = typer.Option("local", "--executor", help=EXECUTOR_HELP),
    artifacts: Path | None = typer.Option(
        None, "--artifacts", help="Store outputs here (e.g. a directory shared by the cluster)."
    ),
) -> None:
    """Render Manim scene files in parallel through the warm, sandboxed pool."""
    if quality not in ("l", "m", "h", "p", "k"):
        console_err.print(f"[red]error:[/] --quality must be l, m or h (got {quality!r})")
        raise typer.Exit(2)
    if sandbox not in ("auto", "bwrap", "none"):
        console_err.print(f"[red]error:[/] --sandbox must be auto, bwrap or none (got {sandbox!r})")
        raise typer.Exit(2)
    results: list[RenderResult | None] = [None] * len(files)
    requests: list[tuple[int, RenderRequest]] = []
    for i, path in enumerate(files):
        try:
            code = read_source(path)
        except SourceError as exc:
            results[i] = input_error(path, exc)
            continue
        requests.append(
            (
                i,
                RenderRequest(
                    code=code,
                    scene=scene,
                    quality=quality,
                    timeout=timeout,
                    dry_run=dry_run,
                    trace=trace,
                    preflight=not no_preflight,
                    use_cache=not no_cache,
                    file=str(path),
                    out_dir=(out / path.stem) if out else None,
                ),
            )
        )
    size = min(workers or os.cpu_count() or 1, max(1, len(requests)))
    try:
        pool = (
            make_executor(
                executor,
                workers=workers if executor != "local" else size,
                sandbox=sandbox,
                limits=Limits(memory_mb=memory_mb),
                artifacts=artifacts,
            )
            if requests
            else None
        )
    except (RenderPoolError, ValueError) as exc:
        console_err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(3) from None
    futures = {i: pool.submit_request(r) for i, r in requests} if pool else {}
    try:
        for i in range(len(files)):  # print in input order, each as soon as it is done
            result = results[i]
            if result is None:
                try:
                    result = futures[i].result()
                except RenderPoolError as exc:
                    console_err.print(f"[red]error:[/] the render pool broke: {exc}")
                    raise typer.Exit(3) from None
                results[i] = result
            if as_json:
                print_json(result.to_dict())
            else:
                _print_human(result)
    finally:
        if pool:
            pool.close()
    if not all(r is not None and r.ok for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)

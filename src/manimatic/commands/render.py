"""`manimatic render FILE.py [SCENE...]`: render files through the warm sandboxed pool."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.markup import escape

from manimatic.commands._common import (
    FORMAT_OPTION,
    LAST_FRAME_OPTION,
    UserError,
    console,
    console_err,
    print_json,
    safe_text,
)
from manimatic.executors import EXECUTOR_HELP, make_executor
from manimatic.render import Limits, RenderRequest, RenderResult
from manimatic.render.output import OutputError, output_target, place_output
from manimatic.render.quality import QUALITY_HELP, check_quality
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


@dataclass
class RenderTarget:
    """One file to render and the scenes named after it on the command line (all when empty)."""

    path: Path
    scenes: list[str] = field(default_factory=list)


def split_targets(args: list[str], scenes: list[str] | None = None) -> list[RenderTarget]:
    """Read manim's `FILE.py [SceneName...]` form: each scene name belongs to the file before it.

    An argument is a file when it ends in .py, contains a path separator or exists; a bare
    identifier after a file is a scene name (`render a.py Intro Outro b.py`). `--scene` names
    apply to every file.

    Args:
        args: The positional arguments.
        scenes: The `--scene` values.

    Returns:
        The files in order, each with its scenes.
    """
    targets: list[RenderTarget] = []
    for arg in args:
        looks_like_file = arg.endswith(".py") or os.sep in arg or "/" in arg or Path(arg).exists()
        if targets and not looks_like_file and arg.isidentifier():
            targets[-1].scenes.append(arg)
        else:
            targets.append(RenderTarget(Path(arg)))
    for t in targets:
        t.scenes.extend(s for s in scenes or [] if s not in t.scenes)
    return targets


def _static_scenes(code: str) -> list[str]:
    try:
        from manimatic.render.preflight import check_code
    except ImportError:
        return []
    return check_code(code).scenes


def render_command(
    files: list[str] = typer.Argument(
        ...,
        metavar="FILE.py [SCENE...]...",
        help="Python files with Manim scenes, each optionally followed by the scene names to "
        "render (as with manim: `render scene.py Intro Outro`); default: every scene.",
    ),
    scene: list[str] | None = typer.Option(
        None, "--scene", help="Render only this scene (repeatable; applies to every file)."
    ),
    quality: str = typer.Option("l", "--quality", "-q", help=QUALITY_HELP),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per file before it is killed."),
    out: Path | None = typer.Option(
        None,
        "--output",
        "--out",
        "-o",
        help="A file name ending in .mp4/.mov/.gif/.webm/.png (one file, one scene) is the "
        "output file; anything else a folder: outputs go to OUT/<file stem>/ (default: they "
        "stay in the cache; paths are printed).",
    ),
    fmt: str | None = FORMAT_OPTION,
    last_frame: bool = LAST_FRAME_OPTION,
    show: bool = typer.Option(
        False, "--preview", "-p", help="Open the result with the system viewer (needs a display)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One RenderResult JSON per line."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        "--render-workers",
        help="Jobs in flight: here, parallel renders (default: CPU count).",
    ),
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
    """Render Manim scene files in parallel through the warm, sandboxed pool.

    Manim's habits work: `manimatic render scene.py Intro -ql -o intro.gif -p`.
    """
    try:
        check_quality(quality)
    except ValueError as exc:
        raise UserError(f"--{exc}") from None
    if sandbox not in ("auto", "bwrap", "none"):
        raise UserError(f"--sandbox must be auto, bwrap or none (got {sandbox!r})")
    try:
        target = output_target(out, fmt, last_frame=last_frame)
    except OutputError as exc:
        raise UserError(str(exc)) from None
    targets = split_targets(files, scene)
    if target.file is not None and len(targets) != 1:
        raise UserError(
            f"-o {target.file} names one output file but {len(targets)} files were given; "
            "give a folder to -o (e.g. -o renders/)"
        )
    results: list[RenderResult | None] = [None] * len(targets)
    requests: list[tuple[int, RenderRequest]] = []
    for i, t in enumerate(targets):
        try:
            code = read_source(t.path)
        except SourceError as exc:
            results[i] = input_error(t.path, exc)
            continue
        if target.file is not None:
            found = t.scenes or _static_scenes(code)
            if len(found) > 1:
                raise UserError(
                    f"-o {target.file} names one output file but {t.path} has scenes "
                    f"{', '.join(found)}; name one (`render {t.path} {found[0]} -o ...`) "
                    "or give a folder to -o"
                )
        requests.append(
            (
                i,
                RenderRequest(
                    code=code,
                    scene=t.scenes or None,
                    quality=quality,
                    timeout=timeout,
                    dry_run=dry_run,
                    trace=trace,
                    preflight=not no_preflight,
                    use_cache=not no_cache,
                    file=str(t.path),
                    format=target.format,
                    out_dir=(target.folder / t.path.stem)
                    if target.folder is not None and target.file is None
                    else None,
                ),
            )
        )
    size = min(workers or os.cpu_count() or 1, max(1, len(requests)))
    try:
        pool = (
            make_executor(
                executor,
                workers=workers if executor != "local" else size,
                sandbox=sandbox,  # type: ignore[arg-type]  # one of the three, checked above
                limits=Limits(memory_mb=memory_mb),
                artifacts=artifacts,
            )
            if requests
            else None
        )
    except (RenderPoolError, ValueError) as exc:
        raise UserError(str(exc), exit_code=3) from None
    futures = {i: pool.submit_request(r) for i, r in requests} if pool else {}
    try:
        for i in range(len(targets)):  # print in input order, each as soon as it is done
            result = results[i]
            if result is None:
                try:
                    result = futures[i].result()
                except RenderPoolError as exc:
                    raise UserError(f"the render pool broke: {exc}", exit_code=3) from None
                results[i] = result
            if target.file is not None and result.ok and result.outputs:
                result.outputs = [str(place_output(result.outputs[0], target))]
            if as_json:
                print_json(result.to_dict())
            else:
                _print_human(result)
    finally:
        if pool:
            pool.close()
    if show:
        _preview(results, as_json)
    if not all(r is not None and r.ok for r in results):
        raise typer.Exit(1)


def _preview(results: list[RenderResult | None], as_json: bool) -> None:
    """Open each output (one viewer per file); say why not on a machine without a display."""
    from manimatic.render.preview import preview

    outputs = [o for r in results if r is not None and r.ok for o in r.outputs]
    for path in outputs:
        done = preview(path)
        (console_err if as_json or not done.opened else console).print(
            f"[dim]{escape(done.message)}[/]", highlight=False, soft_wrap=True
        )
        if not done.opened:
            break  # the reason is the same for every file


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)

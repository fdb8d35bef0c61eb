"""`manimatic similarity A B [--json] [--fps 5]`: the study's VS and our fidelity, A = reference.

A and B are renders (.mp4 and other videos, .png/.jpg stills) or Manim programs (.py), which are
rendered first (with scene traces, so fidelity can use them). JSON output::

    {"vs", "ssim_term", "semantic_term", "fidelity", "frames_a", "frames_b", "elapsed_s", "note"}

`semantic_term` is null when no image embedder (CLIP ViT-L/14) is available; `vs` is then the
SSIM term and `note` says so.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from manimatic.commands._common import UserError, console, print_json
from manimatic.scoring import main_output

if TYPE_CHECKING:
    from manimatic.metrics.embedders import ImageEmbedder
    from manimatic.metrics.frames import Frames


def _load(path: Path, fps: float) -> tuple[Frames, str | None]:
    """Frames of a render, rendering a .py first; returns (frames, trace path or None)."""
    from manimatic.metrics.frames import load_frames

    if path.suffix.lower() != ".py":
        try:
            return load_frames(path, fps=fps), None
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        code = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from exc
    from manimatic.render import RenderPoolError, render_code

    try:
        result = render_code(code, trace=True, file=str(path))
    except RenderPoolError as exc:
        raise UserError(f"{path}: the renderer itself failed: {exc}") from exc
    if not result.ok or not result.outputs:
        err = result.error
        where = f" (line {err.line})" if err and err.line else ""
        msg = f"{err.type}: {err.message}" if err else "no output"
        raise UserError(f"{path}: render failed at {result.stage or 'output'}{where}: {msg}")
    main, trace = main_output(result)  # the file the benchmark would score
    assert main is not None  # ok with outputs, checked above
    try:
        frames = load_frames(main, fps=fps)
    except ValueError as exc:
        raise UserError(f"{path}: rendered, but the output is unreadable: {exc}") from exc
    return frames, trace


def _embedder(spec: str) -> tuple[ImageEmbedder | None, str | None]:
    """The image embedder asked for: auto (local CLIP if present), none, or a path / hub id."""
    from manimatic.metrics import embedders

    if spec == "none":
        return None, "image embedder disabled (--embedder none)"
    if spec == "auto":
        # The reason is printed with the result; keep the library's warning off the console.
        logger = logging.getLogger(embedders.__name__)
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            emb = embedders.default_embedder()
        finally:
            logger.setLevel(level)
        return emb, embedders.default_embedder_reason()
    try:
        return embedders.ClipEmbedder.from_pretrained(spec), None
    except Exception as exc:
        raise UserError(f"cannot load image embedder {spec!r}: {exc}") from exc


def similarity(
    a: Path = typer.Argument(..., help="Reference: .mp4, .png or .py."),
    b: Path = typer.Argument(..., help="Generated: .mp4, .png or .py."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    fps: float = typer.Option(5.0, "--fps", help="Frame sampling rate for videos (study: 5)."),
    embedder: str = typer.Option(
        "auto",
        "--embedder",
        help="Image embedder for VS's semantic term: auto (local CLIP ViT-L/14 if present), "
        "none, or a path / hub id of a CLIP model.",
    ),
) -> None:
    """Visual similarity of B to the reference A: the study's VS and our fidelity."""
    from manimatic.metrics.fidelity import fidelity
    from manimatic.metrics.visual import visual_similarity

    if fps <= 0:
        raise UserError(f"--fps must be positive, got {fps}")
    started = time.perf_counter()
    frames_a, trace_a = _load(a, fps)
    frames_b, trace_b = _load(b, fps)
    emb, why_not = _embedder(embedder)
    vs = visual_similarity(frames_a, frames_b, embedder=emb)
    fid = fidelity(frames_a, frames_b, trace_a, trace_b)
    note = None
    if vs.semantic_term is None:
        note = "VS = SSIM term: no image embedder is available" + (
            f" ({why_not})" if why_not else ""
        )
    data = {
        "vs": vs.vs,
        "ssim_term": vs.ssim_term,
        "semantic_term": vs.semantic_term,
        "fidelity": fid.score,
        "frames_a": vs.frames_a,
        "frames_b": vs.frames_b,
        "elapsed_s": round(time.perf_counter() - started, 3),
        "note": note,
    }
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("VS", f"{vs.vs:.4f}")
    table.add_row("  SSIM term", f"{vs.ssim_term:.4f}")
    semantic = "n/a" if vs.semantic_term is None else f"{vs.semantic_term:.4f} ({vs.embedder})"
    table.add_row("  semantic term", semantic)
    used = "pixels + scene traces" if fid.components.get("trace") is not None else "pixels"
    table.add_row("fidelity", f"{fid.score:.4f} [dim]({used})[/]")
    table.add_row("frames", f"{vs.frames_a} (A) x {vs.frames_b} (B)")
    table.add_row("elapsed", f"{data['elapsed_s']:.2f} s")
    console.print(table)
    if note:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `similarity` command to the `manimatic` app."""
    app.command("similarity")(similarity)

"""Where a run ran (versions, git state, embedders), for its record; and its progress bar."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def versions() -> dict[str, str | None]:
    """Versions that change results: manimatic, manim, torch (read, not imported), Python."""
    from manimatic import __version__

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "manimatic": __version__,
        "manim": version("manim"),
        "torch": version("torch"),
        "python": sys.version.split()[0],
    }


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout manimatic runs from; (None, None) outside git.

    Dirty means tracked files differ from the commit (untracked files are not counted).
    """
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return commit.stdout.strip() or None, dirty


def resolve_embedder(choice: Any, kind: str) -> Any:
    """`"auto"` -> the default image (CLIP) or code (CodeBERT) embedder, or None; else `choice`."""
    if choice != "auto":
        return choice
    if kind == "image":
        from manimatic.metrics.embedders import default_embedder

        return default_embedder()
    from manimatic.metrics.code import default_code_embedder

    return default_code_embedder()


def embedder_name(embedder: Any) -> str | None:
    """The name a record stores for an embedder (None for none)."""
    if embedder is None:
        return None
    return str(getattr(embedder, "name", None) or type(embedder).__name__)


class ProgressBar:
    """A rich progress bar on stderr: tasks done, renders ok, infrastructure errors."""

    def __init__(self, total: int, run_id: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from manimatic.commands._common import console_err

        self.ok = 0
        self.infra = 0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console_err,
        )
        self._console = console_err
        self._progress.start()
        self._task = self._progress.add_task(f"run {run_id}", total=total, status="")

    def phase(self, text: str) -> None:
        """Show what the run is doing while no task has finished yet (instead of a bare 0/N)."""
        self._progress.update(self._task, status=f"[cyan]{text}...[/]")

    def start_tasks(self, todo: int, already: int) -> None:
        """Tasks begin: `already` of the total are stored from before."""
        self._progress.update(self._task, completed=already)
        self.phase(f"{todo} task(s) to do: rendering references and answering")

    def say(self, text: str) -> None:
        """One line above the bar (it stays on screen)."""
        self._console.print(f"[yellow]{text}[/]", highlight=False, soft_wrap=True)

    def advance(self, row: dict[str, Any]) -> None:
        self.ok += bool(row.get("ok"))
        self.infra += bool(row.get("infra_error"))
        status = f"[green]{self.ok} ok[/]"
        if self.infra:
            status += f" [red]{self.infra} infra[/]"
        self._progress.update(self._task, advance=1, status=status)

    def close(self) -> None:
        self._progress.stop()

"""A run's embedders (resolved once, named in its identity) and its progress bar.

Versions, git state and time are `manimatic.provenance`'s."""

from __future__ import annotations

from typing import Any


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
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.ok = 0
        self.infra = 0
        self._console = Console(stderr=True)  # the library does not reach into the CLI
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
        )
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

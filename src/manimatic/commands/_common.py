"""Shared pieces of the CLI layer: error type, consoles, JSON printing."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

# Width of tables when the output is a pipe or a file: wide enough that no path or run id is
# ever folded or cut with an ellipsis (a table is only as wide as its content needs).
PIPE_WIDTH = 2000


class PipeAwareConsole(Console):
    """A rich console that never wraps or truncates when its stream is not a terminal.

    On a terminal it behaves as rich does. Into a pipe or file (scripts, CI logs, `| grep`)
    lines are written whole (soft wrap) and tables get `PIPE_WIDTH` columns (even when
    `COLUMNS` is exported), so paths and run ids can be copied and parsed.
    """

    def __init__(self, *args: Any, width: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, width=width, **kwargs)
        self._asked_width = width  # rich also takes COLUMNS as a width; only this one counts

    def _piped(self) -> bool:
        return not self.is_terminal

    @property
    def size(self) -> ConsoleDimensions:
        if getattr(self, "_asked_width", None) is None and self._piped():
            return ConsoleDimensions(PIPE_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or self._piped()

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


console = PipeAwareConsole()
console_err = PipeAwareConsole(stderr=True)


# ANSI/VT escape sequences (CSI, OSC, two-byte ESC forms), then any other C0/C1 control but \t, \n.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def safe_text(value: object) -> str:
    """Text a rendered job (or a model) wrote, safe to print through rich.

    Terminal control codes are dropped (they could move the cursor, retitle the terminal or hide
    text) and rich markup is escaped (a stray `[/]` would otherwise crash the print).
    """
    return escape(_CONTROL.sub("", str(value)))


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(data: Any) -> None:
    """One compact JSON document per line on stdout (machine-readable output)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def known_error(exc: BaseException) -> str | None:
    """The one-line message for an error the user can fix that reached the CLI's top, else None.

    Covers manimatic's own directory (`HomeError`) and the benchmark database (`StoreError`:
    read-only, full, under a regular file). Modules are looked up, not imported: an error type
    that was never loaded cannot have been raised.
    """
    for module, name in (("manimatic.paths", "HomeError"), ("manimatic.bench.store", "StoreError")):
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return str(exc)
    return None


def exit_interrupted(exc: KeyboardInterrupt) -> None:
    """Say what a Ctrl-C left behind (a `RunInterrupted` message) and exit with status 130.

    typer turns a KeyboardInterrupt into a silent exit before `cli.main` sees it, so commands
    that can be interrupted call this themselves. After a second Ctrl-C (`exc.hard`) the
    process ends at once instead of waiting for threads still running.
    """
    import os

    console_err.print(f"[yellow]{escape(str(exc) or 'interrupted')}[/]", highlight=False)
    if getattr(exc, "hard", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise SystemExit(130)


# The agent's switches, for every command that generates (generate, bench run / matrix). Kept
# here rather than in `manimatic.agent`: importing any agent module loads the whole agent (its
# prompts, the model layer), and the CLI only needs the words.
PROTOCOL_HELP = (
    "study: the paper's extraction, stderr-tail feedback, no preflight, 300 s timeouts and code "
    "metrics; manimatic: ours (default)."
)
PROMPTS_HELP = (
    "Prompt templates: a YAML file (system, user, feedback_user, doc_user, doc_feedback_user), "
    "or study:PATH to read the authors' templates from a clone of their repository "
    "(default: the protocol's own)."
)

# manim's output flags, one declaration for every command that writes a video (render, generate).
FORMAT_OPTION = typer.Option(
    None,
    "--format",
    help="mp4 | gif | webm | mov | png (png: the last frame). Default: from the -o file "
    "name, else mp4.",
)
LAST_FRAME_OPTION = typer.Option(
    False,
    "--save_last_frame",
    "--save-last-frame",
    "-s",
    help="Save only the last frame (PNG).",
)

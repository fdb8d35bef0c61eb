"""Shared pieces of the CLI layer: error type, consoles, JSON printing."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
console_err = Console(stderr=True)


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

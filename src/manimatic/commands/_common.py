"""Shared pieces of the CLI layer: error type, consoles, JSON printing."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
console_err = Console(stderr=True)


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(data: Any) -> None:
    """One compact JSON document per line on stdout (machine-readable output)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()

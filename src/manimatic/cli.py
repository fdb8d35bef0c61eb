"""The `manimatic` command line: a thin dispatcher over the library.

Each command group lives in `manimatic.commands.<name>` and registers itself on the app; domain
errors become one clear message at this boundary (see `commands._common.UserError`).
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.markup import escape

from manimatic.commands._common import UserError, console_err, exit_interrupted, known_error

app = typer.Typer(
    name="manimatic",
    help="Text to Manim CE code and video, with the renderer in the loop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from manimatic import __version__

        typer.echo(f"manimatic {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Text to Manim CE code and video, with the renderer in the loop."""


# Command modules, each with `register(app)`. Each imports its heavy optional dependencies
# (torch, trl, ray...) inside the command, so a missing extra breaks only the command that needs
# it, with an install hint; a command module that fails to import is a bug and says so.
COMMAND_MODULES = (
    "render",
    "check",
    "critique",
    "docs",
    "generate",
    "models",
    "similarity",
    "code_metrics",
    "bench",
    "train",
    "doctor",
    "study",
    "logs",
    "view",
)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"manimatic.commands.{name}").register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except UserError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except (OSError, RuntimeError) as exc:
        message = known_error(exc)
        if message is None:
            raise
        console_err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        exit_interrupted(exc)


if __name__ == "__main__":
    main()

"""`manimatic view [--db FILE] [--port N] [--host H]`: the local web viewer and studio.

Binds 127.0.0.1 by default; another address is allowed but said to be exposed, since anyone who
reaches it can read the runs and start generations and renders on this machine.
"""

from __future__ import annotations

from pathlib import Path

import typer

from manimatic.commands._common import UserError, console, console_err

DB_HELP = "Benchmark database (default: bench.sqlite in the user data dir)."


def view_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    log_db: Path | None = typer.Option(
        None, "--log-db", help="Generation log (default: generations.sqlite in the data dir)."
    ),
    port: int = typer.Option(8765, "--port", help="Port (0: any free port)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback exposes the viewer."
    ),
    serve_dir: list[Path] = typer.Option(
        [], "--serve-dir", help="Also serve videos from this folder (repeatable)."
    ),
) -> None:
    """Browse bench runs, tasks, rounds and logged generations; generate live in the studio."""
    try:
        from manimatic.web.server import ServerInfo, serve
    except ModuleNotFoundError as exc:
        raise UserError(
            f'the viewer needs the web extra ({exc.name} is missing): pip install "manimatic[web]"'
        ) from None
    from manimatic.agent.genlog import LogError
    from manimatic.bench.store import StoreError
    from manimatic.web.app import ViewerConfig

    if not 0 <= port <= 65535:
        raise UserError(f"--port must be 0-65535; got {port}.")
    if db is not None and not Path(db).expanduser().is_file():
        raise UserError(f"no benchmark database at {db}; create one with `manimatic bench run`.")
    for folder in serve_dir:
        if not folder.expanduser().is_dir():
            raise UserError(f"--serve-dir {folder}: not a directory.")

    def ready(info: ServerInfo) -> None:
        console.print(f"manimatic viewer on [bold]{info.url}[/] (Ctrl-C to stop)", highlight=False)
        if info.exposed:
            console_err.print(
                f"[bold yellow]warning:[/] bound to {info.host}: the viewer is EXPOSED to the "
                "network; anyone who can reach it can read these runs and start generations "
                "and renders here. Use --host 127.0.0.1 to keep it local.",
                highlight=False,
                soft_wrap=True,
            )

    _check_port(host, port)
    config = ViewerConfig(db=db, log_db=log_db, serve_dirs=list(serve_dir))
    try:
        serve(config, host=host, port=port, on_ready=ready)
    except (StoreError, LogError) as exc:
        raise UserError(str(exc)) from None


def _check_port(host: str, port: int) -> None:
    """Say clearly when the address cannot be bound (uvicorn would exit with a log line)."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host.strip("[]"), port))
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
            "(0 picks a free one)."
        ) from None


def register(app: typer.Typer) -> None:
    """Add `view` to the main app."""
    app.command("view")(view_command)

"""Run the viewer with uvicorn, on loopback unless told otherwise.

`serve` blocks until Ctrl-C; `start_in_thread` (tests, notebooks) returns once the server
listens and hands back a handle that stops it.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from manimatic.web.app import ViewerConfig, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
START_TIMEOUT_S = 30.0


@dataclass
class ServerInfo:
    """A running viewer.

    Attributes:
        host: The address it is bound to.
        port: Its port (the real one when 0 was asked for).
        url: `http://HOST:PORT`.
        exposed: Bound to a non-loopback address (reachable from the network).
    """

    host: str
    port: int
    url: str
    exposed: bool
    _server: Any = None
    _thread: threading.Thread | None = None

    def stop(self) -> None:
        """Stop a server started with `start_in_thread` and wait for it."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port that is free now on `host` (for tests and `--port 0`)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host.strip("[]"), 0))
        return int(s.getsockname()[1])


def _server(config: ViewerConfig, host: str, port: int) -> Any:
    import uvicorn

    config.local_only = is_loopback(host)
    app = create_app(config)
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )


def _info(host: str, port: int) -> ServerInfo:
    shown = f"[{host}]" if ":" in host else host
    return ServerInfo(host, port, f"http://{shown}:{port}", exposed=not is_loopback(host))


def serve(
    config: ViewerConfig | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_ready: Any = None,
) -> None:
    """Serve until interrupted; `on_ready(ServerInfo)` is called once it listens."""
    port = port or free_port(host)
    server = _server(config or ViewerConfig(), host, port)
    info = _info(host, port)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets=sockets)
            if server.started:
                on_ready(info)

        server.startup = startup  # type: ignore[method-assign]
    server.run()


def start_in_thread(
    config: ViewerConfig | None = None, *, host: str = DEFAULT_HOST, port: int = 0
) -> ServerInfo:
    """Start the viewer in a background thread; returns when it accepts connections.

    Raises:
        RuntimeError: It did not start within `START_TIMEOUT_S`.
    """
    port = port or free_port(host)
    server = _server(config or ViewerConfig(), host, port)
    thread = threading.Thread(target=server.run, name="manimatic-view", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the viewer did not start on {host}:{port}")
        time.sleep(0.05)
    info = _info(host, port)
    info._server, info._thread = server, thread
    return info

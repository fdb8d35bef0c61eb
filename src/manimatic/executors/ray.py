"""Render jobs on Ray: one actor per worker slot, each with its own warm sandboxed worker.

Jobs carry code (never paths); outputs come back as bytes and the driver stores them in its
content-addressed store, so results stay on the driver. An actor that dies mid-job (worker or
node lost) is replaced and the job re-queued, up to `max_retries` times; after that the job
raises `InfrastructureError`, distinct from a render failure of the code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from manimatic import paths
from manimatic.render.pool import LocalRunner, SandboxMode
from manimatic.render.result import InfrastructureError, RenderPoolError
from manimatic.render.validate import safe_name

log = logging.getLogger(__name__)
ACTOR_GRACE_S = 120.0  # beyond the job timeout: worker start (import manim) and transfer


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RenderPoolError(
            "the Ray executor needs ray: pip install 'manimatic[ray]' (or pip install ray)"
        ) from None
    return ray


class _RenderActor:
    """Holds one warm local worker on its node; returns outputs as bytes."""

    def __init__(self, sandbox: SandboxMode) -> None:
        self.runner = LocalRunner(1, sandbox=sandbox)

    def run(self, job: dict) -> dict:
        reply = self.runner.run(job)
        files: dict[str, list[tuple[str, bytes]]] = {}
        for kind in ("outputs", "traces"):
            files[kind] = []
            for path in reply.get(kind) or []:
                files[kind].append((Path(path).name, Path(path).read_bytes()))
                Path(path).unlink(missing_ok=True)
            reply[kind] = []
        reply["_files"] = files
        return reply

    def pid(self) -> int:
        return os.getpid()

    def worker_pids(self) -> list[int]:
        return self.runner.worker_pids()

    def close(self) -> None:
        self.runner.close()


class RayRunner:
    """A JobRunner whose slots are Ray actors (see `manimatic.render.pool.JobRunner`)."""

    def __init__(
        self,
        *,
        address: str | None = None,
        slots: int | None = None,
        sandbox: SandboxMode = "auto",
        max_retries: int = 3,
    ) -> None:
        ray = _ray()
        self._owns_ray = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, logging_level=logging.WARNING)
            else:
                ray.init(
                    num_cpus=slots or os.cpu_count() or 1,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                )
                self._owns_ray = True
        self.slots = slots or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.sandbox = sandbox
        self.max_retries = max_retries
        self.retries = 0  # jobs re-queued after an actor died
        self._lock = threading.Lock()
        # max_concurrency=2: the driver sends one job at a time, and a pid()/close() call can
        # still be answered while a job runs.
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0, max_concurrency=2)(_RenderActor)
        self._actors: set[Any] = set()
        self._idle: queue.Queue[Any] = queue.Queue()
        for _ in range(self.slots):
            self._idle.put(self._new_actor())
        self._inbox = Path(tempfile.mkdtemp(prefix=f"ray-{os.getpid()}-", dir=paths.cache_dir()))

    def _new_actor(self) -> Any:
        actor = self._actor_cls.remote(self.sandbox)
        with self._lock:
            self._actors.add(actor)
        return actor

    def run(self, job: dict) -> dict:
        ray = _ray()
        from ray.exceptions import GetTimeoutError, RayActorError, RayError

        last_error: Exception | None = None
        for attempt in range(self.max_retries + 1):
            actor = self._idle.get()
            try:
                reply = ray.get(
                    actor.run.remote(job), timeout=float(job["timeout"]) + ACTOR_GRACE_S
                )
            except (RayActorError, GetTimeoutError, RayError) as exc:
                last_error = exc
                log.warning("render actor lost (attempt %d): %s", attempt + 1, exc)
                ray.kill(actor, no_restart=True)
                with self._lock:
                    self._actors.discard(actor)
                actor = self._new_actor()
                with self._lock:
                    self.retries += 1
                continue
            finally:
                self._idle.put(actor)
            return self._receive(reply)
        raise InfrastructureError(
            f"render job failed {self.max_retries + 1} times because its Ray worker died "
            f"or stopped answering (last: {type(last_error).__name__}: {last_error})"
        )

    def _receive(self, reply: dict) -> dict:
        """Write the returned bytes to local files the pool then moves into its store."""
        files = reply.pop("_files", {})
        target = Path(tempfile.mkdtemp(prefix="job-", dir=self._inbox))
        for kind in ("outputs", "traces"):
            reply[kind] = []
            for name, data in files.get(kind, []):
                # The actor's LocalRunner validated the file; its name still must not escape.
                path = target / safe_name(str(name))
                path.write_bytes(data)
                reply[kind].append(str(path))
        return reply

    def actor_pids(self) -> list[int]:
        """Process ids of the actors (for fault-injection tests and monitoring)."""
        ray = _ray()
        with self._lock:
            actors = list(self._actors)
        return ray.get([a.pid.remote() for a in actors])

    def close(self) -> None:
        ray = _ray()
        while not self._idle.empty():
            actor = self._idle.get_nowait()
            with contextlib.suppress(Exception):  # closing a dead actor is fine
                ray.get(actor.close.remote(), timeout=30)
            ray.kill(actor, no_restart=True)
        shutil.rmtree(self._inbox, ignore_errors=True)
        if self._owns_ray:
            ray.shutdown()

"""Where render jobs run: the local warm pool, or Ray actors across a cluster.

Every caller (render CLI, bench runs, the GRPO reward) takes the `RenderPool` that
`make_executor` returns and never branches on which kind it is: the pool's front (cache,
preflight, content-addressed output store) is the same, only its runner differs.
"""

from __future__ import annotations

from pathlib import Path

from manimatic.render import Limits, RenderCache, RenderPool
from manimatic.render.pool import SandboxMode

EXECUTOR_HELP = "local | ray (a local Ray instance) | ray:ADDRESS (join a cluster)"


def make_executor(
    spec: str = "local",
    *,
    workers: int | None = None,
    sandbox: SandboxMode = "auto",
    limits: Limits | None = None,
    cache: RenderCache | bool = True,
    artifacts: str | Path | None = None,
) -> RenderPool:
    """A render pool running on `spec`.

    Args:
        spec: "local", "ray" (start a local Ray instance) or "ray:ADDRESS" (e.g. "ray:auto",
            "ray:10.0.0.5:6379").
        workers: parallel jobs (local: worker processes; ray: actors, default the cluster's CPUs).
        sandbox: the sandbox mode of every worker.
        limits: per-job resource limits.
        cache: the result cache (True: default location).
        artifacts: where outputs are stored (a directory, shared across machines if you like);
            it becomes the cache root, so any node's result serves every later request.
    """
    if artifacts is not None:
        cache = RenderCache(Path(artifacts))
    if spec == "local":
        return RenderPool(workers, sandbox=sandbox, limits=limits, cache=cache)
    if spec == "ray" or spec.startswith("ray:"):
        from manimatic.executors.ray import RayRunner

        address = spec.partition(":")[2] or None
        runner = RayRunner(address=address, slots=workers, sandbox=sandbox)
        return RenderPool(runner=runner, limits=limits, cache=cache)
    raise ValueError(f"unknown executor {spec!r}: use {EXECUTOR_HELP}")


__all__ = ["EXECUTOR_HELP", "make_executor"]

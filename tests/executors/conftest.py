"""One local Ray instance (2 CPUs) for the executor tests."""

from __future__ import annotations

import pytest

from manimatic.executors import make_executor
from manimatic.render import RenderCache


@pytest.fixture(scope="session")
def ray_pool(tmp_path_factory):
    """A Ray-backed render pool: 2 actors, each with its own warm sandboxed worker."""
    pytest.importorskip("ray")
    pool = make_executor("ray", workers=2, cache=RenderCache(tmp_path_factory.mktemp("ray-cache")))
    yield pool
    pool.close()

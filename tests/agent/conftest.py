"""Fixtures for the agent tests: scene sources and scripted backends reached via the registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from manimatic.llm import get_backend
from manimatic.llm.scripted import ScriptedBackend, write_script


@pytest.fixture
def scripted(tmp_path: Path) -> Callable[..., ScriptedBackend]:
    """`scripted("reply 1", "reply 2", ...)` -> a `scripted:` backend built by `get_backend`."""
    counter = iter(range(1000))

    def make(*replies: str) -> ScriptedBackend:
        path = write_script(tmp_path / f"script{next(counter)}.jsonl", replies)
        backend = get_backend(f"scripted:{path}")
        assert isinstance(backend, ScriptedBackend)
        return backend

    return make

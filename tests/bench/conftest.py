"""Fixtures for the benchmark tests: tiny scenes as tasks and a temp database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from bench_scenes import scene, write_jsonl


@pytest.fixture
def tasks_file(tmp_path: Path) -> Callable[..., Path]:
    """`tasks_file({"a": CIRCLE, ...}, nonce=...)` -> a JSONL dataset of those reference scenes."""

    def make(refs: dict[str, str], nonce: str | None = None, name: str = "tasks.jsonl") -> Path:
        nonce = nonce or uuid.uuid4().hex
        rows = [
            {
                "id": task_id,
                "prompt": f"Draw what {task_id} shows.",
                "reference_code": scene(code, nonce),
                "tags": {"type": "Basic" if i % 2 == 0 else "Intermediate"},
            }
            for i, (task_id, code) in enumerate(refs.items())
        ]
        return write_jsonl(tmp_path / name, rows)

    return make


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database file path."""
    return tmp_path / "bench.sqlite"

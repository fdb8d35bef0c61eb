"""Fixtures for the training tests: offline, one torch thread, the hand-written smoke tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import SMOKE_TASKS


@pytest.fixture(autouse=True)
def _offline_single_thread(monkeypatch):
    """No hub access; one torch thread (two threads on two busy cores are many times slower)."""
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def smoke_tasks() -> Path:
    """Six small hand-written tasks in manimatic's JSONL format (no ManimBench rows)."""
    return SMOKE_TASKS


@pytest.fixture
def tasks_file(tmp_path: Path):
    """Write tasks (id, prompt, code) to a JSONL file and return its path."""
    import json

    def write(tasks: list[tuple[str, str, str]], name: str = "tasks.jsonl") -> Path:
        path = tmp_path / name
        with path.open("w") as fh:
            for tid, prompt, code in tasks:
                row = {
                    "id": tid,
                    "prompt": prompt,
                    "reference_code": code,
                    "tags": {"split": "train"},
                }
                fh.write(json.dumps(row) + "\n")
        return path

    return write

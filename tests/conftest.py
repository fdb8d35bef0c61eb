"""Shared pytest fixtures. Keep each fixture self-contained: several modules add theirs here."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random Qwen2-style chat model + tokenizer, built offline once per test session.

    Loadable as `hf:PATH`, with `AutoModelForCausalLM`/`AutoTokenizer`, or by the trainers.
    Skips the test when the `hf` extras (torch, transformers, tokenizers) are not installed.
    """
    import os

    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from manimatic.llm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_manimatic_home(tmp_path_factory: pytest.TempPathFactory):
    """Point every manimatic path (render cache, docs index, bench DB) at a session temp dir."""
    import os

    home = tmp_path_factory.mktemp("manimatic_home")
    previous = os.environ.get("MANIMATIC_HOME")
    os.environ["MANIMATIC_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("MANIMATIC_HOME", None)
    else:
        os.environ["MANIMATIC_HOME"] = previous


@pytest.fixture(scope="session")
def render_pool(_isolated_manimatic_home):
    """One warm render pool for the session (2 workers), with its own cache."""
    from manimatic.render import RenderCache, RenderPool

    cache = RenderCache(_isolated_manimatic_home / "pool-cache")
    with RenderPool(2, cache=cache) as pool:
        yield pool


@pytest.fixture(scope="session")
def manimbench_dir():
    """The ManimBench v2 parquet files (never copied into the repo); skip when absent."""
    import os
    from pathlib import Path

    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "manimbench"
    path = Path(os.environ.get("MANIMBENCH_DIR", default))
    if not (path / "manim_sft_dataset_test_v2.parquet").is_file():
        pytest.skip(f"ManimBench data not found at {path} (set MANIMBENCH_DIR)")
    return path

"""`bench matrix`: models x strategies into one database, each condition a resumable run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scenes import CIRCLE, scene, write_jsonl
from typer.testing import CliRunner

from manimatic.bench import BenchError, Store, parse_model_specs
from manimatic.cli import app


def test_parse_model_specs() -> None:
    specs = parse_model_specs(
        ["base=hf:Qwen/Qwen2.5-Coder-7B", "sft=hf:Qwen/Qwen2.5-Coder-7B@adapters/sft", "reference"]
    )
    assert specs == {
        "base": "hf:Qwen/Qwen2.5-Coder-7B",
        "sft": "hf:Qwen/Qwen2.5-Coder-7B@adapters/sft",
        None: "reference",
    }
    assert parse_model_specs(["openai:m?x=1"]) == {None: "openai:m?x=1"}  # "=" after the colon
    with pytest.raises(BenchError, match="empty label"):
        parse_model_specs(["=hf:x"])
    with pytest.raises(BenchError, match="no model spec"):
        parse_model_specs(["base="])
    with pytest.raises(BenchError, match="twice"):
        parse_model_specs(["base=hf:a", "base=hf:b"])


def test_matrix_runs_every_condition_into_one_db(tasks_file, tmp_path: Path) -> None:
    nonce = "matrix"
    dataset = tasks_file({"a": CIRCLE}, nonce=nonce)
    reply = f"<CODE>```python\n{scene(CIRCLE, nonce)}```</CODE>"
    replies = write_jsonl(tmp_path / "replies.jsonl", [{"content": reply}] * 2)
    db = tmp_path / "matrix.sqlite"
    args = [
        "bench", "matrix", "--dataset", str(dataset), "--db", str(db),
        "--model", f"base=scripted:{replies}", "--model", "broken=nope:x",
        "--strategy", "vanilla", "--strategy", "ritl", "--rounds", "1",
        "--render-workers", "1", "--no-embedders", "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 3  # a condition failed (the unknown model); the others ran
    out = json.loads(result.stdout)
    conditions = [(r["label"], r["strategy"], r["status"], r["ok"]) for r in out["runs"]]
    assert conditions == [("base", "vanilla", "done", 1), ("base", "ritl", "done", 1)]
    assert [(f["label"], f["strategy"]) for f in out["failed"]] == [
        ("broken", "vanilla"),
        ("broken", "ritl"),
    ]
    assert "unknown model spec" in out["failed"][0]["error"]
    with Store(db) as store:
        runs = store.runs()
        assert [(r.label, r.strategy, r.strategy_args) for r in runs] == [
            ("base", "vanilla", {}),
            ("base", "ritl", {"rounds": 1}),
        ]
        assert all(store.results(r.id)[0]["vs"] == pytest.approx(1.0) for r in runs)

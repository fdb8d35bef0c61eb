"""`manimatic bench runs|results|compare|verify|run`: JSON shapes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scenes import BROKEN, CIRCLE, NO_EMBEDDERS, SQUARE, scene, write_jsonl
from typer.testing import CliRunner

from manimatic.bench import run_bench
from manimatic.cli import app
from manimatic.commands._common import UserError

RUN_KEYS = {"id", "model", "strategy", "label", "done", "total", "rsr", "mean_vs"}
RUN_KEYS |= {"mean_fidelity", "status"}
RESULT_KEYS = {"id", "ok", "vs", "fidelity", "cbb", "rounds", "codebleu", "error_category"}


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", *args], catch_exceptions=False)


@pytest.fixture
def two_runs(tasks_file, render_pool, tmp_path: Path, db_path: Path) -> tuple[str, str, Path]:
    """Two generations runs on tasks a, b, c: a flips ok -> fail, c flips fail -> ok."""
    nonce = "cli-runs"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE, "c": CIRCLE}, nonce=nonce)
    good, bad = scene(CIRCLE, nonce), scene(BROKEN, nonce)
    first = write_jsonl(
        tmp_path / "first.jsonl",
        [
            {"id": "a", "code": good},
            {"id": "b", "code": scene(SQUARE, nonce)},
            {"id": "c", "code": bad},
        ],
    )
    second = write_jsonl(
        tmp_path / "second.jsonl",
        [{"id": "a", "code": bad}, {"id": "b", "code": good}, {"id": "c", "code": good}],
    )
    ids = []
    for gens, label in ((first, "one"), (second, "two")):
        summary = run_bench(
            str(dataset),
            "",
            generations=gens,
            label=label,
            db=db_path,
            pool=render_pool,
            **NO_EMBEDDERS,
        )
        ids.append(summary.run_id)
    return ids[0], ids[1], db_path


def test_runs_results_compare_verify_json(two_runs) -> None:
    a, b, db = two_runs
    runs = json.loads(invoke("runs", "--db", str(db), "--json").stdout)
    assert [r["id"] for r in runs] == [a, b]
    assert set(runs[0]) >= RUN_KEYS
    assert runs[0]["label"] == "one" and runs[0]["strategy"] == "none"
    assert (runs[0]["done"], runs[0]["total"], runs[0]["status"]) == (3, 3, "done")
    assert runs[0]["rsr"] == pytest.approx(2 / 3)
    low, high = runs[0]["rsr_ci"]  # 95% bootstrap interval of 3 tasks, 2 ok
    assert 0.0 <= low <= 2 / 3 <= high <= 1.0
    assert all(len(runs[0][k]) == 2 for k in ("mean_vs_ci", "mean_fidelity_ci", "mean_codebleu_ci"))
    assert runs[0]["mean_cbb_ci"] is None and runs[0]["degenerate_vs"] == 0  # no CodeBERT

    results = json.loads(invoke("results", a[:5], "--db", str(db), "--json").stdout)
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert all(set(r) >= RESULT_KEYS for r in results)
    by_id = {r["id"]: r for r in results}
    assert by_id["a"]["ok"] is True and by_id["a"]["vs"] == pytest.approx(1.0)
    assert by_id["c"]["ok"] is False and by_id["c"]["vs"] == 0.0
    assert by_id["c"]["error_category"] == "name" and by_id["c"]["rounds"] == 1

    diff = json.loads(invoke("compare", a, b, "--db", str(db), "--json").stdout)
    assert diff["a"] == a and diff["b"] == b and diff["common"] == 3
    assert diff["ok_to_fail"] == ["a"] and diff["fail_to_ok"] == ["c"]
    assert diff["metrics"]["rsr"]["delta"] == pytest.approx(0.0)  # 2/3 both
    assert set(diff["metrics"]) >= {"rsr", "vs", "fidelity", "codebleu", "cbb", "rounds"}
    vs = diff["metrics"]["vs"]
    assert vs["delta"] == pytest.approx(vs["b"] - vs["a"]) and vs["n"] == 3
    assert vs["delta_pp"] == pytest.approx(100 * vs["delta"])
    mc = diff["tests"]["render"]  # one flip each way: exact McNemar, p = 1
    assert (mc["only_a"], mc["only_b"], mc["method"], mc["p_value"]) == (1, 1, "exact", 1.0)
    paired = diff["tests"]["metrics"]["vs"]
    assert paired["delta_pp"] == pytest.approx(100 * vs["delta"]) and len(paired["ci_pp"]) == 2
    assert all(r["degenerate_vs"] is False for r in results)

    report = json.loads(invoke("verify", "--db", str(db), "--json").stdout)
    assert report["ok"] and report["runs"] == 2 and report["results"] == 6

    listing = invoke("runs", "--db", str(db)).stdout
    assert "95% bootstrap intervals" in listing and "[" in listing
    human = invoke("compare", a, b, "--db", str(db))
    assert "ok -> fail (1): a" in human.stdout and "fail -> ok (1): c" in human.stdout
    assert "McNemar (exact)" in human.stdout and " pp" in human.stdout


def test_errors_are_one_clear_message(two_runs, tmp_path: Path) -> None:
    a, _, db = two_runs
    with pytest.raises(UserError, match="no run 'nope'"):
        invoke("results", "nope", "--db", str(db))
    with pytest.raises(UserError, match="no benchmark database"):
        invoke("runs", "--db", str(tmp_path / "missing.sqlite"))
    with pytest.raises(UserError, match="dataset file not found"):
        invoke("run", "--dataset", str(tmp_path / "x.jsonl"), "--model", "reference")
    with pytest.raises(UserError, match="--model"):
        invoke("run", "--dataset", str(tmp_path / "x.jsonl"))
    bad = tmp_path / "gens.jsonl"
    bad.write_text("not json\n")
    tasks = write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "prompt": "p", "reference_code": "c"}])
    with pytest.raises(UserError, match=r"gens.jsonl:1.*not valid JSON"):
        invoke("run", "--dataset", str(tasks), "--generations", str(bad), "--db", str(db))


def test_run_command_human_output_and_default_db(tasks_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path / "home"))
    dataset = tasks_file({"a": CIRCLE}, nonce="cli-run")
    gens = write_jsonl(
        tmp_path / "g.jsonl",
        [{"id": "a", "code": scene(CIRCLE, "cli-run")}, {"id": "ghost", "code": "x"}],
    )
    result = invoke(
        "run", "--dataset", str(dataset), "--generations", str(gens),
        "--render-workers", "1", "--no-embedders",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1/1 tasks scored" in result.stdout and "100.0%" in result.stdout
    assert "ghost" in result.output  # the unknown id is reported
    default_db = tmp_path / "home" / "data" / "bench.sqlite"
    assert default_db.is_file()
    runs = json.loads(invoke("runs", "--json").stdout)  # no --db: the same default database
    assert len(runs) == 1 and runs[0]["done"] == 1

"""Recovery: --retry-failed, Ctrl-C, rejected datasets, tags as a list, replies keyed by task."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from bench_scenes import BROKEN, CIRCLE, NO_EMBEDDERS, SQUARE, scene, write_jsonl
from typer.testing import CliRunner

from manimatic.bench import RunInterrupted, Store, load_dataset, run_bench
from manimatic.cli import app
from manimatic.commands._common import UserError


def reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


def keyed_script(path: Path, replies: dict[str, list[str]]) -> Path:
    rows = [{"id": tid, "content": reply(code)} for tid, codes in replies.items() for code in codes]
    return write_jsonl(path, rows)


def invoke(*args: str):
    return CliRunner().invoke(app, ["bench", *args], catch_exceptions=False)


def test_scripted_replies_keyed_by_task_are_deterministic(
    tasks_file, render_pool, tmp_path, db_path
):
    """Several workers and several conditions: each task gets its own replies, from the start."""
    nonce = "keyed"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE, "c": CIRCLE}, nonce=nonce)
    good, bad = scene(CIRCLE, nonce), scene(BROKEN, nonce)
    # b is broken in round 1 and fixed in round 2; a and c are right at once
    script = keyed_script(tmp_path / "r.jsonl", {"a": [good], "b": [bad, good], "c": [good]})
    results = {}
    for strategy in ("vanilla", "ritl"):
        summary = run_bench(
            str(dataset), f"scripted:{script}", strategy, workers=3, db=db_path,
            pool=render_pool, **NO_EMBEDDERS,
        )  # fmt: skip
        with Store(db_path) as store:
            results[strategy] = {r["task_id"]: r for r in store.results(summary.run_id)}
    assert {k: r["ok"] for k, r in results["vanilla"].items()} == {"a": 1, "b": 0, "c": 1}
    assert {k: r["ok"] for k, r in results["ritl"].items()} == {"a": 1, "b": 1, "c": 1}
    assert results["ritl"]["b"]["rounds"] == 2


def test_retry_failed_reruns_stored_failures_by_category(
    tasks_file, render_pool, tmp_path, db_path
):
    nonce = "retry"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE}, nonce=nonce)
    good, bad = scene(CIRCLE, nonce), scene(BROKEN, nonce)
    script = keyed_script(tmp_path / "r.jsonl", {"a": [good], "b": [bad]})
    args = ["run", "-d", str(dataset), "-m", f"scripted:{script}", "--db", str(db_path),
            "--no-embedders", "--json"]  # fmt: skip
    first = json.loads(invoke(*args).stdout)
    assert first["ok"] == 1 and first["done"] == 2
    keyed_script(script, {"a": [good], "b": [good]})  # the model "got better"
    again = json.loads(invoke(*args).stdout)
    assert again["ok"] == 1 and again["new"] == 0  # a plain resume keeps failures
    other = json.loads(invoke(*args, "--retry-failed", "timeout").stdout)
    assert other["ok"] == 1  # b failed with a NameError, not a timeout
    fixed = json.loads(invoke(*args[:-1], "--retry-failed", "--json").stdout)
    assert fixed["ok"] == 2 and fixed["run_id"] == first["run_id"] and fixed["done"] == 2
    assert any("retrying 1 stored failure" in n for n in fixed["notes"])


def test_ctrl_c_finishes_tasks_in_flight_and_says_how_to_resume(
    tasks_file, render_pool, tmp_path, db_path, caplog
):
    nonce = "ctrl-c"
    refs = {f"t{i}": CIRCLE for i in range(6)}
    dataset = tasks_file(refs, nonce=nonce)
    script = keyed_script(tmp_path / "r.jsonl", {k: [scene(CIRCLE, nonce)] for k in refs})
    seen = []

    def press_ctrl_c(row):
        seen.append(row["task_id"])
        if len(seen) == 1:
            raise KeyboardInterrupt

    with (
        caplog.at_level(logging.WARNING, logger="manimatic.bench"),
        pytest.raises(RunInterrupted) as info,
    ):
        run_bench(
            str(dataset), f"scripted:{script}", workers=2, db=db_path, pool=render_pool,
            on_result=press_ctrl_c, **NO_EMBEDDERS,
        )  # fmt: skip
    message = str(info.value)
    with Store(db_path) as store:
        run = store.runs()[0]
        stored = len(store.done_task_ids(run.id))
    assert message == f"interrupted: {stored}/6 stored; run the same command to resume"
    assert 1 <= stored < 6 and run.status == "interrupted"
    assert "task(s) in flight (Ctrl-C again to stop now)" in caplog.text
    resumed = run_bench(str(dataset), f"scripted:{script}", db=db_path, pool=render_pool,
                        **NO_EMBEDDERS)  # fmt: skip
    assert resumed.done == 6 and resumed.skipped == stored


def test_every_row_rejected_is_an_error_with_the_first_problems(tmp_path, db_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\nnot json\n{"prompt": "x"}\n{"id": "a", "prompt": "p"}\n')
    for command in (
        ["run", "-m", "reference"],
        ["matrix", "-m", "r=reference", "--strategy", "vanilla"],
    ):
        with pytest.raises(UserError) as info:
            invoke(*command, "-d", str(bad), "--db", str(db_path))
        text = str(info.value)
        assert "every row of" in text and "4 problem(s)" in text
        assert "bad.jsonl:1" in text and "not valid JSON" in text and "(+1 more)" in text
    assert not db_path.exists()  # nothing was started


def test_matrix_reports_dataset_problems_like_run(tasks_file, render_pool, tmp_path, db_path):
    dataset = tasks_file({"a": CIRCLE}, nonce="mx")
    with dataset.open("a") as fh:
        fh.write("not json\n")
    data = json.loads(
        CliRunner().invoke(
            app,
            ["bench", "matrix", "-d", str(dataset), "-m", "r=reference", "--strategy", "vanilla",
             "--db", str(db_path), "--no-embedders", "--json"],
        ).stdout
    )  # fmt: skip
    assert data["dataset_problems"] == [
        f"{dataset.resolve()}:2: not valid JSON (Expecting value at column 1)"
    ]
    result = CliRunner().invoke(
        app,
        ["bench", "matrix", "-d", str(dataset), "-m", "r=reference", "--strategy", "vanilla",
         "--db", str(db_path), "--no-embedders"],
    )  # fmt: skip
    assert "dataset:" in result.stderr and "not valid JSON" in result.stderr


def test_tags_may_be_a_list_of_strings(tmp_path):
    rows = [
        {"id": "a", "prompt": "p", "reference_code": "x", "tags": ["type:Basic", "geometry"]},
        {"id": "b", "prompt": "p", "reference_code": "x", "tags": ["Advanced", "split=test"]},
        {"id": "c", "prompt": "p", "reference_code": "x", "tags": ["ok", 3]},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    tasks = load_dataset(str(path), split="all")
    by_id = {t.id: t for t in tasks.tasks}
    assert by_id["a"].tags["type"] == "Basic" and by_id["a"].tags["labels"] == ["geometry"]
    assert by_id["b"].tags["split"] == "test" and by_id["b"].tags["labels"] == ["Advanced"]
    assert [str(p) for p in tasks.problems] == [
        f"{path.resolve()}:3: field 'tags' as a list must hold strings; item 1 is int"
    ]
    assert [t.id for t in load_dataset(str(path), split="all", types=["advanced"]).tasks] == ["b"]
    assert [t.id for t in load_dataset(str(path), split="all", types=["Basic"]).tasks] == ["a"]


def test_progress_shows_a_phase_before_the_first_task():
    from manimatic.bench.environment import ProgressBar

    bar = ProgressBar(10, "run-x")
    try:
        bar.phase("starting render workers")
        task = bar._progress.tasks[0]
        assert task.fields["status"] == "[cyan]starting render workers...[/]"
        bar.start_tasks(4, 6)
        assert task.completed == 6 and "4 task(s) to do" in task.fields["status"]
        bar.advance({"ok": True})
        assert task.completed == 7 and "1 ok" in task.fields["status"]
    finally:
        bar.close()


def test_api_key_and_llm_timeout_reach_the_backend(tasks_file, monkeypatch, db_path):
    import manimatic.llm
    from manimatic.llm import LLMError

    seen = {}

    def fake_backend(spec, **kwargs):
        seen.update(kwargs, spec=spec)
        raise LLMError("stop here")

    monkeypatch.setattr(manimatic.llm, "get_backend", fake_backend)
    dataset = tasks_file({"a": CIRCLE}, nonce="keys")
    args = ["run", "-d", str(dataset), "-m", "openai:m", "--db", str(db_path), "--no-embedders"]
    with pytest.raises(UserError, match="stop here"):
        invoke(*args, "--api-key", "sk-1", "--llm-timeout", "7", "--base-url", "http://x/v1")
    assert seen == {
        "spec": "openai:m",
        "api_key": "sk-1",
        "timeout": 7.0,
        "base_url": "http://x/v1",
        "base_url_source": "--base-url (Condition.base_url)",
    }
    with pytest.raises(UserError, match="llm timeout must be positive"):
        invoke(*args, "--llm-timeout", "0")


def test_ctrl_c_on_the_command_line(tmp_path):
    """A real SIGINT to `manimatic bench run`: exit 130 and the resume line (typer would hide it)."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    import uuid

    nonce = uuid.uuid4().hex  # fresh renders: the run must still be going when Ctrl-C comes
    code = (
        "from manim import *\n\nclass S{i}(Scene):\n    def construct(self):\n"
        f"        # {nonce}\n        self.play(Create(Circle()), run_time=1)\n"
    )
    ids = [f"t{i}" for i in range(16)]
    tasks = write_jsonl(
        tmp_path / "tasks.jsonl",
        [{"id": t, "prompt": t, "reference_code": code.format(i=i)} for i, t in enumerate(ids)],
    )
    script = keyed_script(tmp_path / "r.jsonl", {t: [code.format(i=i)] for i, t in enumerate(ids)})
    db = tmp_path / "b.sqlite"
    exe = Path(sys.executable).with_name("manimatic")
    proc = subprocess.Popen(
        [str(exe), "bench", "run", "-d", str(tasks), "-m", f"scripted:{script}", "--db", str(db),
         "--no-embedders", "-w", "2", "--render-workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] >= 1:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err[-2000:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines[-1].startswith("interrupted: ") and lines[-1].endswith(
        "/16 stored; run the same command to resume"
    ), lines[-3:]

"""Resume after `kill -9`: run `manimatic bench run` as a process, kill it mid-run, run it again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from bench_scenes import CIRCLE, SQUARE, STILL_TEXT, scene, write_jsonl

from manimatic.bench import Store

N_TASKS = 8


def stored_rows(db: Path) -> int:
    """Rows committed so far, read by another connection (WAL: never blocks the writer)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet
        return 0


@pytest.mark.slow
def test_kill_9_mid_run_then_the_same_command_finishes_it(tmp_path: Path) -> None:
    nonce = uuid.uuid4().hex  # fresh code: every render is real work, none from the cache
    templates = [CIRCLE, SQUARE, STILL_TEXT]
    dataset = write_jsonl(
        tmp_path / "tasks.jsonl",
        [
            {
                "id": f"t{i}",
                "prompt": f"Task {i}.",
                "reference_code": scene(templates[i % 3], f"{nonce}-{i}"),
            }
            for i in range(N_TASKS)
        ],
    )
    db = tmp_path / "bench.sqlite"
    exe = Path(sys.executable).with_name("manimatic")
    command = [
        str(exe), "bench", "run", "--dataset", str(dataset), "--model", "reference",
        "--db", str(db), "--workers", "1", "--render-workers", "1", "--no-embedders", "--json",
    ]  # fmt: skip
    env = os.environ.copy()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 240
        while stored_rows(db) < 1:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no row committed in time"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    at_kill = stored_rows(db)
    assert 1 <= at_kill < N_TASKS, "the run finished before it could be killed"

    listed = subprocess.run(
        [str(exe), "bench", "runs", "--db", str(db), "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted" and run["done"] == at_kill and run["total"] == N_TASKS

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["run_id"] == run["id"] and summary["resumed"] is True
    assert summary["skipped"] == at_kill and summary["new"] == N_TASKS - at_kill
    assert summary["status"] == "done" and summary["done"] == N_TASKS
    assert summary["ok"] == N_TASKS and summary["mean_vs"] == pytest.approx(1.0)

    with sqlite3.connect(db) as conn:
        per_task = dict(conn.execute("SELECT task_id, COUNT(*) FROM results GROUP BY task_id"))
    assert per_task == {f"t{i}": 1 for i in range(N_TASKS)}  # every task exactly once
    with Store(db) as store:
        assert store.verify().ok
        assert store.get_run(run["id"]).status == "done"

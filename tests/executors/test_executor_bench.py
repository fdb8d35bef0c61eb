"""A benchmark run on Ray: same per-task results as the local pool, and a Ray worker killed
mid-run still leaves every row present exactly once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from manimatic.bench import run_bench
from manimatic.bench.store import Store
from manimatic.executors import make_executor
from manimatic.render import RenderCache

pytest.importorskip("ray")

HEAD = (
    "from manim import *\n\n\nclass {name}(Scene):\n    def construct(self):\n        # {nonce}\n"
)
BODIES = {
    "circle": "        self.play(Create(Circle(color=BLUE)), run_time=0.4)\n",
    "square": "        self.add(Square(color=RED).shift(2 * LEFT))\n",
    "text": "        self.add(Dot(color=YELLOW), Triangle(color=GREEN).shift(UP))\n",
    "broken": "        self.play(Create(Circle(color=not_a_colour)))\n",
}
COMPARED = ("ok", "vs", "ssim_term", "fidelity", "codebleu", "ast_distance", "error_category")


def _code(task: str, nonce: str, body: str | None = None) -> str:
    return HEAD.format(name=f"Task{task.title()}", nonce=nonce) + (body or BODIES[task])


def _dataset(tmp_path: Path, nonce: str, *, slow: bool = False) -> tuple[Path, Path]:
    """Tasks (references) and a generations file: exact, different and broken answers."""
    tasks, answers = [], []
    for task in ("circle", "square", "text", "broken"):
        ref_body = BODIES[task] if task != "broken" else BODIES["circle"]
        if slow:
            ref_body = "        import time\n        time.sleep(2)\n" + ref_body
        tasks.append(
            {
                "id": task,
                "prompt": f"Show a {task}.",
                "reference_code": _code(task, nonce, ref_body),
                "tags": {"type": "Basic"},
            }
        )
        answer = _code(task, nonce) if task != "square" else _code("square", nonce, BODIES["text"])
        answers.append({"id": task, "code": answer})
    data, gens = tmp_path / "tasks.jsonl", tmp_path / "gens.jsonl"
    data.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    gens.write_text("".join(json.dumps(a) + "\n" for a in answers))
    return data, gens


def _rows(db: Path, run_id: str) -> dict[str, dict]:
    with Store(db) as store:
        return {r["task_id"]: r for r in store.results(run_id)}


def test_bench_run_on_ray_matches_local(ray_pool, tmp_path):
    data, gens = _dataset(tmp_path, uuid.uuid4().hex)
    common = dict(generations=gens, image_embedder=None, code_embedder=None, workers=4)
    with make_executor("local", workers=2, cache=RenderCache(tmp_path / "local-cache")) as local:
        local_run = run_bench(str(data), "", db=tmp_path / "local.sqlite", pool=local, **common)
    ray_run = run_bench(str(data), "", db=tmp_path / "ray.sqlite", pool=ray_pool, **common)
    local_rows = _rows(tmp_path / "local.sqlite", local_run.run_id)
    ray_rows = _rows(tmp_path / "ray.sqlite", ray_run.run_id)
    assert set(local_rows) == set(ray_rows) == {"circle", "square", "text", "broken"}
    for task, row in local_rows.items():
        for key in COMPARED:
            assert ray_rows[task][key] == pytest.approx(row[key]), (task, key)
    assert ray_rows["circle"]["ok"] and ray_rows["circle"]["vs"] == pytest.approx(1.0)
    assert not ray_rows["broken"]["ok"] and ray_rows["broken"]["error_category"] == "name"


def test_killed_ray_worker_mid_run_keeps_every_row_once(ray_pool, tmp_path):
    data, gens = _dataset(tmp_path, uuid.uuid4().hex, slow=True)
    db = tmp_path / "fault.sqlite"
    retries_before = ray_pool.runner.retries
    outcome: dict = {}

    def run() -> None:
        outcome["summary"] = run_bench(
            str(data),
            "",
            generations=gens,
            db=db,
            pool=ray_pool,
            image_embedder=None,
            code_embedder=None,
            workers=4,
        )

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(4)  # references sleep 2 s each: both actors are busy now
    os.kill(ray_pool.runner.actor_pids()[0], signal.SIGKILL)
    thread.join(timeout=600)
    assert not thread.is_alive()
    summary = outcome["summary"]
    rows = _rows(db, summary.run_id)
    assert sorted(rows) == ["broken", "circle", "square", "text"]
    with Store(db) as store:
        assert len(store.results(summary.run_id)) == 4
        assert store.verify().ok
    assert not any(r["infra_error"] for r in rows.values())
    assert rows["circle"]["ok"] and not rows["broken"]["ok"]
    assert ray_pool.runner.retries > retries_before

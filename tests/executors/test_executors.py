"""Executors: the same jobs through the local pool and through Ray give the same results, and a
Ray worker killed mid-job is replaced without losing the job. A real local Ray instance (2 CPUs)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from manimatic.executors import make_executor
from manimatic.render import RenderCache

pytest.importorskip("ray")

SCENES = {
    "still": "from manim import *\n\nclass Still(Scene):\n    def construct(self):\n        self.add(Square(color=BLUE))\n",
    "moving": "from manim import *\n\nclass Moving(Scene):\n    def construct(self):\n        self.play(Create(Circle()), run_time=0.4)\n",
    "broken": "from manim import *\n\nclass Broken(Scene):\n    def construct(self):\n        self.play(Create(Circl()))\n",
    "latex": "from manim import *\n\nclass Formula(Scene):\n    def construct(self):\n        self.add(MathTex(r'\\\\frac{a}{b}'))\n",
}


def _comparable(result) -> dict:
    data = result.to_dict()
    data.pop("elapsed_s")
    data.pop("cached")
    data["outputs"] = [os.path.basename(p) for p in data["outputs"]]
    return data


def test_local_and_ray_give_identical_results(ray_pool, tmp_path):
    with make_executor("local", workers=2, cache=RenderCache(tmp_path / "local")) as local:
        local_results = {k: local.submit(code) for k, code in SCENES.items()}
        local_results = {k: _comparable(f.result()) for k, f in local_results.items()}
    ray_results = {k: ray_pool.submit(code, preflight=False) for k, code in SCENES.items()}
    ray_results = {k: _comparable(f.result()) for k, f in ray_results.items()}
    # Preflight runs on the driver either way; compare the runtime results on both sides.
    for key in ("still", "moving", "latex"):
        assert ray_results[key] == local_results[key], key
    assert ray_results["broken"]["error"]["category"] == "name"
    assert ray_results["moving"]["ok"] and ray_results["moving"]["outputs"] == ["Moving.mp4"]


def test_outputs_come_back_to_the_driver_store(ray_pool):
    result = ray_pool.render(SCENES["moving"].replace("0.4", "0.3"))
    assert result.ok
    assert os.path.isfile(result.outputs[0])
    assert result.outputs[0].startswith(str(ray_pool.store.root))


def test_killed_ray_worker_is_replaced_and_the_job_completes(ray_pool):
    slow = SCENES["still"].replace(
        "self.add(", "import time\n        time.sleep(6)\n        self.add("
    )
    jobs = [ray_pool.submit(slow.replace("Moving", f"Slow{i}"), use_cache=False) for i in range(4)]
    time.sleep(3)  # let the actors pick the jobs up
    victim = ray_pool.runner.actor_pids()
    retries_before = ray_pool.runner.retries
    killer = threading.Thread(target=os.kill, args=(victim[0], signal.SIGKILL))
    killer.start()
    killer.join()
    results = [job.result(timeout=300) for job in jobs]
    assert all(r.ok for r in results), [r.error for r in results]
    assert ray_pool.runner.retries > retries_before


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("kubernetes")

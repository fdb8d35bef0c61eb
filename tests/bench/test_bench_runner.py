"""`run_bench` on real renders: reference calibration, generations files, scripted models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scenes import BROKEN, CIRCLE, NO_EMBEDDERS, SQUARE, STILL_TEXT, scene, write_jsonl

from manimatic.bench import BenchError, Store, load_dataset, run_bench
from manimatic.bench.scoring import FrameCache, Scorer
from manimatic.llm import GenerationOptions


def reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


def script(path: Path, *lines: dict) -> Path:
    return write_jsonl(path, list(lines))


@pytest.mark.slow
def test_reference_model_on_manimbench_calibrates(manimbench_dir: Path, render_pool, db_path):
    """RSR = the references' own render rate; VS (and fidelity) = 1 for every rendered task."""
    tasks = load_dataset(str(manimbench_dir), limit=5).tasks
    direct = [render_pool.submit(t.reference_code, trace=True, timeout=120).result() for t in tasks]
    summary = run_bench(
        str(manimbench_dir), "reference", limit=5, db=db_path, pool=render_pool, **NO_EMBEDDERS
    )
    assert (summary.model, summary.strategy, summary.status) == ("reference", "none", "incomplete")
    assert summary.total == 100 and summary.done == 5 and summary.new == 5
    assert summary.ok == sum(r.ok for r in direct)
    assert summary.rsr == pytest.approx(summary.ok / 5)
    with Store(db_path) as store:
        rows = {r["task_id"]: r for r in store.results(summary.run_id, heavy=True)}
        run = store.get_run(summary.run_id)
    assert list(rows) == [t.id for t in tasks]
    for task, ref in zip(tasks, direct, strict=True):
        r = rows[task.id]
        assert r["ok"] is ref.ok and r["ref_ok"] is ref.ok and not r["infra_error"]
        assert r["code"] == task.reference_code and r["rounds"] == 1
        if ref.ok:
            assert r["vs"] == pytest.approx(1.0) and r["ssim_term"] == pytest.approx(1.0)
            assert r["fidelity"] == pytest.approx(1.0)
            assert r["codebleu"] == pytest.approx(1.0) and r["ast_distance"] == 0.0
            assert r["semantic_term"] is None  # no embedder: said, not faked
            assert json.loads(json.dumps(r["render_result"]))["ok"] is True
        else:
            assert r["vs"] is None and r["fidelity"] is None
    assert summary.mean_vs == pytest.approx(1.0)
    # The record says what produced it.
    assert run.format_version == 1 and run.manim_version and run.python_version
    assert run.dataset_hash == load_dataset(str(manimbench_dir)).content_hash()
    assert run.options["image_embedder"] is None and run.options["quality"] == "l"
    # The same call again resumes: nothing left to do within the limit.
    again = run_bench(
        str(manimbench_dir), "reference", limit=5, db=db_path, pool=render_pool, **NO_EMBEDDERS
    )
    assert again.run_id == summary.run_id and again.resumed
    assert (again.skipped, again.new, again.done) == (5, 0, 5)


def test_generations_file_scoring(tasks_file, render_pool, db_path, tmp_path):
    nonce = "gen-scoring"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE, "c": STILL_TEXT, "d": CIRCLE}, nonce=nonce)
    generations = write_jsonl(
        tmp_path / "gens.jsonl",
        [
            {"id": "a", "code": scene(CIRCLE, nonce)},  # the reference itself
            {"id": "b", "code": scene(CIRCLE, nonce)},  # another task's scene
            {"id": "c", "code": scene(BROKEN, nonce)},  # does not render
            {"id": "zzz", "code": "print(1)"},  # no such task
        ],  # d: no generation
    )
    summary = run_bench(
        str(dataset), "", generations=generations, db=db_path, pool=render_pool, **NO_EMBEDDERS
    )
    assert summary.status == "done" and summary.done == 4
    assert summary.model == f"generations:{generations.resolve()}"
    assert summary.unknown_generation_ids == ["zzz"] and summary.missing_generations == 1
    assert summary.ok == 2 and summary.rsr == 0.5
    with Store(db_path) as store:
        rows = {r["task_id"]: r for r in store.results(summary.run_id)}
    a, b, c, d = rows["a"], rows["b"], rows["c"], rows["d"]
    assert a["ok"] and a["vs"] == pytest.approx(1.0) and a["fidelity"] == pytest.approx(1.0)
    assert b["ok"] and b["fidelity"] < 0.9 and b["fidelity"] < a["fidelity"]
    assert b["vs"] is not None and 0.0 <= b["vs"] <= 1.0
    assert b["codebleu"] < 1.0 and b["ast_distance"] > 0.0
    assert not c["ok"] and c["vs"] == 0.0 and c["fidelity"] == 0.0  # failed render -> 0
    assert c["error_category"] == "name" and c["ref_ok"] is True
    assert not d["ok"] and d["error_category"] == "no_generation" and d["vs"] == 0.0
    by_type = summary.stats["by_type"]
    assert by_type["Basic"]["n"] == 2 and by_type["Intermediate"]["n"] == 2
    assert summary.mean_vs == pytest.approx((1.0 + b["vs"] + 0.0 + 0.0) / 4)


def test_malformed_generations_file_is_one_clear_error(tasks_file, tmp_path, db_path):
    dataset = tasks_file({"a": CIRCLE})
    bad = tmp_path / "gens.jsonl"
    bad.write_text('{"id": "a", "code": "x"}\n{"id": "b", "code": 3}\n')
    with pytest.raises(BenchError, match=r"gens.jsonl:2.*code"):
        run_bench(str(dataset), "", generations=bad, db=db_path, **NO_EMBEDDERS)
    with pytest.raises(BenchError, match="not found"):
        run_bench(str(dataset), "", generations=tmp_path / "none.jsonl", db=db_path)
    with pytest.raises(BenchError, match="dataset file not found"):
        run_bench(str(tmp_path / "missing.jsonl"), "reference", db=db_path)
    with pytest.raises(BenchError, match="unknown strategy"):
        run_bench(str(dataset), "scripted:x.jsonl", "best-of-n", db=db_path)
    with pytest.raises(BenchError, match="model nope:x"):
        run_bench(str(dataset), "nope:x", db=db_path, **NO_EMBEDDERS)
    assert not db_path.exists() or Store(db_path).runs() == []  # nothing half-made


def test_scripted_model_with_ritl_and_an_infra_error(tasks_file, render_pool, db_path, tmp_path):
    nonce = "scripted-run"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE}, nonce=nonce)
    usage = {"prompt_tokens": 10, "completion_tokens": 5}
    replies = script(
        tmp_path / "replies.jsonl",
        {"content": reply(scene(BROKEN, nonce)), "usage": usage},  # a, round 1: fails
        {"content": reply(scene(CIRCLE, nonce)), "usage": usage},  # a, round 2: fixed
        {"error": "connection", "message": "server went away"},  # b: infrastructure
    )
    common = dict(db=db_path, pool=render_pool, workers=1, rounds=1, **NO_EMBEDDERS)
    first = run_bench(str(dataset), f"scripted:{replies}", "ritl", label="base", **common)
    assert first.status == "incomplete" and first.infra_errors == 1 and first.done == 1
    with Store(db_path) as store:
        rows = {r["task_id"]: r for r in store.results(first.run_id, heavy=True)}
    a, b = rows["a"], rows["b"]
    assert a["ok"] and a["rounds"] == 2 and a["vs"] == pytest.approx(1.0)
    assert a["total_tokens"] == 30 and a["prompt_tokens"] == 20
    assert len(a["transcript"]["rounds"]) == 2 and a["transcript"]["status"] == "success"
    assert b["infra_error"] and not b["ok"] and b["error_stage"] == "llm"
    assert "server went away" in b["error_message"] and b["error_category"] == "infra"
    # Same command after the server is back: only b is redone; a keeps its row.
    script(tmp_path / "replies.jsonl", {"content": reply(scene(SQUARE, nonce))})
    second = run_bench(str(dataset), f"scripted:{replies}", "ritl", label="base", **common)
    assert second.run_id == first.run_id and second.resumed
    assert (second.skipped, second.new, second.status) == (1, 1, "done")
    assert second.ok == 2 and second.infra_errors == 0
    # A different label is a different run; different sampling options cannot resume this one.
    other = run_bench(str(dataset), f"scripted:{replies}", "ritl", label="sft", limit=1, **common)
    assert other.run_id != first.run_id
    with pytest.raises(BenchError, match="started with generation"):
        run_bench(
            str(dataset),
            f"scripted:{replies}",
            "ritl",
            label="base",
            options=GenerationOptions(temperature=0.1),
            **common,
        )


def test_repeated_infra_errors_stop_the_run(tasks_file, render_pool, db_path, tmp_path):
    dataset = tasks_file({k: CIRCLE for k in "abcdef"})
    replies = script(tmp_path / "down.jsonl", *[{"error": "connection"}] * 6)
    with pytest.raises(BenchError, match="repeated infrastructure errors") as info:
        run_bench(
            str(dataset),
            f"scripted:{replies}",
            db=db_path,
            pool=render_pool,
            workers=1,
            max_consecutive_infra=2,
            **NO_EMBEDDERS,
        )
    summary = info.value.summary
    assert summary.status == "aborted" and summary.done == 0
    assert summary.infra_errors == 2  # stopped: the other tasks were not tried
    with Store(db_path) as store:
        assert store.get_run(summary.run_id).status == "aborted"


def test_scorer_decodes_a_reference_once(render_pool):
    circle = render_pool.submit(scene(CIRCLE, "scorer"), trace=True).result()
    square = render_pool.submit(scene(SQUARE, "scorer"), trace=True).result()
    assert circle.ok and square.ok and circle.traces
    scorer = Scorer(frames=FrameCache())
    code = scene(CIRCLE, "scorer")
    same = scorer.score(code, circle, code, circle)
    again = scorer.score(code, circle, code, circle)
    assert scorer.frames.decodes == 1  # one file, decoded once for VS, fidelity and both calls
    assert same["vs"] == pytest.approx(1.0) and same["fidelity"] == pytest.approx(1.0)
    assert again["vs"] == same["vs"]
    other = scorer.score(code, circle, scene(SQUARE, "scorer"), square)
    assert scorer.frames.decodes == 2  # only the generation was decoded
    assert other["fidelity"] < same["fidelity"]
    assert other["fidelity_components"]["trace"] is not None  # both renders had traces


def test_embedders_flow_into_the_rows(tasks_file, render_pool, db_path, tmp_path):
    pytest.importorskip("transformers")
    from manimatic.metrics.code import tiny_code_embedder
    from manimatic.metrics.embedders import tiny_clip_embedder

    dataset = tasks_file({"a": CIRCLE})
    summary = run_bench(
        str(dataset),
        "reference",
        db=db_path,
        pool=render_pool,
        image_embedder=tiny_clip_embedder(),
        code_embedder=tiny_code_embedder(),
    )
    with Store(db_path) as store:
        (row,) = store.results(summary.run_id)
        run = store.get_run(summary.run_id)
    assert row["semantic_term"] == pytest.approx(1.0) and row["vs"] == pytest.approx(1.0)
    assert row["codebert"] == pytest.approx(1.0) and row["cbb"] == pytest.approx(1.0)
    assert run.options["image_embedder"] and run.options["code_embedder"]
    # The embedders are part of the run's identity: without them it is another run, so SSIM-only
    # rows never join the SSIM x CLIP ones under one mean VS.
    assert run.identity["embedders"]["image"] == run.options["image_embedder"]
    plain = run_bench(str(dataset), "reference", db=db_path, pool=render_pool, **NO_EMBEDDERS)
    assert plain.run_id != summary.run_id and not plain.resumed
    # Each row keeps its task's prompt (the report reads it from there).
    assert row["prompt"] == "Draw what a shows."


def test_score_cache_serves_the_same_scores(render_pool, tmp_path) -> None:
    from manimatic.bench.scoring import ScoreCache

    circle = render_pool.submit(scene(CIRCLE, "cache"), trace=True).result()
    square = render_pool.submit(scene(SQUARE, "cache"), trace=True).result()
    cache = ScoreCache(tmp_path / "scores")
    first = Scorer(cache=cache).score(
        scene(CIRCLE, "cache"), circle, scene(SQUARE, "cache"), square
    )
    second = Scorer(cache=cache).score(
        scene(CIRCLE, "cache"), circle, scene(SQUARE, "cache"), square
    )
    assert cache.hits == 1 and second["timings"] == {"score_cached": True}
    for key in ("vs", "fidelity", "codebleu", "ast_distance", "ok", "ref_ok"):
        assert second[key] == first[key]
    other = Scorer(cache=cache).score(
        scene(CIRCLE, "cache"), circle, scene(CIRCLE, "cache"), circle
    )
    assert cache.hits == 1 and other["vs"] == pytest.approx(1.0)  # another pair: computed


def test_a_bug_stops_the_run_as_a_bug_not_an_infra_error(
    tasks_file, render_pool, db_path, monkeypatch
):
    """A bug is not counted as an infrastructure error (it would leave RSR's denominator) nor as
    a failed answer: the task stores nothing, the traceback is logged, the run says so."""
    from manimatic.bench import BenchBug

    dataset = tasks_file({"a": CIRCLE, "b": SQUARE})

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("a bug in scoring")

    monkeypatch.setattr(Scorer, "score", broken)
    with pytest.raises(BenchBug, match="bug in manimatic.*ZeroDivisionError") as info:
        run_bench(
            str(dataset), "reference", db=db_path, pool=render_pool, workers=1, **NO_EMBEDDERS
        )
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    log = Path(info.value.log).read_text()
    assert "Traceback" in log and "a bug in scoring" in log
    with Store(db_path) as store:
        (run,) = store.runs()
        assert run.status == "failed" and store.results(run.id) == []
    monkeypatch.undo()  # fixed: the same command resumes and does every task
    summary = run_bench(str(dataset), "reference", db=db_path, pool=render_pool, **NO_EMBEDDERS)
    assert summary.resumed and summary.done == 2 and summary.infra_errors == 0

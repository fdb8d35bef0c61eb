"""Results as pandas DataFrames: bench runs and results, and any list of results."""

from __future__ import annotations

from bench_scenes import BROKEN, CIRCLE, NO_EMBEDDERS, SQUARE, scene, write_jsonl

from manimatic.bench import results_frame, run_bench, runs_frame
from manimatic.bench.export import result_row
from manimatic.bench.store import Store
from manimatic.render import RenderResult
from manimatic.tables import to_dataframe


def test_results_and_runs_as_dataframes(tasks_file, render_pool, tmp_path, db_path):
    nonce = "frames"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE}, nonce=nonce)
    gens = write_jsonl(
        tmp_path / "g.jsonl",
        [{"id": "a", "code": scene(CIRCLE, nonce)}, {"id": "b", "code": scene(BROKEN, nonce)}],
    )
    summary = run_bench(str(dataset), "", generations=gens, db=db_path, pool=render_pool,
                        **NO_EMBEDDERS)  # fmt: skip
    frame = results_frame(summary.run_id[:6], db=db_path)
    assert list(frame.index) == ["a", "b"] and frame.attrs["run_id"] == summary.run_id
    assert frame.loc["a", "ok"] == 1 and frame.loc["b", "error_category"] == "name"
    with Store(db_path) as store:
        same = [result_row(r) for r in store.results(summary.run_id)]
    assert set(frame.columns) == set(same[0]) - {"id"}  # the columns of `bench results --json`
    runs = runs_frame(db_path)
    assert list(runs["id"]) == [summary.run_id] and runs.loc[0, "rsr"] == 0.5


def test_any_results_to_a_dataframe():
    results = [
        RenderResult(ok=True, file="a.py", scenes=["A"], outputs=["/x/A.mp4"]),
        RenderResult.failure("execute", "name", "NameError", "boom", file="b.py", line=3),
    ]
    frame = to_dataframe(results)
    assert list(frame["ok"]) == [True, False]
    assert frame.loc[1, "error.category"] == "name" and frame.loc[1, "error.line"] == 3

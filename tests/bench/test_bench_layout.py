"""Layout findings in the benchmark: stored per task, counted per condition, in the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_scenes import CIRCLE, NO_EMBEDDERS, scene, write_jsonl

from manimatic.bench import Store, run_bench
from manimatic.bench.condition import Condition
from manimatic.bench.layout import findings_stats, findings_text
from manimatic.bench.migrations import MIGRATIONS
from manimatic.bench.report import build_report, render_markdown
from manimatic.bench.report_html import render_html

OVERLAP = (
    "from manim import *\n\n\nclass BenchOverlap(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        a = Text('first words', font_size=40)\n"
    "        b = Text('second words', font_size=40).shift(0.1 * DOWN)\n"
    "        self.add(a, b)\n        self.wait(0.6)\n"
)


def test_findings_stats_count_tasks_per_kind() -> None:
    rows = [
        {"findings": [{"kind": "overlap"}, {"kind": "overlap"}, {"kind": "tiny_text"}]},
        {"findings": []},
        {"findings": None},  # did not render
        {},
    ]
    stats = findings_stats(rows)
    assert stats["judged"] == 2 and stats["flagged"] == 1 and stats["findings"] == 3
    assert stats["flagged_fraction"] == pytest.approx(0.5)
    assert stats["by_kind"] == {
        "off_frame": 0, "overlap": 1, "tiny_text": 1, "invisible": 0, "empty_frame": 0,
    }  # fmt: skip
    assert findings_text(rows[0]["findings"]) == "overlap x2, tiny_text"
    assert findings_text([]) == "none" and findings_text(None) == "-"


def test_migration_three_adds_the_findings_column(tmp_path: Path) -> None:
    assert MIGRATIONS[2][0] == 3 and "findings" in MIGRATIONS[2][2]
    with Store(tmp_path / "b.sqlite") as store:
        columns = {r[1] for r in store._conn.execute("PRAGMA table_info(results)").fetchall()}
        assert "findings" in columns and store.schema_version() == 3


def test_critic_is_a_checked_condition_field() -> None:
    from manimatic.bench.answers import BenchError

    assert Condition().critic == 0
    assert Condition(critic=2).critic == 2
    with pytest.raises(BenchError, match="critic must be"):
        Condition(critic=-1)


@pytest.mark.slow
def test_reference_run_stores_findings_and_the_report_counts_them(
    render_pool, db_path: Path, tmp_path: Path
) -> None:
    rows = [
        {"id": "clean", "prompt": "A circle.", "reference_code": scene(CIRCLE, "layout")},
        {"id": "overlap", "prompt": "Two texts.", "reference_code": scene(OVERLAP, "layout")},
    ]
    dataset = write_jsonl(tmp_path / "tasks.jsonl", rows)
    summary = run_bench(str(dataset), "reference", db=db_path, pool=render_pool, **NO_EMBEDDERS)
    assert summary.stats["findings"]["judged"] == 2
    assert summary.stats["findings"]["flagged"] == 1
    assert summary.stats["findings"]["by_kind"]["overlap"] == 1
    with Store(db_path) as store:
        stored = {r["task_id"]: r for r in store.results(summary.run_id)}
        assert stored["clean"]["findings"] == []
        assert [f["kind"] for f in stored["overlap"]["findings"]] == ["overlap"]
        assert stored["overlap"]["timings"]["critic_s"] > 0
        assert store.verify().ok
        report = build_report(store, [summary.run_id], frames=0)
    layout = report.tables["layout"]
    assert layout.columns[:4] == ["Condition", "judged", "flagged", "flagged %"]
    assert [c.text for c in layout.rows[0][1:4]] == ["2", "1", "50.0%"]
    markdown = render_markdown(report, lambda name, data: name)
    assert "Layout findings on the rendered answers" in markdown
    assert "layout overlap" in markdown  # the per-task view names the task's findings
    assert 'id="layout"' in render_html(report)


@pytest.mark.slow
def test_ritl_with_critic_is_its_own_condition(render_pool, db_path: Path, tmp_path: Path) -> None:
    rows = [{"id": "t", "prompt": "Two texts.", "reference_code": scene(OVERLAP, "critic")}]
    dataset = write_jsonl(tmp_path / "tasks.jsonl", rows)
    fixed = scene(OVERLAP, "critic").replace("shift(0.1 * DOWN)", "shift(1.5 * DOWN)")
    replies = write_jsonl(
        tmp_path / "replies.jsonl",
        [
            {"content": f"<CODE>```python\n{scene(OVERLAP, 'critic')}```</CODE>"},
            {"content": f"<CODE>```python\n{fixed}```</CODE>"},
        ],
    )
    summary = run_bench(
        str(dataset), f"scripted:{replies}", "ritl", critic=1, rounds=0, db=db_path,
        pool=render_pool, workers=1, **NO_EMBEDDERS,
    )  # fmt: skip
    with Store(db_path) as store:
        run = store.get_run(summary.run_id)
        (row,) = store.results(summary.run_id, heavy=True)
    assert run.strategy_args == {"rounds": 0, "critic": 1}
    assert row["ok"] and row["rounds"] == 2 and row["findings"] == []
    assert [r["kind"] for r in row["transcript"]["rounds"]] == ["initial", "critic"]
    assert summary.stats["findings"]["flagged"] == 0

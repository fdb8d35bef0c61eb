"""Run summaries and comparisons, hand-checked on small rows."""

from __future__ import annotations

import pytest

from manimatic.bench.analysis import compare, summarize


def r(task: str, ok: bool, vs=None, *, ref_ok=True, infra=False, type_="Basic", **more) -> dict:
    return {
        "task_id": task,
        "ok": ok,
        "vs": vs,
        "fidelity": vs,
        "ref_ok": ref_ok,
        "infra_error": infra,
        "tags": {"type": type_},
        "error_category": None if ok else ("infra" if infra else "name"),
        **more,
    }


def test_summary_excludes_reference_failures_from_visual_means_and_infra_from_all() -> None:
    rows = [
        r("a", True, 0.9, codebleu=0.5, rounds=1),
        r("b", False, 0.0, codebleu=0.1, rounds=3, type_="Advanced"),
        r("c", False, None, ref_ok=False, codebleu=0.3, rounds=1),  # reference failed
        r("d", False, None, infra=True),  # not scored at all
    ]
    stats = summarize(rows)
    overall = stats["overall"]
    assert (overall["n"], overall["ok"], overall["infra_errors"]) == (3, 1, 1)
    assert overall["rsr"] == pytest.approx(1 / 3)
    assert overall["ref_failures"] == 1
    assert overall["means"]["vs"] == pytest.approx((0.9 + 0.0) / 2)  # c left out
    assert overall["counts"]["vs"] == 2
    assert overall["means"]["codebleu"] == pytest.approx((0.5 + 0.1 + 0.3) / 3)
    assert overall["means"]["rounds"] == pytest.approx(5 / 3)
    assert stats["by_type"]["Advanced"]["n"] == 1 and stats["by_type"]["Basic"]["n"] == 2
    assert stats["errors"] == {"name": 2, "infra": 1}
    assert any("did not render" in n for n in stats["notes"])
    assert any("infrastructure" in n for n in stats["notes"])


def test_compare_pairs_common_tasks() -> None:
    a = [r("x", True, 0.8), r("y", False, 0.0), r("z", True, 0.5), r("only_a", True, 1.0)]
    b = [r("x", False, 0.0), r("y", True, 0.6), r("z", True, 0.7), r("w", False, 0.0)]
    diff = compare("A", a, "B", b)
    assert diff.common == 3 and diff.only_a == ["only_a"] and diff.only_b == ["w"]
    assert diff.ok_to_fail == ["x"] and diff.fail_to_ok == ["y"]
    assert diff.metrics["rsr"] == {"a": pytest.approx(2 / 3), "b": pytest.approx(2 / 3),
                                   "delta": pytest.approx(0.0), "n": 3,
                                   "delta_pp": pytest.approx(0.0)}  # fmt: skip
    assert diff.metrics["vs"]["delta"] == pytest.approx((0.0 + 0.6 + 0.7 - 0.8 - 0.0 - 0.5) / 3)
    assert [c["id"] for c in diff.vs_changes] == ["x", "z", "y"]  # largest drop first

"""Datasets: ManimBench from the shared parquet files, our JSONL format with malformed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scenes import CIRCLE, SQUARE, scene, write_jsonl

from manimatic.bench.datasets import DatasetError, load_dataset


def test_manimbench_dir_test_split(manimbench_dir: Path) -> None:
    ts = load_dataset(str(manimbench_dir), split="test")
    assert len(ts) == 100 and ts.problems == []
    first = ts.tasks[0]
    assert first.id == "manimbench-test-000"
    assert first.tags["split"] == "test" and first.tags["type"] in {
        "Basic",
        "Intermediate",
        "Advanced",
    }
    assert first.prompt and "class" in first.reference_code
    assert len({t.id for t in ts.tasks}) == 100
    counts = {k: sum(t.tags["type"] == k for t in ts.tasks) for k in ("Basic", "Intermediate")}
    assert counts == {"Basic": 60, "Intermediate": 35}  # the README's numbers


def test_ids_are_stable_across_files_filters_and_limits(manimbench_dir: Path) -> None:
    from_split = load_dataset(str(manimbench_dir / "manim_sft_dataset_test_v2.parquet"))
    from_all = load_dataset(str(manimbench_dir / "manim_sft_dataset_v2.parquet"), split="test")
    assert [t.id for t in from_split.tasks] == [t.id for t in from_all.tasks]
    assert from_split.content_hash() == from_all.content_hash()
    advanced = load_dataset(str(manimbench_dir), types=["advanced"])  # case-insensitive
    assert len(advanced) == 5 and all(t.tags["type"] == "Advanced" for t in advanced.tasks)
    by_id = from_split.by_id()
    for task in advanced.tasks:  # a filter never renumbers
        assert by_id[task.id].reference_code == task.reference_code
    limited = load_dataset(str(manimbench_dir), types=["Basic"], limit=3)
    assert [t.id for t in limited.tasks] == [
        t.id for t in from_split.tasks if t.tags["type"] == "Basic"
    ][:3]


def test_splits_and_the_manimbench_spec(manimbench_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MANIMBENCH_DIR", str(manimbench_dir))
    assert len(load_dataset("manimbench", split="train")) == 316
    everything = load_dataset("manimbench", split="all")
    assert len(everything) == 416
    assert {t.tags["split"] for t in everything.tasks} == {"train", "test"}
    assert everything.tasks[0].id.startswith("manimbench-train-")


def test_manimbench_offline_without_local_copy_is_one_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("MANIMBENCH_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")  # no hub cache to fall back on
    with pytest.raises(DatasetError) as info:
        load_dataset("manimbench")
    message = str(info.value)
    assert "SuienR/ManimBench-v1" in message and "MANIMBENCH_DIR" in message
    assert "online" in message


def test_bad_arguments(manimbench_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset(str(manimbench_dir), split="dev")
    with pytest.raises(DatasetError, match="unknown task type.*Basic"):
        load_dataset(str(manimbench_dir), types=["Expert"])
    with pytest.raises(DatasetError, match="limit"):
        load_dataset(str(manimbench_dir), limit=0)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(str(tmp_path / "missing.jsonl"))
    (tmp_path / "tasks.txt").write_text("x")
    with pytest.raises(DatasetError, match="unsupported"):
        load_dataset(str(tmp_path / "tasks.txt"))


def test_csv_with_manimbench_columns(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "mine.csv"
    pd.DataFrame(
        {
            "Reviewed Description": ["A circle.", "A square.", "", "A dot."],
            "Code": [scene(CIRCLE), scene(SQUARE), scene(CIRCLE), scene(CIRCLE)],
            "Type": ["Basic", "Basic", "Basic", "Advanced"],
            "Split": ["test", "train", "test", "test"],
        }
    ).to_csv(path, index=False)
    ts = load_dataset(str(path), split="test")
    assert [t.id for t in ts.tasks] == ["manimbench-test-000", "manimbench-test-002"]
    assert len(ts.problems) == 1  # the empty description, by row
    assert ts.problems[0].line is None and "row 2" in ts.problems[0].message


def test_jsonl_malformed_rows_are_reported_and_valid_rows_load(tmp_path: Path) -> None:
    good = {"id": "a", "prompt": "A circle.", "reference_code": scene(CIRCLE), "tags": {}}
    lines = [
        json.dumps(good).encode(),  # 1 ok
        b"{not json",  # 2
        json.dumps({"id": "b", "prompt": "x"}).encode(),  # 3 missing reference_code
        json.dumps({**good, "id": 7}).encode(),  # 4 id not a string
        json.dumps({**good, "id": "a"}).encode(),  # 5 duplicate of line 1
        b"",  # 6 blank: skipped silently
        '{"id": "c", "prompt": "caf\xe9", "reference_code": "x"}'.encode("latin-1"),  # 7
        json.dumps([1, 2]).encode(),  # 8 not an object
        json.dumps({**good, "id": "d", "tags": "Basic"}).encode(),  # 9 tags not an object
        json.dumps({**good, "id": "e", "prompt": "  "}).encode(),  # 10 empty prompt
        json.dumps({**good, "id": "f", "tags": {"type": "Basic"}}).encode(),  # 11 ok
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    ts = load_dataset(str(path))
    assert [t.id for t in ts.tasks] == ["a", "f"]
    found = {p.line: p.message for p in ts.problems}
    assert set(found) == {2, 3, 4, 5, 7, 8, 9, 10}
    assert all(p.file == str(path.resolve()) for p in ts.problems)
    assert "JSON" in found[2]
    assert "reference_code" in found[3]
    assert "'id' must be a string" in found[4]
    assert "duplicate id 'a'" in found[5] and "line 1" in found[5]
    assert "UTF-8" in found[7]
    assert "object" in found[8]
    assert "tags" in found[9]
    assert "empty" in found[10]
    assert ts.tasks[1].tags["type"] == "Basic" and ts.tasks[1].tags["sha"]


def test_jsonl_split_tags(tmp_path: Path) -> None:
    rows = [
        {"id": "t", "prompt": "p", "reference_code": "c", "tags": {"split": "test"}},
        {"id": "r", "prompt": "p", "reference_code": "c", "tags": {"split": "train"}},
        {"id": "n", "prompt": "p", "reference_code": "c"},  # no split tag: every split
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    assert [t.id for t in load_dataset(str(path)).tasks] == ["t", "n"]
    assert [t.id for t in load_dataset(str(path), split="train").tasks] == ["r", "n"]
    assert len(load_dataset(str(path), split="all")) == 3

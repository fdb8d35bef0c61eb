"""The SQLite store: migrations, atomic idempotent inserts, run lookup, verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from manimatic.bench.store import (
    MIGRATIONS,
    RunRecord,
    Store,
    StoreError,
    content_hash,
    run_id_for,
)


def make_run(store: Store, label: str = "base", **extra) -> RunRecord:
    identity = {"dataset": "d", "model": "m", "strategy": {"name": "vanilla"}, "label": label}
    record = RunRecord(
        id=run_id_for(identity),
        identity=identity,
        created="2026-01-01T00:00:00+00:00",
        updated="2026-01-01T00:00:00+00:00",
        status="running",
        format_version=1,
        dataset_spec="d",
        dataset_split="test",
        dataset_filters={"types": None},
        dataset_hash="h",
        dataset_source="d [split=test]",
        total=3,
        model="m",
        strategy="vanilla",
        strategy_args={},
        label=label,
        options={},
        **extra,
    )
    run, created = store.get_or_create_run(record)
    assert created
    return run


def row(run_id: str, task_id: str, **fields) -> dict:
    code = fields.pop("code", "x = 1\n")
    base = {
        "run_id": run_id,
        "task_id": task_id,
        "task_hash": "t" + task_id,
        "ok": True,
        "infra_error": False,
        "ref_ok": True,
        "vs": 1.0,
        "fidelity": 1.0,
        "codebleu": 1.0,
        "rounds": 1,
        "code": code,
        "code_hash": content_hash(code),
        "tags": {"type": "Basic"},
    }
    base.update(fields)
    return base


def test_migrations_apply_on_a_fresh_db_and_are_idempotent(db_path: Path) -> None:
    store = Store(db_path)
    assert store.schema_version() == MIGRATIONS[-1][0]
    store.close()
    with Store(db_path) as again:
        assert again.migrate() == []  # nothing left to apply
        assert again.schema_version() == MIGRATIONS[-1][0]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in conn.execute("SELECT version FROM migrations")]
    assert versions == [v for v, _, _ in MIGRATIONS]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "results", "migrations"} <= tables


def test_a_newer_database_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO migrations VALUES (999, 'from the future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable"):
        Store(path)


def test_results_are_unique_per_run_and_infra_rows_are_retried(db_path: Path) -> None:
    with Store(db_path) as store:
        run = make_run(store)
        assert store.add_result(row(run.id, "a"))
        assert not store.add_result(row(run.id, "a", vs=0.5))  # a second insert is ignored
        assert store.results(run.id)[0]["vs"] == 1.0
        infra = row(run.id, "b", ok=False, infra_error=True, vs=None, error_category="infra")
        assert store.add_result(infra)
        assert store.done_task_ids(run.id) == {"a"}  # infra errors are not done
        assert store.done_task_ids(run.id, include_infra=True) == {"a", "b"}
        assert store.add_result(row(run.id, "b", vs=0.25))  # the retry replaces the infra row
        assert not store.add_result(infra)  # ...and an infra error never replaces a result
        rows = {r["task_id"]: r for r in store.results(run.id)}
        assert len(rows) == 2 and rows["b"]["vs"] == 0.25 and rows["b"]["infra_error"] is False
        assert rows["a"]["tags"] == {"type": "Basic"}  # JSON columns come back decoded
        heavy = store.results(run.id, heavy=True)
        assert heavy[0]["code"] == "x = 1\n" and "code" not in store.results(run.id)[0]
        counts = store.counts()[run.id]
        assert counts["done"] == 2 and counts["rsr"] == 1.0
        assert counts["mean_vs"] == pytest.approx((1.0 + 0.25) / 2)
        with pytest.raises(ValueError, match="unknown result column"):
            store.add_result({**row(run.id, "c"), "bogus": 1})


def test_get_run_by_id_prefix_and_errors(db_path: Path) -> None:
    with Store(db_path) as store:
        a = make_run(store, "base")
        b = make_run(store, "sft")
        assert store.get_run(a.id).label == "base"
        assert store.get_run(b.id[:6]).label == "sft"
        with pytest.raises(StoreError, match="no run 'zzz'"):
            store.get_run("zzz")
        again, created = store.get_or_create_run(a)
        assert not created and again.id == a.id
        assert [r.id for r in store.runs()] == [a.id, b.id]  # creation order


def test_run_record_round_trip_and_live_status(db_path: Path) -> None:
    with Store(db_path) as store:
        run = make_run(store, git_commit="abc", git_dirty=True, host="elsewhere", pid=1)
        back = store.get_run(run.id)
        assert back.identity == run.identity and back.git_dirty is True
        assert back.live_status == "running"  # another host: cannot tell, trust the record
        store.update_run(run.id, status="done", stats={"overall": {"n": 3}})
        back = store.get_run(run.id)
        assert back.status == "done" and back.stats == {"overall": {"n": 3}}


def test_verify_finds_inconsistent_records(db_path: Path) -> None:
    with Store(db_path) as store:
        run = make_run(store)
        store.add_result(row(run.id, "a"))
        store.add_result(row(run.id, "b"))
        report = store.verify()
        assert report.ok and report.runs == 1 and report.results == 2
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE results SET vs = 1.5 WHERE task_id = 'a'")
    conn.execute("UPDATE results SET code = 'changed' WHERE task_id = 'b'")
    conn.execute("UPDATE runs SET label = 'x', identity = '{\"other\": 1}'")
    conn.commit()
    conn.close()
    with Store(db_path) as store:
        report = store.verify()
    assert not report.ok
    text = "\n".join(report.problems)
    assert "vs = 1.5 outside [0, 1]" in text
    assert "code_hash does not match" in text
    assert "not the hash of its identity" in text


def test_db_under_a_regular_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match=r"notes\.txt is a file, not a directory; pass --db"):
        Store(tmp_path / "notes.txt" / "bench.sqlite")


def test_read_only_database_is_one_clear_error(db_path: Path, monkeypatch) -> None:
    with Store(db_path) as store:
        make_run(store)
    connect = sqlite3.connect

    def read_only(path, *args, **kwargs):  # what a read-only file or mount gives SQLite
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    with pytest.raises(StoreError) as info, Store(db_path) as store:
        store.update_run(store.runs()[0].id, status="done")
    assert "is read-only" in str(info.value) and "--db" in str(info.value)


def test_full_disk_is_one_clear_error(db_path: Path) -> None:
    with Store(db_path) as store:
        record = make_run(store)
        # a database that may not grow: SQLite's own "database or disk is full"
        store._conn.execute("PRAGMA max_page_count = " + str(
            store._conn.execute("PRAGMA page_count").fetchone()[0]
        ))  # fmt: skip
        with pytest.raises(StoreError, match="is full .*free some space"):
            store.update_run(record.id, status="x" * 200_000)

"""The benchmark store: one SQLite file with runs and their per-task results.

    store = Store("bench.sqlite")            # creates the file, applies migrations
    run = store.get_or_create_run(identity, record)
    store.add_result(run.id, row)            # one transaction per task
    store.results(run.id), store.runs(), store.verify()

Design:

* Numbered, forward-only migrations (`MIGRATIONS`), each applied in one transaction together with
  its row in `migrations`; opening a store applies what is missing, so it is idempotent. A database
  newer than this code is refused rather than misread.
* WAL journal with `synchronous=FULL`: a committed result survives `kill -9` (and power loss), and
  readers (`bench runs` in another shell) never block the writer.
* A run's id is a content hash of its identity (dataset spec, split and filters, model, strategy
  and arguments, label), so running the same command again finds the same run and resumes it.
* `results` has UNIQUE(run_id, task_id). A row is inserted in its own transaction; a second
  insert of the same task is ignored, except that a row recorded as an infrastructure error (the
  model server was down...) is replaced by the retry. So a row is never lost nor duplicated.
* `verify()` checks SQLite's integrity, the migrations, and that every record is self-consistent.

The rows themselves (run records, result columns, hashes, checks) live in `bench.store_rows`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from manimatic import paths, sqlite_db
from manimatic.bench.migrations import MIGRATIONS
from manimatic.bench.store_rows import (
    DB_NAME,
    FORMAT_VERSION,
    JSON_RESULT_COLUMNS,
    RESULT_COLUMNS,
    RUN_STATUSES,
    UNIT_METRICS,
    RunRecord,
    VerifyReport,
    _check_result,
    _check_run,
    _result_from_row,
    _run_from_row,
    _run_to_row,
    _to_sql,
    canonical_json,
    content_hash,
    run_id_for,
)
from manimatic.provenance import utc_now as now_iso

# The rows' names stay importable from here, where they lived before `store_rows` was split off.
__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "JSON_RESULT_COLUMNS",
    "MIGRATIONS",
    "RESULT_COLUMNS",
    "RUN_STATUSES",
    "UNIT_METRICS",
    "RunRecord",
    "Store",
    "StoreError",
    "VerifyReport",
    "canonical_json",
    "content_hash",
    "default_db_path",
    "explain_sqlite_error",
    "now_iso",
    "run_id_for",
]


class StoreError(RuntimeError):
    """The database cannot be used (newer schema, unknown or ambiguous run id...)."""


def explain_sqlite_error(path: Path, exc: sqlite3.Error) -> str:
    """One line on why SQLite refused, with the fix (read-only, full disk, cannot open...)."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return (
            f"the benchmark database {path} is read-only ({exc}): make it writable, or copy it "
            "and pass --db COPY"
        )
    if "full" in text:
        return f"the disk holding {path} is full ({exc}): free some space or pass --db elsewhere"
    if "unable to open" in text:
        blocker = paths.file_in_the_way(path.parent)
        if blocker is not None:
            return f"cannot open {path}: {blocker} is a file, not a directory; pass --db elsewhere"
        return f"cannot open {path} ({exc}): is its directory writable? pass --db elsewhere"
    return f"{path}: not a usable benchmark database ({exc})"


def default_db_path() -> Path:
    """The default database: `bench.sqlite` in the user data directory."""
    return paths.data_dir() / DB_NAME


class Store:
    """A benchmark database (created and migrated on open).

    Args:
        path: The SQLite file; None for the default in the user data directory.

    Raises:
        StoreError: The file is not a database or was written by a newer manimatic.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        blocker = paths.file_in_the_way(self.path.parent)
        if blocker is not None:
            raise StoreError(
                f"cannot create the database {self.path}: {blocker} is a file, not a "
                "directory; pass --db a path inside a directory"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of {self.path} ({exc.strerror or exc}); "
                "pass --db a path in a writable directory"
            ) from exc
        # One connection shared by the runner's threads; `_lock` serialises its use.
        self._lock = threading.RLock()
        try:
            self._conn = sqlite_db.connect(self.path)
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(explain_sqlite_error(self.path, exc)) from exc

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), holding the store's lock."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._write_error(exc) from exc
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise self._write_error(exc) from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise self._write_error(exc) from exc

    def _write_error(self, exc: sqlite3.OperationalError) -> Exception:
        """A read-only or full database as one clear StoreError; other errors unchanged."""
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text or "full" in text:
            return StoreError(explain_sqlite_error(self.path, exc))
        return exc

    # ------------------------------------------------------------------ migrations

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        with self._lock:
            return sqlite_db.schema_version(self._conn)

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction.

        Returns:
            The versions applied now (empty when up to date).

        Raises:
            StoreError: The database has migrations this code does not know (newer manimatic).
        """
        try:
            return sqlite_db.migrate(
                self._conn, MIGRATIONS, where=str(self.path), transaction=self.transaction
            )
        except sqlite_db.SchemaTooNewError as exc:
            raise StoreError(str(exc)) from None

    # ------------------------------------------------------------------ runs

    def find_run(self, run_id: str) -> RunRecord | None:
        """The run with exactly this id, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_from_row(row) if row is not None else None

    def get_or_create_run(self, record: RunRecord) -> tuple[RunRecord, bool]:
        """The run with this record's identity, created from `record` when there is none.

        Returns:
            (the stored run, whether it was created now).
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (record.id,)).fetchone()
            if row is not None:
                return _run_from_row(row), False
            values = _run_to_row(record)
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", tuple(values.values()))
        return record, True

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of a run (dicts are stored as JSON); `updated` is set too."""
        values = {
            k: (canonical_json(v) if isinstance(v, (dict, list)) else v) for k, v in fields.items()
        }
        values["updated"] = now_iso()
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction() as conn:
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values.values(), run_id))

    def runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM runs ORDER BY created, rowid").fetchall()
        return [_run_from_row(r) for r in rows]

    def get_run(self, ref: str) -> RunRecord:
        """A run by id or unique id prefix.

        Raises:
            StoreError: No run, or several runs, match.
        """
        ref = (ref or "").strip()
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id",
                (ref, _like_prefix(ref)),
            ).fetchall()
        exact = [r for r in rows if r["id"] == ref]
        if exact:
            return _run_from_row(exact[0])
        if not ref or not rows:
            known = ", ".join(r.id for r in self.runs()[-10:]) or "none yet"
            raise StoreError(
                f"no run {ref!r} in {self.path} (runs: {known}); list them with "
                "`manimatic bench runs`."
            )
        if len(rows) > 1:
            ids = ", ".join(r["id"] for r in rows)
            raise StoreError(f"run id {ref!r} is ambiguous ({ids}); give more characters.")
        return _run_from_row(rows[0])

    # ------------------------------------------------------------------ results

    def add_result(self, row: dict[str, Any], *, replace: bool = False) -> bool:
        """Store one task's result in its own transaction.

        An existing row for the same (run, task) is kept, unless it records an infrastructure
        error and this one does not: then the retry replaces it.

        Args:
            row: Column values (see `RESULT_COLUMNS`); dicts and lists are stored as JSON.
            replace: Also replace a stored (failed) result, unless this row is itself an
                infrastructure error (`--retry-failed`: a failure is redone, never lost).

        Returns:
            Whether the row was written.
        """
        unknown = set(row) - set(RESULT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown result column(s): {', '.join(sorted(unknown))}")
        values = {k: _to_sql(row.get(k)) for k in RESULT_COLUMNS}
        values["created"] = values["created"] or now_iso()
        for key, default in (("tags", "{}"), ("timings", "{}"), ("notes", "[]")):
            values[key] = values[key] or default
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k not in ("run_id", "task_id"))
        sql = (
            f"INSERT INTO results ({names}) VALUES ({marks}) "
            f"ON CONFLICT (run_id, task_id) DO UPDATE SET {updates} "
            "WHERE excluded.infra_error = 0 AND (results.infra_error = 1 OR ?)"
        )
        with self.transaction() as conn:
            cursor = conn.execute(sql, (*values.values(), int(replace)))
            return cursor.rowcount > 0

    def failed_task_ids(self, run_id: str, categories: list[str] | None = None) -> set[str]:
        """Tasks whose stored result failed (the answer or the reference render).

        Args:
            run_id: The run.
            categories: Keep failures of these error categories (`timeout`, `name`...;
                `reference` for a failed reference render); None keeps every failure.

        Returns:
            The task ids.
        """
        sql = (
            "SELECT task_id, error_category, ref_ok, ref_render_result FROM results "
            "WHERE run_id = ? AND infra_error = 0 AND (ok = 0 OR ref_ok = 0)"
        )
        with self._lock:
            rows = self._conn.execute(sql, (run_id,)).fetchall()
        wanted = {c.lower() for c in categories} if categories else None
        out = set()
        for task_id, category, ref_ok, ref_json in rows:
            found = {str(category).lower()} if category else set()
            if ref_ok == 0:
                found.add("reference")
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    ref_error = (json.loads(ref_json or "{}") or {}).get("error") or {}
                    if ref_error.get("category"):
                        found.add(str(ref_error["category"]).lower())
            if wanted is None or found & wanted:
                out.add(task_id)
        return out

    def done_task_ids(self, run_id: str, *, include_infra: bool = False) -> set[str]:
        """Tasks of the run with a stored result (infra errors left out unless asked)."""
        sql = "SELECT task_id FROM results WHERE run_id = ?"
        if not include_infra:
            sql += " AND infra_error = 0"
        with self._lock:
            return {r[0] for r in self._conn.execute(sql, (run_id,)).fetchall()}

    def results(self, run_id: str, *, heavy: bool = False) -> list[dict[str, Any]]:
        """A run's results in task-id order, JSON columns decoded.

        Args:
            run_id: The run.
            heavy: Include `code`, `transcript` and the render results (large).
        """
        light = [
            c
            for c in RESULT_COLUMNS
            if c not in ("code", "transcript", "render_result", "ref_render_result")
        ]
        columns = "*" if heavy else ", ".join(light)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {columns} FROM results WHERE run_id = ? ORDER BY task_id", (run_id,)
            ).fetchall()
        return [_result_from_row(r) for r in rows]

    def task_results(self, task_id: str) -> list[dict[str, Any]]:
        """Every run's result for one task, heavy columns included, oldest run first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT results.* FROM results JOIN runs ON runs.id = results.run_id "
                "WHERE results.task_id = ? ORDER BY runs.created, runs.rowid",
                (task_id,),
            ).fetchall()
        return [_result_from_row(r) for r in rows]

    def counts(self) -> dict[str, dict[str, Any]]:
        """Per run: rows, ok, infra errors, reference failures and metric means (SQL aggregates)."""
        sql = """
            SELECT run_id,
                   COUNT(*) AS stored,
                   SUM(infra_error = 0) AS done,
                   SUM(infra_error = 1) AS infra_errors,
                   SUM(ok = 1 AND infra_error = 0) AS ok,
                   SUM(ref_ok = 0 AND infra_error = 0) AS ref_failures,
                   AVG(CASE WHEN infra_error = 0 AND ref_ok = 1 THEN vs END) AS mean_vs,
                   AVG(CASE WHEN infra_error = 0 AND ref_ok = 1 THEN fidelity END)
                       AS mean_fidelity,
                   AVG(CASE WHEN infra_error = 0 THEN codebleu END) AS mean_codebleu,
                   AVG(CASE WHEN infra_error = 0 THEN cbb END) AS mean_cbb,
                   AVG(CASE WHEN infra_error = 0 THEN rounds END) AS mean_rounds
            FROM results GROUP BY run_id
        """
        with self._lock:
            rows = self._conn.execute(sql).fetchall()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            data = dict(r)
            done = data["done"] or 0
            data["rsr"] = (data["ok"] or 0) / done if done else None
            out[data.pop("run_id")] = data
        return out

    # ------------------------------------------------------------------ integrity

    def verify(self) -> VerifyReport:
        """Check the database: SQLite integrity, migrations, and every record's consistency."""
        problems: list[str] = []
        with self._lock:
            conn = self._conn
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if integrity != ["ok"]:
                problems += [f"sqlite integrity: {m}" for m in integrity]
            for r in conn.execute("PRAGMA foreign_key_check").fetchall():
                problems.append(f"foreign key: table {r[0]} row {r[1]} -> {r[2]}")
            versions = [r[0] for r in conn.execute("SELECT version FROM migrations ORDER BY 1")]
            expected = [v for v, _, _ in MIGRATIONS]
            if versions != expected[: len(versions)] or len(versions) != len(expected):
                problems.append(f"migrations applied {versions}, expected {expected}")
            runs = conn.execute("SELECT * FROM runs").fetchall()
            results = conn.execute("SELECT * FROM results").fetchall()
        for row in runs:
            problems += _check_run(row)
        for row in results:
            problems += _check_result(row)
        return VerifyReport(
            ok=not problems,
            problems=problems,
            runs=len(runs),
            results=len(results),
            schema_version=versions[-1] if versions else 0,
        )


# --- queries -------------------------------------------------------------------------------------


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"

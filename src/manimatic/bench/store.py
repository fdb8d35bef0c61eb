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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic import paths, sqlite_db
from manimatic.bench.migrations import MIGRATIONS
from manimatic.provenance import utc_now as now_iso

FORMAT_VERSION = 1  # the layout of a run record and its JSON columns
DB_NAME = "bench.sqlite"
RUN_STATUSES = ("running", "done", "incomplete", "interrupted", "aborted")

# Metric columns of `results`, in [0, 1] when present (checked by `verify`).
UNIT_METRICS = (
    "vs",
    "ssim_term",
    "semantic_term",
    "fidelity",
    "codebleu",
    "codebert",
    "cbb",
    "ast_distance",
)
JSON_RESULT_COLUMNS = (
    "tags",
    "fidelity_components",
    "transcript",
    "render_result",
    "ref_render_result",
    "timings",
    "notes",
    "findings",
)

RESULT_COLUMNS = (
    "run_id", "task_id", "task_hash", "created", "tags", "ok", "infra_error", "error_stage",
    "error_category", "error_message", "ref_ok", "vs", "ssim_term", "semantic_term", "fidelity",
    "fidelity_components", "codebleu", "codebert", "cbb", "ast_distance", "syntax_error",
    "rounds", "code", "code_hash", "transcript", "render_result", "ref_render_result", "timings",
    "prompt_tokens", "completion_tokens", "total_tokens", "notes", "prompt", "findings",
)  # fmt: skip


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


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys) for hashing and for identities."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(value: Any) -> str:
    """sha256 of a string, or of the canonical JSON of any other value."""
    text = value if isinstance(value, str) else canonical_json(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_id_for(identity: dict[str, Any]) -> str:
    """A run's id: the first 12 hex digits of its identity's hash."""
    return content_hash(identity)[:12]


@dataclass
class RunRecord:
    """One row of `runs`, with its JSON columns decoded.

    Attributes mirror the table; `identity`, `dataset_filters`, `strategy_args`, `options` and
    `stats` are dicts.
    """

    id: str
    identity: dict[str, Any]
    created: str
    updated: str
    status: str
    format_version: int
    dataset_spec: str
    dataset_split: str
    dataset_filters: dict[str, Any]
    dataset_hash: str
    dataset_source: str | None
    total: int
    model: str
    strategy: str
    strategy_args: dict[str, Any]
    label: str | None
    options: dict[str, Any]
    manimatic_version: str | None = None
    manim_version: str | None = None
    torch_version: str | None = None
    python_version: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    pid: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        """The evaluation protocol the run used ("manimatic" for runs from before it was stored)."""
        return str(((self.options or {}).get("protocol") or {}).get("name") or "manimatic")

    @property
    def live_status(self) -> str:
        """`status`, except that a `running` run whose process is gone reads `interrupted`."""
        if self.status != "running" or self.host != socket.gethostname() or not self.pid:
            return self.status
        return "running" if _pid_alive(self.pid) else "interrupted"

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["status"] = self.live_status
        data["protocol"] = self.protocol
        return data


@dataclass
class VerifyReport:
    """What `Store.verify` found.

    Attributes:
        ok: No problem found.
        problems: One line per problem.
        runs: Runs checked.
        results: Result rows checked.
        schema_version: The highest migration applied.
    """

    ok: bool
    problems: list[str]
    runs: int
    results: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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


# --- row conversion -------------------------------------------------------------------------------

_RUN_JSON = ("identity", "dataset_filters", "strategy_args", "options", "stats")


def _run_to_row(record: RunRecord) -> dict[str, Any]:
    values = dict(record.__dict__)
    for key in _RUN_JSON:
        values[key] = canonical_json(values[key])
    if values["git_dirty"] is not None:
        values["git_dirty"] = int(bool(values["git_dirty"]))
    return values


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    for key in _RUN_JSON:
        data[key] = json.loads(data[key]) if data[key] else {}
    if data["git_dirty"] is not None:
        data["git_dirty"] = bool(data["git_dirty"])
    return RunRecord(**data)


def _to_sql(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/inf would poison means; a missing value is honest
    return value


def _result_from_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    for key in JSON_RESULT_COLUMNS:
        if key in data and isinstance(data[key], str):
            with contextlib.suppress(ValueError):  # `verify` reports it; reading goes on
                data[key] = json.loads(data[key])
    for key in ("ok", "infra_error", "ref_ok", "syntax_error"):
        if key in data and data[key] is not None:
            data[key] = bool(data[key])
    return data


def _check_run(row: sqlite3.Row) -> list[str]:
    problems = []
    rid = row["id"]
    try:
        identity = json.loads(row["identity"])
        if run_id_for(identity) != rid:
            problems.append(f"run {rid}: id is not the hash of its identity")
    except ValueError:
        problems.append(f"run {rid}: identity is not JSON")
    for key in ("dataset_filters", "strategy_args", "options", "stats"):
        try:
            json.loads(row[key])
        except (TypeError, ValueError):
            problems.append(f"run {rid}: {key} is not JSON")
    if row["status"] not in RUN_STATUSES:
        problems.append(f"run {rid}: unknown status {row['status']!r}")
    return problems


def _check_result(row: sqlite3.Row) -> list[str]:
    where = f"result {row['run_id']}/{row['task_id']}"
    problems = []
    for key in JSON_RESULT_COLUMNS:
        if row[key] is not None:
            try:
                json.loads(row[key])
            except ValueError:
                problems.append(f"{where}: {key} is not JSON")
    for key in ("ok", "infra_error"):
        if row[key] not in (0, 1):
            problems.append(f"{where}: {key} is {row[key]!r}, not 0/1")
    for key in UNIT_METRICS:
        v = row[key]
        if v is not None and not -1e-9 <= v <= 1 + 1e-9:
            problems.append(f"{where}: {key} = {v} outside [0, 1]")
    if row["code"] is not None and row["code_hash"] != content_hash(row["code"]):
        problems.append(f"{where}: code_hash does not match the code")
    if row["ok"] == 1 and row["infra_error"] == 1:
        problems.append(f"{where}: ok and infra_error both set")
    if row["ok"] == 0 and row["infra_error"] == 0 and row["vs"] not in (None, 0.0):
        problems.append(f"{where}: failed render with VS {row['vs']} (must be 0)")
    return problems


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True

"""The benchmark store's rows: run records and result rows, their identity hashes, their
conversion to and from SQLite rows, and the self-consistency checks `Store.verify` runs on them.

`manimatic.bench.store` holds the connection, migrations and queries, and re-exports all of this.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
from dataclasses import dataclass, field
from typing import Any

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

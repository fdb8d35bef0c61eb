"""The generation log: one SQLite row per `generate` call, on by default (CLI, Python, studio).

    with GenerationLog() as log:              # data dir's generations.sqlite, migrated on open
        for entry in log.entries(limit=10):   # newest first
            print(entry.id, entry.model, entry.status, entry.prompt)

What a row keeps: the prompt, model, strategy (name and arguments), protocol, outcome (status,
rounds, final code, video, error), tokens and times, where it came from (`cli`, `python`,
`studio`), and the full transcript (the agent's own JSON format, `Transcript.to_dict()`), so the
viewer shows every round of a logged generation exactly as it shows a bench task's.

Opt out per call (`generate(..., log=False)`, `manimatic generate --no-log`) or everywhere
(`MANIMATIC_NO_LOG=1`). Benchmark runs do not log: the bench store holds their transcripts. A log
that cannot be written (read-only disk...) never fails a generation: one warning line says so.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from manimatic import paths, sqlite_db
from manimatic.agent.protocol import DEFAULT_PROTOCOL
from manimatic.agent.transcript import Transcript

LOG_NAME = "generations.sqlite"
NO_LOG_ENV = "MANIMATIC_NO_LOG"
SOURCES = ("cli", "python", "studio")

MIGRATIONS: list[sqlite_db.Migration] = [
    (
        1,
        "generations",
        """
        CREATE TABLE generations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started TEXT NOT NULL,
            finished TEXT,
            duration_s REAL,
            source TEXT NOT NULL,
            prompt TEXT NOT NULL,
            model TEXT NOT NULL,
            strategy TEXT NOT NULL,
            strategy_args TEXT NOT NULL DEFAULT '{}',
            protocol TEXT,
            status TEXT NOT NULL,
            ok INTEGER NOT NULL,
            rounds INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            code TEXT,
            video TEXT,
            code_path TEXT,
            error TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            llm_s REAL,
            render_s REAL,
            manimatic_version TEXT,
            manim_version TEXT,
            transcript TEXT NOT NULL
        );
        CREATE INDEX generations_started ON generations (started);
        """,
    ),
]

_warned = threading.Event()


class LogError(RuntimeError):
    """The log file cannot be used (not a database, newer schema, unknown entry)."""


def default_log_path() -> Path:
    """The default log: `generations.sqlite` in the user data directory."""
    return paths.data_dir() / LOG_NAME


def logging_enabled(log: bool | str | Path | None = None) -> bool:
    """Whether a generation is logged: `log` when given (a log file path means yes), else on
    unless `MANIMATIC_NO_LOG` is set to a true value (1, true, yes, on)."""
    if isinstance(log, (str, Path)):
        return True
    if log is not None:
        return bool(log)
    value = os.environ.get(NO_LOG_ENV, "").strip().lower()
    return value not in ("1", "true", "yes", "on")


@dataclass
class LogEntry:
    """One logged generation.

    Attributes:
        id: Row id (increasing: newer entries have larger ids).
        started: UTC start time, ISO 8601.
        finished: UTC end time (None when the run was interrupted before it ended).
        duration_s: Wall time of the whole `generate` call.
        source: cli, python or studio.
        prompt: The description.
        model: The model spec.
        strategy: The strategy's name.
        strategy_args: Its arguments (`Strategy.to_dict()` minus the name).
        protocol: The protocol the loop followed.
        status: success, failed (no attempt rendered), error (LLM or sandbox failure) or
            interrupted.
        ok: Whether the final attempt rendered.
        rounds: Render attempts made.
        calls: Model calls made (a doc pass is a call without its own attempt).
        code: The final code ("" when no reply had code).
        video: The final video (or image) path, when it rendered.
        code_path: Where the final code was written, if anywhere.
        error: What stopped the run or the last failure, in one line.
        prompt_tokens: Summed over the calls that reported it.
        completion_tokens: Likewise.
        total_tokens: Likewise.
        llm_s: Time in model calls.
        render_s: Time rendering.
        manimatic_version: The versions that made it.
        manim_version: Likewise.
        transcript: The full transcript dict (only when asked for: it is large).
    """

    id: int
    started: str
    finished: str | None
    duration_s: float | None
    source: str
    prompt: str
    model: str
    strategy: str
    strategy_args: dict[str, Any]
    protocol: str | None
    status: str
    ok: bool
    rounds: int
    calls: int
    code: str | None
    video: str | None
    code_path: str | None
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    llm_s: float | None
    render_s: float | None
    manimatic_version: str | None
    manim_version: str | None
    transcript: dict[str, Any] | None = None

    def to_dict(self, *, transcript: bool = False) -> dict[str, Any]:
        """Plain-dict form; the transcript only when asked for."""
        data = asdict(self)
        if not transcript:
            data.pop("transcript")
        return data


def entry_values(
    transcript: Transcript, *, source: str, duration_s: float | None
) -> dict[str, Any]:
    """The row for a transcript (column -> value), as `GenerationLog.add` stores it."""
    if source not in SOURCES:
        raise ValueError(f"log source must be one of {', '.join(SOURCES)}; got {source!r}.")
    data = transcript.to_dict()
    strategy = dict(transcript.strategy or {})
    name = str(strategy.pop("name", "") or "")
    final = transcript.final or {}
    status = transcript.status if transcript.status != "running" else "interrupted"
    protocol = data.get("protocol") or DEFAULT_PROTOCOL
    if isinstance(protocol, dict):  # `Protocol.to_dict()`: its name says which one
        protocol = protocol.get("name") or DEFAULT_PROTOCOL
    return {
        "started": transcript.started_at,
        "finished": transcript.finished_at,
        "duration_s": duration_s,
        "source": source,
        "prompt": transcript.description,
        "model": transcript.model,
        "strategy": name,
        "strategy_args": json.dumps(strategy, sort_keys=True, default=str),
        "protocol": str(protocol),
        "status": status,
        "ok": int(bool(final.get("success"))),
        "rounds": int(final.get("attempts") or transcript.attempts),
        "calls": len(transcript.rounds),
        "code": final.get("code"),
        "video": final.get("video"),
        "code_path": final.get("code_path"),
        "error": transcript.error,
        **transcript.token_totals(),
        "llm_s": sum(r.llm_s for r in transcript.rounds),
        "render_s": sum(r.render_s for r in transcript.rounds),
        "manimatic_version": (transcript.versions or {}).get("manimatic"),
        "manim_version": (transcript.versions or {}).get("manim"),
        "transcript": json.dumps(data, ensure_ascii=False, default=str),
    }


class GenerationLog:
    """The generation log file (created and migrated on open).

    Args:
        path: The SQLite file; None for the default in the user data directory.

    Raises:
        LogError: The file is not a usable log, or was written by a newer manimatic.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_log_path()
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite_db.connect(self.path)
            sqlite_db.migrate(self._conn, MIGRATIONS, where=str(self.path), lock=self._lock)
        except sqlite_db.SchemaTooNewError as exc:
            raise LogError(str(exc)) from None
        except (sqlite3.DatabaseError, OSError) as exc:
            raise LogError(f"{self.path}: not a usable generation log ({exc})") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> GenerationLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(
        self, transcript: Transcript, *, source: str = "python", duration_s: float | None = None
    ) -> int:
        """Store one generation in its own transaction; returns its id."""
        values = entry_values(transcript, source=source, duration_s=duration_s)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with sqlite_db.transaction(self._conn, self._lock) as conn:
            cursor = conn.execute(
                f"INSERT INTO generations ({names}) VALUES ({marks})", tuple(values.values())
            )
            return int(cursor.lastrowid or 0)

    def entries(self, limit: int | None = None, *, transcripts: bool = False) -> list[LogEntry]:
        """Entries newest first (at most `limit`); transcripts decoded only when asked for."""
        columns = "*" if transcripts else _LIGHT_COLUMNS
        sql = f"SELECT {columns} FROM generations ORDER BY id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> LogEntry:
        """One entry with its transcript.

        Raises:
            LogError: No entry with that id.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM generations WHERE id = ?", (int(entry_id),)
            ).fetchone()
        if row is None:
            raise LogError(
                f"no generation {entry_id} in {self.path}; list them with `manimatic logs`."
            )
        return _entry(row)

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM generations").fetchone()[0])


_LIGHT_COLUMNS = ", ".join(
    f for f in LogEntry.__dataclass_fields__ if f != "transcript"
)  # every column but the (large) transcript


def _entry(row: sqlite3.Row) -> LogEntry:
    data = dict(row)
    data["ok"] = bool(data["ok"])
    data["strategy_args"] = _json(data.get("strategy_args")) or {}
    if "transcript" in data:
        data["transcript"] = _json(data["transcript"])
    return LogEntry(**data)


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def record(
    transcript: Transcript,
    *,
    source: str,
    duration_s: float | None,
    path: str | Path | None = None,
) -> int | None:
    """Log one generation; a log that cannot be written warns once on stderr and returns None.

    Why it never raises: the log is a record of work done, and losing one row must not lose the
    generation it describes.
    """
    try:
        with GenerationLog(path) as log:
            return log.add(transcript, source=source, duration_s=duration_s)
    except (LogError, sqlite3.Error, OSError) as exc:
        if not _warned.is_set():
            _warned.set()
            sys.stderr.write(
                f"manimatic: this generation was not logged ({exc}); set {NO_LOG_ENV}=1 to turn "
                "the generation log off.\n"
            )
        return None

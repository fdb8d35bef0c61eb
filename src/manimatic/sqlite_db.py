"""SQLite files manimatic owns (the bench store, the generation log): connection and migrations.

One implementation of the two things every such file needs:

* `connect`: WAL journal (readers in another process never block the writer) with
  `synchronous=FULL` (a committed row survives `kill -9` and power loss), foreign keys on, rows
  as `sqlite3.Row`, autocommit mode so transactions are explicit (`BEGIN IMMEDIATE`).
* `migrate`: numbered, forward-only migrations, each applied in its own transaction together with
  its row in `migrations`, so opening a file is idempotent and safe from several processes at
  once; a file with a migration this code does not know (a newer manimatic) is refused, never
  misread.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

Migration = tuple[int, str, str]  # (version, name, SQL: statements separated by ";")


class SchemaTooNewError(RuntimeError):
    """The file has migrations newer than this manimatic knows."""


def connect(path: str | Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """Open (creating) a database file with manimatic's settings.

    Args:
        path: The SQLite file; its parent directory must exist.
        timeout: Seconds to wait for another writer's lock.

    Returns:
        A connection usable from several threads (callers serialise its use).
    """
    conn = sqlite3.connect(
        str(path), timeout=timeout, check_same_thread=False, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection, lock: threading.RLock | None = None
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), holding `lock` when one is given."""
    with lock if lock is not None else contextlib.nullcontext():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


_transaction = transaction  # `migrate`'s parameter of the same name shadows it


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied (0 for an empty database)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM migrations").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
    migrations: list[Migration],
    *,
    where: str,
    lock: threading.RLock | None = None,
    transaction: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]] | None = None,
) -> list[int]:
    """Apply the migrations this database lacks, each in its own transaction.

    Args:
        conn: From `connect`.
        migrations: `(version, name, sql)`, versions increasing from 1.
        where: How to name the file in an error (its path).
        lock: The caller's lock around the connection, if it shares it between threads.
        transaction: The caller's own transaction context (e.g. one that turns a read-only
            file into a clear error); default `transaction(conn, lock)`.

    Returns:
        The versions applied now (empty when up to date).

    Raises:
        SchemaTooNewError: The file has migrations this code does not know.
    """
    begin = transaction or (lambda: _transaction(conn, lock))
    applied: list[int] = []
    with begin():
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
        )
    latest = migrations[-1][0]
    current = schema_version(conn)
    if current > latest:
        raise SchemaTooNewError(
            f"{where} has schema version {current}, newer than this manimatic knows "
            f"({latest}); upgrade manimatic to read it."
        )
    for version, name, sql in migrations:
        if version <= current:
            continue
        with begin():
            # Re-check inside the write lock: another process may have migrated meanwhile.
            done = conn.execute("SELECT 1 FROM migrations WHERE version = ?", (version,)).fetchone()
            if done:
                continue
            for statement in (s.strip() for s in sql.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations (version, name, applied) VALUES (?, ?, ?)",
                (version, name, datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
        applied.append(version)
    return applied

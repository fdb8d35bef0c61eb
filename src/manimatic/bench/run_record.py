"""A run's record over its life: created or resumed (and when a resume is refused), and the
ways a run ends early (repeated infrastructure errors, Ctrl-C, a bug with its traceback logged)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from manimatic import provenance
from manimatic.bench.analysis import RunSummary
from manimatic.bench.answers import BenchError
from manimatic.bench.datasets import TaskSet
from manimatic.bench.store import (
    FORMAT_VERSION,
    RunRecord,
    Store,
    StoreError,
    now_iso,
    run_id_for,
)


def check_resume(run: RunRecord, taskset: TaskSet, settings: dict[str, Any]) -> None:
    """Refuse to resume a run that another process is running, or with other settings."""
    if run.live_status == "running" and run.pid != os.getpid():
        raise BenchError(
            f"run {run.id} is in progress in process {run.pid} on {run.host}; wait for it, "
            "or stop that process and run this command again to resume."
        )
    if run.dataset_hash != taskset.content_hash():
        raise BenchError(
            f"run {run.id} was made on different data ({run.dataset_source}): the tasks "
            "changed since; give a new --label to start a separate run."
        )
    for key, value in settings.items():
        stored = (run.options or {}).get(key)
        if stored != value:
            raise BenchError(
                f"run {run.id} was started with {key} {json.dumps(stored)}, not "
                f"{json.dumps(value)}; resume it with the same settings, or give a new "
                "--label for a separate run."
            )


def open_run(
    store: Store,
    identity: dict[str, Any],
    taskset: TaskSet,
    dataset_spec: str,
    run_options: dict[str, Any],
    settings: dict[str, Any],
) -> tuple[RunRecord, bool]:
    """The run of `identity`, created now or found (then checked by `check_resume`).

    Returns:
        (the run, whether it was resumed).
    """
    info = provenance.versions("torch")
    git = provenance.git_state()
    record = RunRecord(
        id=run_id_for(identity),
        identity=identity,
        created=now_iso(),
        updated=now_iso(),
        status="running",
        format_version=FORMAT_VERSION,
        dataset_spec=dataset_spec,
        dataset_split=identity["split"],
        dataset_filters={"types": identity["types"]},
        dataset_hash=taskset.content_hash(),
        dataset_source=taskset.source,
        total=len(taskset),
        model=identity["model"],
        strategy=identity["strategy"]["name"],
        strategy_args={k: v for k, v in identity["strategy"].items() if k != "name"},
        label=identity["label"],
        options=run_options,
        manimatic_version=info["manimatic"],
        manim_version=info["manim"],
        torch_version=info["torch"],
        python_version=info["python"],
        git_commit=git.commit,
        git_dirty=git.dirty,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    try:
        run, created = store.get_or_create_run(record)
    except StoreError as exc:
        raise BenchError(str(exc)) from None
    if created:
        return run, False
    check_resume(run, taskset, settings)  # again: another process may have started meanwhile
    store.update_run(
        run.id, status="running", pid=os.getpid(), host=socket.gethostname(), total=len(taskset)
    )
    return run, True


def resume_notes(run: RunRecord, run_options: dict[str, Any]) -> list[str]:
    """What changed in a resumed run that may change (earlier rows keep their values)."""
    notes = []
    for key in ("timeout", "reference_timeout"):  # the embedders are part of the identity
        before, now = (run.options or {}).get(key), run_options.get(key)
        if before != now:
            notes.append(
                f"resumed with {key} {now!r} where the run started with {before!r}: "
                "earlier rows keep their values"
            )
    return notes


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; the message says how much is stored and how to resume.

    Attributes:
        hard: A second Ctrl-C: tasks in flight were abandoned, not finished.
    """

    def __init__(self, message: str, *, hard: bool = False) -> None:
        super().__init__(message)
        self.hard = hard


class BenchBug(RuntimeError):
    """A bug in manimatic (not the model, not the infrastructure) stopped a run.

    Attributes:
        task_id: The task it happened on.
        log: The file holding its traceback.
    """

    def __init__(self, message: str, task_id: str, log: str | None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.log = log


def aborted_error(summary: RunSummary, last_error: str) -> BenchError:
    err = BenchError(
        f"run {summary.run_id} stopped after repeated infrastructure errors (last: "
        f"{last_error}); {summary.done} task(s) are stored. Fix the cause and run the same "
        "command again to resume."
    )
    err.summary = summary  # type: ignore[attr-defined]
    return err


def bug_error(
    db_path: str | Path, run_id: str, task_id: str, exc: Exception, trace: str
) -> BenchBug:
    """Append the bug's traceback to `<db>-logs/<run id>.log`; the error that says where."""
    db = Path(db_path)
    log_path: Path | None = db.with_name(f"{db.stem}-logs") / f"{run_id}.log"
    assert log_path is not None
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{now_iso()} run {run_id} task {task_id}\n{trace}\n")
    except OSError:
        log_path = None
    where = f"; traceback in {log_path}" if log_path else ""
    err = BenchBug(
        f"run {run_id} stopped on a bug in manimatic at task {task_id}: "
        f"{type(exc).__name__}: {exc}{where}. The tasks done are kept; after a fix, the same "
        "command resumes the run.",
        task_id,
        str(log_path) if log_path else None,
    )
    err.__cause__ = exc
    return err

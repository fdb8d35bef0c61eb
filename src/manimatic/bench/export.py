"""Results as tables: the public per-run and per-task rows, and pandas DataFrames of them.

    from manimatic.bench import results_frame, runs_frame
    runs_frame()                       # one row per run in the default database
    df = results_frame("3f2a")         # one row per task of a run (id or unique prefix)
    df.groupby("type").ok.mean()

The rows are the same objects `bench runs --json` and `bench results --json` print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from manimatic.bench.store import Store


def run_rows(store: Any) -> list[dict[str, Any]]:
    """One object per run: id, label, model, strategy, status, done/total, RSR, means.

    Each mean comes with its 95% bootstrap interval (`rsr_ci`, `mean_vs_ci`, ... as [low,
    high]; `bench.stats.run_intervals`) and the run's count of degenerate VS values.
    """
    from manimatic.bench.analysis import summary_intervals
    from manimatic.bench.stats import run_intervals

    counts = store.counts()
    rows = []
    for run in store.runs():
        c = counts.get(run.id, {})
        intervals = run_intervals(store.results(run.id))
        rows.append(
            {
                "id": run.id,
                "created": run.created,
                "label": run.label,
                "model": run.model,
                "strategy": run.strategy,
                "strategy_args": run.strategy_args,
                "protocol": run.protocol,
                "dataset": run.dataset_spec,
                "split": run.dataset_split,
                "status": run.live_status,
                "done": c.get("done") or 0,
                "total": run.total,
                "rsr": c.get("rsr"),
                "mean_vs": c.get("mean_vs"),
                "mean_fidelity": c.get("mean_fidelity"),
                "mean_codebleu": c.get("mean_codebleu"),
                "mean_cbb": c.get("mean_cbb"),
                "infra_errors": c.get("infra_errors") or 0,
                "ref_failures": c.get("ref_failures") or 0,
                **summary_intervals({"intervals": intervals}),
            }
        )
    return rows


def result_row(row: dict[str, Any]) -> dict[str, Any]:
    """The public per-task object of `bench results`.

    `degenerate_vs` is true where VS >= 0.95 while fidelity < 0.2 (`bench.stats`): the study's
    VS calls the two videos alike when they are not.
    """
    from manimatic.bench.stats import is_degenerate_vs

    tags = row["tags"] if isinstance(row.get("tags"), dict) else {}
    return {
        "id": row["task_id"],
        "type": tags.get("type"),
        "ok": row["ok"],
        "vs": row["vs"],
        "ssim_term": row["ssim_term"],
        "semantic_term": row["semantic_term"],
        "fidelity": row["fidelity"],
        "codebleu": row["codebleu"],
        "codebert": row["codebert"],
        "cbb": row["cbb"],
        "ast_distance": row["ast_distance"],
        "syntax_error": row["syntax_error"],
        "rounds": row["rounds"],
        "ref_ok": row["ref_ok"],
        "infra_error": row["infra_error"],
        "error_stage": row["error_stage"],
        "error_category": row["error_category"],
        "error": row["error_message"],
        "total_tokens": row["total_tokens"],
        "degenerate_vs": is_degenerate_vs(row),
        "notes": row.get("notes") or [],
    }


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame.from_records(rows)


def runs_frame(db: str | Path | Store | None = None) -> Any:
    """Every run of a database as a DataFrame (the columns of `bench runs --json`).

    Args:
        db: The database file or an open Store (default: the user data dir's bench.sqlite).
    """
    if isinstance(db, Store):
        return _frame(run_rows(db))
    with Store(db) as store:
        return _frame(run_rows(store))


def results_frame(run: str, db: str | Path | Store | None = None) -> Any:
    """One run's per-task results as a DataFrame, indexed by task id.

    Args:
        run: The run id or a unique prefix of it.
        db: The database file or an open Store (default: the user data dir's bench.sqlite).

    Raises:
        StoreError: No run, or several, match `run`.
    """
    if isinstance(db, Store):
        return _results(db, run)
    with Store(db) as store:
        return _results(store, run)


def _results(store: Store, run: str) -> Any:
    record = store.get_run(run)
    frame = _frame([result_row(r) for r in store.results(record.id)])
    if not frame.empty:
        frame = frame.set_index("id")
    frame.attrs["run_id"] = record.id
    return frame

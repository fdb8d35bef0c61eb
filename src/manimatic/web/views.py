"""What each viewer page shows, read from the bench store and the generation log.

Pure functions from records to plain view data (dicts and dataclasses); the templates only lay
them out. Nothing here is recomputed from renders: numbers come from `bench.analysis` and the
report's tables (`bench.report.build_report` with no frames), rounds from `agent.review`, so the
viewer, `bench report` and `bench results` agree.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.agent.review import RoundView, code_diff, round_views
from manimatic.bench.analysis import compare
from manimatic.bench.report import condition_names
from manimatic.bench.report_tables import fmt_metric, task_metrics
from manimatic.bench.store import RunRecord, Store
from manimatic.scoring import pick_main
from manimatic.web.files import MediaRoots, is_video

INTERVAL_METRICS = (("vs", "VS"), ("fidelity", "fidelity"), ("codebleu", "CodeBLEU"),
                    ("cbb", "CBB"))  # fmt: skip


class NotFound(LookupError):
    """The page's record does not exist (unknown run, task or log entry)."""


@dataclass
class Media:
    """A render as a page shows it: a served URL, or why there is none.

    Attributes:
        url: `/files/...` (None when not served).
        video: A video (else an image).
        note: Why there is nothing to play (failed render, file gone, outside the roots).
        path: The file's path as recorded.
    """

    url: str | None = None
    video: bool = True
    note: str | None = None
    path: str | None = None


def media_for(result: Any, roots: MediaRoots) -> Media:
    """The main output of a stored render result (`RenderResult.to_dict()`)."""
    if not isinstance(result, dict):
        return Media(note="no render recorded")
    if not result.get("ok"):
        return Media(note="the render failed: nothing to play")
    outputs = [str(p) for p in result.get("outputs") or []]
    if not outputs:
        return Media(note="the render recorded no output file")
    path, _ = pick_main(outputs)  # the output the report shows and the metrics scored
    return media_for_path(path, roots)


def media_for_path(path: str | None, roots: MediaRoots) -> Media:
    if not path:
        return Media(note="no output")
    if not Path(path).exists():
        return Media(path=path, note="the file no longer exists (render cache cleaned?)")
    url = roots.url(path)
    if url is None:
        return Media(path=path, note="outside manimatic's folders: not served")
    return Media(url=url, video=is_video(path), path=path)


def condition_name(run: RunRecord) -> str:
    """`label / strategy` (or model), as the report names a condition."""
    return condition_names([run])[0]


# --- runs -----------------------------------------------------------------------------------------


def runs_list(store: Store) -> list[dict[str, Any]]:
    """One row per run, newest first, with its counts and means."""
    counts = store.counts()
    rows = []
    for run in reversed(store.runs()):
        c = counts.get(run.id, {})
        rows.append(
            {
                "id": run.id,
                "created": run.created,
                "name": condition_name(run),
                "label": run.label or "",
                "model": run.model,
                "strategy": run.strategy,
                "dataset": Path(run.dataset_spec).name or run.dataset_spec,
                "split": run.dataset_split,
                "status": run.live_status,
                "total": run.total,
                "done": c.get("done") or 0,
                "rsr": c.get("rsr"),
                "vs": c.get("mean_vs"),
                "fidelity": c.get("mean_fidelity"),
                "cbb": c.get("mean_cbb"),
                "rounds": c.get("mean_rounds"),
            }
        )
    return rows


def get_run(store: Store, run_id: str) -> RunRecord:
    from manimatic.bench.store import StoreError

    try:
        return store.get_run(run_id)
    except StoreError as exc:
        raise NotFound(str(exc)) from None


def intervals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RSR and metric means with their 95% intervals (`bench.stats.run_intervals`, the numbers
    `bench runs --json` prints), over the pools `analysis` uses."""
    from manimatic.bench.stats import metric_values, run_intervals

    cis = run_intervals(rows)
    out = []
    for key, label in (("rsr", "RSR"), *INTERVAL_METRICS):
        values = metric_values(rows, key)
        mean = sum(values) / len(values) if values else None
        ci = cis["rsr_ci" if key == "rsr" else f"mean_{key}_ci"]
        out.append(_interval_row(label, mean, tuple(ci) if ci else None, len(values), key))
    return out


def _interval_row(
    label: str, value: float | None, ci: tuple[float, float] | None, n: int, key: str
) -> dict[str, Any]:
    return {
        "metric": label,
        "value": fmt_metric(value, key),
        "low": "-" if ci is None else fmt_metric(ci[0], key),
        "high": "-" if ci is None else fmt_metric(ci[1], key),
        "n": n,
    }


def run_page(store: Store, run_id: str) -> dict[str, Any]:
    """The run page: its record, tables and plots (the report's), intervals, and task rows."""
    from manimatic.bench.report import ReportError, build_report
    from manimatic.bench.report_html import table_html

    run = get_run(store, run_id)
    rows = store.results(run.id)
    page: dict[str, Any] = {"run": run, "name": condition_name(run), "tables": [], "plots": []}
    if rows:
        try:
            report = build_report(store, [run.id], frames=0)
        except ReportError as exc:
            page["report_error"] = str(exc)
        else:
            page["tables"] = [
                (report.tables[k].title, table_html(report.tables[k]))
                for k in ("summary", "per_type", "failures")
            ]
            page["plots"] = [
                (k, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
                for k, png in report.plots.items()
            ]
            page["notes"] = report.notes
    page["intervals"] = intervals(rows)
    page["tasks"] = [
        {
            "id": r["task_id"],
            "type": (r.get("tags") or {}).get("type") if isinstance(r.get("tags"), dict) else None,
            "ok": bool(r.get("ok")),
            "infra": bool(r.get("infra_error")),
            "vs": r.get("vs"),
            "fidelity": r.get("fidelity"),
            "codebleu": r.get("codebleu"),
            "rounds": r.get("rounds"),
            "error": r.get("error_category") or "",
            "findings": len(r["findings"]) if isinstance(r.get("findings"), list) else None,
        }
        for r in rows
    ]
    return page


def conditions_page(store: Store, run_ids: list[str]) -> dict[str, Any]:
    """Several runs as the conditions of one table (a matrix): the report's tables and plots,
    and each condition's numbers with 95% intervals."""
    from manimatic.bench.report import ReportError, build_report
    from manimatic.bench.report_html import table_html

    runs: list[RunRecord] = []
    for ref in run_ids:
        run = get_run(store, ref)
        if run.id not in {r.id for r in runs}:
            runs.append(run)
    if not runs:
        raise NotFound("choose at least one run")
    try:
        report = build_report(store, [r.id for r in runs], frames=0)
    except ReportError as exc:
        raise NotFound(str(exc)) from None
    rows = []
    for cond in report.conditions:
        cells = {i["metric"]: i for i in intervals(cond.rows)}
        rows.append({"name": cond.name, "run": cond.run, "cells": cells})
    return {
        "runs": runs,
        "metrics": ["RSR", *(label for _, label in INTERVAL_METRICS)],
        "interval_rows": rows,
        "tables": [
            (report.tables[k].title, table_html(report.tables[k]))
            for k in ("summary", "per_type", "correlation", "failures")
        ],
        "plots": [
            (k, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
            for k, png in report.plots.items()
        ],
        "notes": report.notes,
    }


# --- one task ---------------------------------------------------------------------------------


@dataclass
class ConditionView:
    """One run's answer to the task on the task page.

    Attributes:
        run: The run.
        name: Its condition name.
        row: The stored result (heavy columns included).
        media: Its render.
        metrics: (label, text) pairs.
        error: The failure, when it failed.
        rounds: The transcript's rounds (none for reference / generations runs).
        findings: Layout critic findings stored with the result, when there are any.
        diff_reference: The final code against the reference.
        current: This is the run the page was opened from.
    """

    run: RunRecord
    name: str
    row: dict[str, Any]
    media: Media
    metrics: list[tuple[str, str]]
    error: str | None
    rounds: list[RoundView]
    findings: list[dict[str, Any]] = field(default_factory=list)
    diff_reference: str | None = None
    current: bool = False


def task_page(store: Store, run_id: str, task_id: str, roots: MediaRoots) -> dict[str, Any]:
    """The task page: description, reference, and every run's answer to the same task (same
    task id and same task hash: the same prompt and reference), side by side."""
    run = get_run(store, run_id)
    rows = store.task_results(task_id)
    mine = next((r for r in rows if r["run_id"] == run.id), None)
    if mine is None:
        raise NotFound(f"run {run.id} has no result for task {task_id!r}")
    same = [r for r in rows if r.get("task_hash") == mine.get("task_hash")]
    runs = {r.id: r for r in store.runs()}
    task = _dataset_task(runs[run.id], task_id, mine.get("task_hash"))
    reference_code = _reference_code(same, runs) or (task.reference_code if task else None)
    prompt = _prompt(same) or (task.prompt if task else None)
    ref_row = next((r for r in same if r.get("ref_render_result")), mine)
    conditions = []
    cbb_available = any(r.get("cbb") is not None for r in same)
    for r in same:
        record = runs[r["run_id"]]
        raw_findings = r.get("findings")
        findings = raw_findings if isinstance(raw_findings, list) else []
        conditions.append(
            ConditionView(
                run=record,
                name=condition_name(record),
                row=r,
                media=media_for(r.get("render_result"), roots),
                metrics=task_metrics(r, cbb_available),
                error=_row_error(r),
                rounds=round_views(r.get("transcript"), reference_code),
                findings=[f for f in findings if isinstance(f, dict)],
                diff_reference=code_diff(reference_code, r.get("code"), "reference", "final"),
                current=r["run_id"] == run.id,
            )
        )
    conditions.sort(key=lambda c: not c.current)  # the run the user came from first
    raw_tags = mine.get("tags")
    tags = raw_tags if isinstance(raw_tags, dict) else {}
    return {
        "run": run,
        "task_id": task_id,
        "type": tags.get("type"),
        "prompt": prompt,
        "reference_code": reference_code,
        "reference": media_for(ref_row.get("ref_render_result"), roots),
        "reference_ok": ref_row.get("ref_ok"),
        "conditions": conditions,
    }


def _prompt(rows: list[dict[str, Any]]) -> str | None:
    for r in rows:
        t = r.get("transcript")
        if isinstance(t, dict) and isinstance(t.get("description"), str):
            return t["description"]
    return None


def _reference_code(rows: list[dict[str, Any]], runs: dict[str, RunRecord]) -> str | None:
    """A `--model reference` run's code for the task is the reference itself."""
    for r in rows:
        if runs[r["run_id"]].model == "reference" and r.get("code"):
            return r["code"]
    return None


def _dataset_task(run: RunRecord, task_id: str, task_hash: str | None) -> Any:
    """The task from the run's dataset when it is a local file and still hashes the same (a hub
    dataset is not fetched: the viewer never goes to the network)."""
    spec = run.dataset_spec
    if not spec or not Path(spec).exists():
        return None
    tasks = _load_tasks(spec, run.dataset_split)
    task = tasks.get(task_id)
    if task is None or (task_hash and task.content_hash() != task_hash):
        return None
    return task


@functools.lru_cache(maxsize=8)
def _load_tasks(spec: str, split: str) -> dict[str, Any]:
    from manimatic.bench.datasets import DatasetError, load_dataset

    try:
        return load_dataset(spec, split=split).by_id()
    except (DatasetError, OSError):
        return {}


def _row_error(row: dict[str, Any]) -> str | None:
    if row.get("ok"):
        return None
    if row.get("infra_error"):
        return f"infrastructure error ({row.get('error_stage')}): {row.get('error_message') or ''}"
    head = " / ".join(str(p) for p in (row.get("error_stage"), row.get("error_category")) if p)
    return f"{head or 'failed'}: {row.get('error_message') or 'no message'}"


# --- compare ----------------------------------------------------------------------------------


def compare_page(store: Store, run_a: str, run_b: str) -> dict[str, Any]:
    """Two runs over their common tasks: metric deltas and the tasks that flipped."""
    a, b = get_run(store, run_a), get_run(store, run_b)
    result = compare(a.id, store.results(a.id), b.id, store.results(b.id))
    metrics = [
        {
            "metric": k,
            "a": fmt_metric(v["a"], k),
            "b": fmt_metric(v["b"], k),
            "delta": "-" if v["delta"] is None else f"{v['delta']:+.3f}",
            "n": v["n"],
        }
        for k, v in result.metrics.items()
    ]
    return {
        "a": a,
        "b": b,
        "name_a": condition_name(a),
        "name_b": condition_name(b),
        "comparison": result,
        "metrics": metrics,
    }


# --- the generation log -------------------------------------------------------------------------


def log_entry_page(log: Any, entry_id: int, roots: MediaRoots) -> dict[str, Any]:
    """One logged generation: its record, video and rounds."""
    from manimatic.agent.genlog import LogError

    try:
        entry = log.get(entry_id)
    except LogError as exc:
        raise NotFound(str(exc)) from None
    media = media_for_path(entry.video, roots)
    if entry.video and media.url is None and Path(entry.video).is_file():
        # A generation written with `-o DIR` outside manimatic's folders: the log itself
        # recorded this exact file, so it is served by entry id (never by a path in the URL).
        media = Media(url=f"/logs/{entry.id}/video", video=is_video(entry.video), path=entry.video)
    return {"entry": entry, "video": media, "rounds": round_views(entry.transcript)}

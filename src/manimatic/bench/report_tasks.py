"""The report's per-task section: each task's frames, prompt, metrics, errors and attempts."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from manimatic.agent.review import round_views
from manimatic.bench.report_model import TaskEntry, TaskView
from manimatic.bench.report_plots import FrameStrip, frame_strip
from manimatic.bench.report_tables import Condition, task_metrics
from manimatic.scoring import pick_main


def task_views(
    conditions: list[Condition], frames: int, width: int, workers: int, notes: list[str]
) -> list[TaskView]:
    by_task: dict[str, list[tuple[Condition, dict[str, Any]]]] = {}
    for c in conditions:
        for r in c.rows:
            by_task.setdefault(r["task_id"], []).append((c, r))
    prompts = _prompts(conditions)
    # Decode each output file once: identical renders share a cache path across runs.
    paths = {
        p
        for pairs in by_task.values()
        for _, r in pairs
        for rr in (r.get("render_result"), r.get("ref_render_result"))
        if (p := _first_output(rr)) is not None
    }
    strips: dict[str, FrameStrip] = {}
    if frames:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            done = pool.map(lambda p: frame_strip(p, frames, width), sorted(paths))
            strips = dict(zip(sorted(paths), done, strict=True))
    missing = sum(1 for s in strips.values() if s.missing)
    if missing:
        notes.append(
            f"{missing} render file(s) no longer exist (the render cache was cleaned?): those "
            "frames are not shown; running the same `bench run` again does not re-render stored "
            "tasks, a new --label does."
        )
    views = []
    for task_id in sorted(by_task, key=_natural_key):
        pairs = by_task[task_id]
        ref_row = next((r for _, r in pairs if r.get("ref_render_result")), pairs[0][1])
        tags = ref_row["tags"] if isinstance(ref_row.get("tags"), dict) else {}
        ref_result = ref_row.get("ref_render_result")
        views.append(
            TaskView(
                task_id=task_id,
                type=tags.get("type"),
                prompt=prompts.get(task_id),
                reference=_strip(ref_result, strips, frames),
                reference_error=(
                    _render_error(ref_result) if ref_row.get("ref_ok") is False else None
                ),
                entries=[
                    TaskEntry(
                        condition=c.name,
                        row=r,
                        strip=_strip(r.get("render_result"), strips, frames),
                        metrics=task_metrics(r, c.cbb_available),
                        error=_row_error(r),
                        attempts=_attempts(r.get("transcript")),
                        rounds=round_views(r.get("transcript")),
                    )
                    for c, r in pairs
                ],
                reference_result=ref_result if isinstance(ref_result, dict) else None,
            )
        )
    return views


def _natural_key(text: str) -> list[Any]:
    """Sort "task2" before "task10"."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _first_output(result: Any) -> str | None:
    if not isinstance(result, dict) or not result.get("ok"):
        return None
    chosen, _ = pick_main([str(p) for p in result.get("outputs") or []])
    return chosen


def _strip(result: Any, strips: dict[str, FrameStrip], frames: int) -> FrameStrip:
    if not frames:
        return FrameStrip(note="frames not shown (--frames 0)")
    if not isinstance(result, dict):
        return FrameStrip(note="no render recorded")
    if not result.get("ok"):
        return FrameStrip(note="the render failed: no frames")
    path = _first_output(result)
    if path is None:
        return FrameStrip(note="the render recorded no output file")
    strip = strips[path]
    extra = len(result.get("outputs") or []) - 1
    if extra > 0 and strip.png is not None:
        return replace(strip, note=f"main output shown (the one scored); {extra} more not shown")
    return strip


def _render_error(result: Any) -> str:
    if not isinstance(result, dict):
        return "no render recorded"
    err = result.get("error") or {}
    head = " / ".join(str(p) for p in (result.get("stage"), err.get("category")) if p)
    return f"{head or 'failed'}: {err.get('message') or 'no message'}"


def _row_error(row: dict[str, Any]) -> str | None:
    if row.get("ok"):
        return None
    if row.get("infra_error"):
        return f"infrastructure error, not scored ({row.get('error_stage')}): " + str(
            row.get("error_message") or ""
        )
    head = " / ".join(str(p) for p in (row.get("error_stage"), row.get("error_category")) if p)
    return f"{head or 'failed'}: {row.get('error_message') or 'no message'}"


def _attempts(transcript: Any) -> list[str]:
    """Per render attempt of an agent transcript: ok, or the error category and message."""
    if not isinstance(transcript, dict):
        return []
    lines: list[str] = []
    for rnd in transcript.get("rounds") or []:
        result = rnd.get("result") if isinstance(rnd, dict) else None
        if not isinstance(result, dict):
            continue
        attempt = rnd.get("attempt", len(lines) + 1)
        if result.get("ok"):
            lines.append(f"attempt {attempt}: rendered")
        else:
            lines.append(f"attempt {attempt}: {_render_error(result)[:300]}")
    return lines if len(lines) > 1 else []


def _prompts(conditions: list[Condition]) -> dict[str, str]:
    """Task descriptions: as stored with each result (schema 2 on); for rows stored before, from
    agent transcripts, else from the run's dataset when it is a local file whose task still
    hashes the same (a hub dataset is not fetched: no network here)."""
    from manimatic.bench.datasets import DatasetError, load_dataset

    prompts: dict[str, str] = {}
    for c in conditions:
        for r in c.rows:
            if isinstance(r.get("prompt"), str):
                prompts.setdefault(r["task_id"], r["prompt"])
    for c in conditions:
        for r in c.rows:
            t = r.get("transcript")
            if isinstance(t, dict) and isinstance(t.get("description"), str):
                prompts.setdefault(r["task_id"], t["description"])
    for c in conditions:
        wanted = {r["task_id"]: r.get("task_hash") for r in c.rows if r["task_id"] not in prompts}
        spec = c.run.dataset_spec
        if not wanted or not spec or not Path(spec).exists():
            continue
        try:
            tasks = load_dataset(spec, split=c.run.dataset_split).by_id()
        except (DatasetError, OSError):
            continue
        for task_id, task_hash in wanted.items():
            task = tasks.get(task_id)
            if task is not None and task.content_hash() == task_hash:
                prompts[task_id] = task.prompt
    return prompts

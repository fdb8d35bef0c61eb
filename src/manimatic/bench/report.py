"""`manimatic bench report`: a self-contained HTML (and Markdown) report of one or more runs.

    with Store(db) as store:
        report = build_report(store, ["3f2a9c", "b71e0d"], frames=4)
    files = write_report(report, "manimatic_report")  # report.html, report.md, report_files/

Everything is read from the stored records (`Store.get_run`, `Store.results`), never recomputed
from the renders, except the thumbnails:

* the study's table: one row per condition (label x strategy), RSR, VS, CBB (+ fidelity,
  CodeBLEU, mean rounds, n), overall and per Type. The numbers are `analysis.summarize`'s, so the
  report, `bench run` and `bench runs` always agree;
* what a number means: VS is the SSIM term only when no result has a semantic term, CBB is null
  without CodeBERT; both are read from the results and the run record, never assumed;
* plots (`report_plots`): metrics per condition, code vs visual metric with Pearson and Spearman
  (`metrics.correlation`), render attempts needed under RITL / RITL-DOC;
* per task: N evenly spaced frames of the reference and of each condition's render (a failed
  render shows its error instead; a file that is gone is a note), the prompt, the metrics and the
  generated code.

Tables are built once as `TableModel`s and rendered to both HTML (`report_html`) and Markdown, so
the two files cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from manimatic.bench.analysis import summarize
from manimatic.bench.report_plots import FrameStrip, all_plots, frame_strip
from manimatic.bench.report_tables import (
    Condition,
    TableModel,
    condition_tables,
    render_markdown_table,
    task_metrics,
)
from manimatic.bench.store import RunRecord, Store, StoreError, now_iso
from manimatic.metrics.correlation import correlate

MAX_FRAMES = 12
THUMB_WIDTH = 240
FILES_DIR = "report_files"
HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"


class ReportError(ValueError):
    """The report cannot be made (unknown run, run without results, bad argument)."""


@dataclass
class TaskEntry:
    """One condition's answer to one task.

    Attributes:
        condition: The condition's name.
        row: The stored result row (heavy columns included).
        strip: Frames of the generated render.
        metrics: (label, text) pairs: VS, fidelity, CBB, CodeBLEU, attempts.
        error: "stage / category: message" of a failed render or infrastructure error.
        attempts: One line per render attempt of a RITL transcript ("2: ok", "1: name: ...").
    """

    condition: str
    row: dict[str, Any]
    strip: FrameStrip
    metrics: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    attempts: list[str] = field(default_factory=list)


@dataclass
class TaskView:
    """Everything the report shows about one task.

    Attributes:
        task_id: The task.
        type: Its Type tag (Basic, Intermediate, Advanced) when it has one.
        prompt: The description the model got (None when no record holds it).
        reference: Frames of the reference render.
        reference_error: Why the reference did not render, if it did not.
        entries: One per condition that has a result for the task.
    """

    task_id: str
    type: str | None
    prompt: str | None
    reference: FrameStrip
    reference_error: str | None
    entries: list[TaskEntry]


@dataclass
class Report:
    """A report, ready to be written (see `write_report`).

    Attributes:
        db: The database it was read from.
        created: When it was made (UTC, ISO 8601).
        conditions: One per run, in the order given.
        types: The Type groups, Basic / Intermediate / Advanced first.
        tables: Named tables (summary, per_type, correlation, failures, runs).
        plots: Named PNG plots (metrics, correlation, rounds); a plot with no data is absent.
        tasks: The per-task views, by task id.
        frames: Frames shown per render.
        notes: What a reader must know to read the numbers (VS basis, CBB null, ...).
    """

    db: str
    created: str
    conditions: list[Condition]
    types: list[str]
    tables: dict[str, TableModel]
    plots: dict[str, bytes]
    tasks: list[TaskView]
    frames: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[dict[str, Any]]:
        """The runs' summaries, as `--json` prints them."""
        return [c.summary() for c in self.conditions]


@dataclass
class ReportFiles:
    """What `write_report` wrote.

    Attributes:
        html: The self-contained HTML file.
        markdown: The Markdown file.
        images: PNG files written next to the Markdown (in `report_files/`).
    """

    html: Path
    markdown: Path
    images: list[Path]


# --- building -------------------------------------------------------------------------------------


def build_report(
    store: Store,
    run_refs: list[str],
    *,
    frames: int = 4,
    thumb_width: int = THUMB_WIDTH,
    workers: int = 2,
) -> Report:
    """Read runs from a store and assemble their report.

    Args:
        store: The benchmark database.
        run_refs: Run ids or unique prefixes; each run becomes one condition.
        frames: Frames shown per render (0: no frames, numbers only).
        thumb_width: Width in pixels of one thumbnail.
        workers: Threads decoding videos (PyAV and PIL release the GIL).

    Returns:
        The report.

    Raises:
        ReportError: No run given, an unknown or ambiguous run, a run with no results, or
            `frames` out of range.
    """
    if not run_refs:
        raise ReportError("give at least one run id; list them with `manimatic bench runs`.")
    if not 0 <= frames <= MAX_FRAMES:
        raise ReportError(f"--frames must be between 0 and {MAX_FRAMES}; got {frames}.")
    records: list[RunRecord] = []
    for ref in run_refs:
        try:
            record = store.get_run(ref)
        except StoreError as exc:
            raise ReportError(str(exc)) from None
        if record.id not in {r.id for r in records}:
            records.append(record)
    conditions = []
    for record, name in zip(records, _condition_names(records), strict=True):
        rows = store.results(record.id, heavy=True)
        if not rows:
            raise ReportError(
                f"run {record.id} ({name}) has no results yet (0 of {record.total} tasks "
                "scored); run it with `manimatic bench run`, or leave it out of the report."
            )
        conditions.append(_condition(record, name, rows))
    types = _type_order(conditions)
    notes = _notes(conditions)
    tasks = _task_views(conditions, frames, thumb_width, workers, notes)
    return Report(
        db=str(store.path.resolve()),
        created=now_iso(),
        conditions=conditions,
        types=types,
        tables=condition_tables(conditions, types),
        plots=all_plots(conditions),
        tasks=tasks,
        frames=frames,
        notes=notes,
    )


def _condition_names(records: list[RunRecord]) -> list[str]:
    """`label / strategy` per run; the run id is appended where two would read the same."""
    names = []
    for r in records:
        if r.label:
            head = r.label
        elif r.model == "reference":
            head = "reference"
        elif r.model.startswith("generations:"):
            head = "generations"
        else:
            head = r.model
        names.append(head if r.strategy in ("none", "", None) else f"{head} / {r.strategy}")
    return [
        f"{n} ({r.id[:6]})" if names.count(n) > 1 else n
        for n, r in zip(names, records, strict=True)
    ]


def display_model(model: str) -> str:
    """The model spec as a table shows it (a generations file by its name, not its full path)."""
    if model.startswith("generations:"):
        return "generations:" + Path(model.split(":", 1)[1]).name
    return model


def _condition(record: RunRecord, name: str, rows: list[dict[str, Any]]) -> Condition:
    stats = summarize(rows)
    cbb_available = stats["overall"]["counts"].get("cbb", 0) > 0
    code_metric = "cbb" if cbb_available else "codebleu"
    scored = [r for r in rows if not r.get("infra_error")]
    xs = [r.get(code_metric) for r in scored]
    correlations = {m: correlate(xs, [r.get(m) for r in scored]) for m in ("vs", "fidelity")}
    return Condition(
        run=record,
        name=name,
        model=display_model(record.model),
        rows=rows,
        stats=stats,
        vs_basis=_vs_basis(rows),
        cbb_available=cbb_available,
        code_metric=code_metric,
        correlations=correlations,
    )


def _vs_basis(rows: list[dict[str, Any]]) -> str:
    """What VS is made of in these results: `ssim+semantic`, `ssim`, `mixed` or `none`.

    Decided by the tasks that rendered with a VS: a failed render has VS 0 and no terms at all,
    so it says nothing about the embedder.
    """
    rendered = [
        r for r in rows if r.get("ok") and not r.get("infra_error") and r.get("vs") is not None
    ]
    if not rendered:
        return "none"
    with_semantic = sum(1 for r in rendered if r.get("semantic_term") is not None)
    if with_semantic == len(rendered):
        return "ssim+semantic"
    return "ssim" if with_semantic == 0 else "mixed"


def _type_order(conditions: list[Condition]) -> list[str]:
    found = {t for c in conditions for t in c.stats["by_type"]}
    known = [t for t in ("Basic", "Intermediate", "Advanced") if t in found]
    return known + sorted(found - set(known))


def _who(names: list[str], conditions: list[Condition]) -> str:
    """`every run` or the conditions' names, so that a note said of all runs is said once."""
    return "every run" if len(names) == len(conditions) else ", ".join(names)


def _notes(conditions: list[Condition]) -> list[str]:
    notes = []
    ssim = [c for c in conditions if c.vs_basis == "ssim"]
    if ssim:
        embedders = sorted({repr((c.run.options or {}).get("image_embedder")) for c in ssim})
        notes.append(
            f"VS is the SSIM term only in {_who([c.name for c in ssim], conditions)}: no image "
            "embedder (semantic_term is null in every rendered task; run option image_embedder "
            f"= {', '.join(embedders)}). Not comparable with the study's VS (SSIM x CLIP)."
        )
    for c in conditions:
        if c.vs_basis == "mixed":
            rendered = [r for r in c.rows if r.get("ok") and r.get("vs") is not None]
            with_sem = sum(1 for r in rendered if r.get("semantic_term") is not None)
            notes.append(
                f"{c.name}: VS mixes two definitions: {with_sem} of {len(rendered)} rendered "
                "task(s) have a semantic term (the run was resumed with another image embedder)."
            )
    no_cbb = [c for c in conditions if not c.cbb_available and c.overall["n"]]
    if no_cbb:
        embedders = sorted({repr((c.run.options or {}).get("code_embedder")) for c in no_cbb})
        notes.append(
            f"CBB is null in {_who([c.name for c in no_cbb], conditions)}: no CodeBERT (codebert "
            f"is null in every result; run option code_embedder = {', '.join(embedders)}); "
            "code-vs-visual correlations use CodeBLEU there."
        )
    for c in conditions:
        with_cbb = c.overall["counts"].get("cbb", 0)
        if 0 < with_cbb < c.overall["n"]:
            notes.append(
                f"{c.name}: CBB is over {with_cbb} of {c.overall['n']} tasks (CodeBERT was "
                "missing for the others, e.g. the run was resumed without it)."
            )
        if c.run.total and c.overall["n"] < c.run.total:
            notes.append(
                f"{c.name}: {c.overall['n']} of {c.run.total} tasks scored (status "
                f"{c.run.live_status}); its numbers are over the scored tasks only."
            )
        # summarize's own notes (reference failures, infra errors), minus the VS one said above
        notes += [f"{c.name}: {n}" for n in c.stats["notes"] if not n.startswith("no image")]
    hashes: dict[str, set[str]] = {}
    for c in conditions:
        for r in c.rows:
            hashes.setdefault(r["task_id"], set()).add(r.get("task_hash") or "")
    changed = sorted(t for t, h in hashes.items() if len(h) > 1)
    if changed:
        notes.append(
            f"{len(changed)} task(s) differ between runs (prompt or reference changed: "
            f"{', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}); their rows are not "
            "comparable."
        )
    return notes


# --- per task -------------------------------------------------------------------------------------


def _task_views(
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
        tags = ref_row.get("tags") if isinstance(ref_row.get("tags"), dict) else {}
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
                    )
                    for c, r in pairs
                ],
            )
        )
    return views


def _natural_key(text: str) -> list[Any]:
    """Sort "task2" before "task10"."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _first_output(result: Any) -> str | None:
    if not isinstance(result, dict) or not result.get("ok"):
        return None
    outputs = result.get("outputs") or []
    return str(outputs[0]) if outputs else None


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
        return replace(strip, note=f"first scene shown; {extra} more not shown")
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
    lines = []
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
    """Task descriptions: from agent transcripts, else from the run's dataset when it is a local
    file whose task still hashes the same (a hub dataset is not fetched: no network here)."""
    from manimatic.bench.datasets import DatasetError, load_dataset

    prompts: dict[str, str] = {}
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


# --- writing --------------------------------------------------------------------------------------


def write_report(report: Report, out_dir: str | Path) -> ReportFiles:
    """Write `report.html` (self-contained) and `report.md` (+ `report_files/*.png`).

    Args:
        report: From `build_report`.
        out_dir: Created if needed; earlier report files in it are replaced.

    Returns:
        The paths written.
    """
    from manimatic.bench.report_html import render_html

    out = Path(out_dir).expanduser()
    files = out / FILES_DIR
    files.mkdir(parents=True, exist_ok=True)
    for old in [*files.glob("plot-*.png"), *files.glob("task-*.png")]:
        old.unlink()  # a task or plot that is gone must not linger from an earlier report
    images: list[Path] = []

    def save(name: str, png: bytes) -> str:
        path = files / name
        path.write_bytes(png)
        images.append(path)
        return f"{FILES_DIR}/{name}"

    html_path = out / HTML_NAME
    html_path.write_text(render_html(report), encoding="utf-8")
    md_path = out / MARKDOWN_NAME
    md_path.write_text(render_markdown(report, save), encoding="utf-8")
    return ReportFiles(html=html_path, markdown=md_path, images=images)


def render_markdown(report: Report, save: Callable[[str, bytes], str]) -> str:
    """The report as Markdown; `save(name, png)` stores an image and returns its relative link."""
    out = [
        "# manimatic benchmark report",
        "",
        f"{len(report.conditions)} run(s) from `{report.db}`, made {report.created}.",
        "",
    ]
    if report.notes:
        out += ["**Read the numbers with these notes:**", ""]
        out += [f"- {n}" for n in report.notes] + [""]
    for key in ("summary", "per_type", "failures", "layout"):
        out += render_markdown_table(report.tables[key]) + [""]
    out += ["## Plots", ""]
    for key, title in PLOT_TITLES.items():
        if key in report.plots:
            out += [f"![{title}]({save(f'plot-{key}.png', report.plots[key])})", ""]
    out += render_markdown_table(report.tables["correlation"]) + [""]
    out += render_markdown_table(report.tables["runs"]) + [""]
    out += ["## Tasks", ""]
    for i, task in enumerate(report.tasks):
        out += _markdown_task(task, i, save)
    return "\n".join(out) + "\n"


PLOT_TITLES = {
    "metrics": "Metrics per condition",
    "correlation": "Code vs visual metrics per condition",
    "rounds": "Render attempts needed under RITL / RITL-DOC",
}


def _markdown_task(task: TaskView, index: int, save: Callable[[str, bytes], str]) -> list[str]:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", task.task_id)[:40]
    out = [f"### {task.task_id}" + (f" ({task.type})" if task.type else ""), ""]
    if task.prompt:
        out += ["> " + line for line in task.prompt.strip().splitlines()] + [""]

    def frames(label: str, strip: FrameStrip, suffix: str) -> list[str]:
        if strip.png is None:
            return [f"**{label}**: {strip.note or 'no frames'}", ""]
        link = save(f"task-{index:04d}-{slug}-{suffix}.png", strip.png)
        return [f"**{label}**: {strip.caption()}", "", f"![{label}]({link})", ""]

    out += frames("reference render", task.reference, "ref")
    if task.reference_error:
        out += [f"reference failed: `{_one_line(task.reference_error)}`", ""]
    for j, e in enumerate(task.entries):
        out += frames(e.condition, e.strip, f"{j}")
        r = e.row
        metrics = ", ".join(f"{label} {text}" for label, text in e.metrics)
        out += [("rendered" if r.get("ok") else "**failed**") + f": {metrics}", ""]
        if e.error:
            out += [f"error: `{_one_line(e.error)}`", ""]
        out += [f"- {a}" for a in e.attempts] + ([""] if e.attempts else [])
        if r.get("code"):
            fence = "~~~~" if "```" in r["code"] else "```"
            out += ["<details><summary>code</summary>", "", f"{fence}python"]
            out += [r["code"].rstrip("\n"), fence, "", "</details>", ""]
    return out


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."

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

Tables are built once as `TableModel`s and rendered to both HTML (`report_html`) and Markdown
(`report_markdown`), so the two files cannot disagree. The data is `report_model`'s; the per-task
section is `report_tasks`'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from manimatic.bench.analysis import summarize
from manimatic.bench.report_html import render_html
from manimatic.bench.report_markdown import render_markdown
from manimatic.bench.report_model import (
    FILES_DIR,
    HTML_NAME,
    MARKDOWN_NAME,
    MAX_FRAMES,
    THUMB_WIDTH,
    Report,
    ReportError,
    ReportFiles,
    TaskEntry,
    TaskView,
)
from manimatic.bench.report_plots import all_plots
from manimatic.bench.report_tables import Condition, condition_tables
from manimatic.bench.report_tasks import task_views
from manimatic.bench.store import RunRecord, Store, StoreError, now_iso
from manimatic.metrics.correlation import correlate

__all__ = [
    "MAX_FRAMES",
    "THUMB_WIDTH",
    "Report",
    "ReportError",
    "ReportFiles",
    "TaskEntry",
    "TaskView",
    "build_report",
    "display_model",
    "render_markdown",
    "write_report",
]

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
    for record, name in zip(records, condition_names(records), strict=True):
        rows = store.results(record.id, heavy=True)
        if not rows:
            raise ReportError(
                f"run {record.id} ({name}) has no results yet (0 of {record.total} tasks "
                "scored); run it with `manimatic bench run`, or leave it out of the report."
            )
        conditions.append(_condition(record, name, rows))
    types = _type_order(conditions)
    notes = _notes(conditions)
    tasks = task_views(conditions, frames, thumb_width, workers, notes)
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


def condition_names(records: list[RunRecord]) -> list[str]:
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


def _protocol_note(conditions: list[Condition]) -> str | None:
    """Which evaluation protocol produced the runs (`--protocol`): said once, or per group."""
    if not conditions:
        return None
    by_protocol: dict[str, list[str]] = {}
    for c in conditions:
        by_protocol.setdefault(c.run.protocol, []).append(c.name)
    meaning = {
        "study": "the study's extraction, feedback, timeouts and code metrics",
        "manimatic": "manimatic's own loop and metrics, not the study's",
    }
    if len(by_protocol) == 1:
        (name,) = by_protocol
        return f"Protocol: {name} for every run ({meaning.get(name, name)})."
    parts = "; ".join(f"{name}: {', '.join(names)}" for name, names in sorted(by_protocol.items()))
    return (
        f"Protocol differs between runs ({parts}): numbers from different protocols do not "
        "compare (extraction, feedback, timeouts and code metrics differ)."
    )


def _notes(conditions: list[Condition]) -> list[str]:
    notes = []
    protocol = _protocol_note(conditions)
    if protocol:
        notes.append(protocol)
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


# --- writing --------------------------------------------------------------------------------------


def write_report(report: Report, out_dir: str | Path) -> ReportFiles:
    """Write `report.html` (self-contained) and `report.md` (+ `report_files/*.png`).

    Args:
        report: From `build_report`.
        out_dir: Created if needed; earlier report files in it are replaced.

    Returns:
        The paths written.
    """
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

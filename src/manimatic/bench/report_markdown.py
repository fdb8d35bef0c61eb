"""The report as Markdown, with its images saved beside it (links to `report_files/*.png`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from manimatic.bench.report_media import transcript_markdown, video_links_markdown
from manimatic.bench.report_model import Report, TaskView
from manimatic.bench.report_plots import FrameStrip
from manimatic.bench.report_tables import render_markdown_table


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
    for key in ("summary", "intervals", "paired", "per_type", "failures", "layout"):
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
    out += [*video_links_markdown(task.reference_result), ""]
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
        out += [*video_links_markdown(r.get("render_result")), ""]
        out += transcript_markdown(e.rounds)
        if r.get("code"):
            fence = "~~~~" if "```" in r["code"] else "```"
            out += ["<details><summary>code</summary>", "", f"{fence}python"]
            out += [r["code"].rstrip("\n"), fence, "", "</details>", ""]
    return out


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."

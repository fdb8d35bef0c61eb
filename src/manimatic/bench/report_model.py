"""The report's data: what `report.build_report` makes and the HTML and Markdown writers read.

Plain dataclasses, no behaviour, so the writers (`report_html`, `report_markdown`) depend on this
module and not on the builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.bench.report_plots import FrameStrip
from manimatic.bench.report_tables import Condition, TableModel

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
        rounds: The transcript's rounds (`agent.review.round_views`), read once for every writer.
    """

    condition: str
    row: dict[str, Any]
    strip: FrameStrip
    metrics: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    attempts: list[str] = field(default_factory=list)
    rounds: list[Any] = field(default_factory=list)


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
        reference_result: The reference's stored render result (for its video link).
    """

    task_id: str
    type: str | None
    prompt: str | None
    reference: FrameStrip
    reference_error: str | None
    entries: list[TaskEntry]
    reference_result: dict[str, Any] | None = None


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

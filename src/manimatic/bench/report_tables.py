"""The report's conditions and tables, built once and rendered to both HTML and Markdown.

A `TableModel` is plain data (title, columns, rows of `Cell`s, footnotes); `report_html` and
`render_markdown_table` only lay it out, so the HTML and the Markdown show the same numbers.
Every number is read from `analysis.summarize` (through `Condition.stats`) or from
`metrics.correlation`: nothing is averaged here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from manimatic.bench.analysis import summary_intervals
from manimatic.bench.layout import findings_stats, findings_text
from manimatic.bench.stats import paired_tests
from manimatic.bench.store import RunRecord
from manimatic.critic.findings import KINDS
from manimatic.metrics.correlation import Correlation

RITL_STRATEGIES = ("ritl", "ritl-doc")
PCT_METRICS = ("rsr", "vs", "ssim_term", "semantic_term", "fidelity", "codebleu", "codebert", "cbb")
METRIC_LABELS = {"rsr": "RSR", "vs": "VS", "cbb": "CBB", "fidelity": "fidelity",
                 "codebleu": "CodeBLEU", "rounds": "rounds"}  # fmt: skip
VS_SSIM_MARK = "†"  # VS is the SSIM term only
VS_MIXED_MARK = "‡"  # some rows have a semantic term, some do not
VS_SSIM_NOTE = "† VS = SSIM term only: no image embedder (semantic_term null in every render)."
VS_MIXED_NOTE = "‡ VS mixes rows with and without the semantic term (embedder changed on resume)."
CBB_NOTE = "n/a: CBB is null: no CodeBERT model (codebert null in every result)."


@dataclass
class Condition:
    """One run as one condition of the report.

    Attributes:
        run: The run's record.
        name: `label / strategy` (e.g. `grpo / ritl-doc`), unique within the report.
        model: The model spec as shown in tables.
        rows: The run's result rows, heavy columns included.
        stats: `analysis.summarize(rows)`: overall, by_type, errors, notes.
        vs_basis: `ssim+semantic`, `ssim` (no image embedder), `mixed` or `none` (nothing
            rendered), read from the rows' `semantic_term`.
        cbb_available: Some row has a CBB (CodeBERT was available).
        code_metric: The code metric the correlations use (`cbb`, else `codebleu`).
        correlations: `vs` and `fidelity` against `code_metric`, over the scored tasks.
    """

    run: RunRecord
    name: str
    model: str
    rows: list[dict[str, Any]]
    stats: dict[str, Any]
    vs_basis: str
    cbb_available: bool
    code_metric: str
    correlations: dict[str, Correlation]

    @property
    def overall(self) -> dict[str, Any]:
        """The overall `GroupStats` dict."""
        return self.stats["overall"]

    @property
    def is_ritl(self) -> bool:
        """The run used a strategy with feedback rounds (RITL or RITL-DOC)."""
        return self.run.strategy in RITL_STRATEGIES

    def summary(self) -> dict[str, Any]:
        """The condition as `bench report --json` prints it."""
        o = self.overall
        means = o["means"]
        return {
            "id": self.run.id,
            "condition": self.name,
            "label": self.run.label,
            "model": self.run.model,
            "strategy": self.run.strategy,
            "strategy_args": self.run.strategy_args,
            "protocol": self.run.protocol,
            "status": self.run.live_status,
            "total": self.run.total,
            "n": o["n"],
            "ok": o["ok"],
            "rsr": o["rsr"],
            "vs": means.get("vs"),
            "cbb": means.get("cbb"),
            "fidelity": means.get("fidelity"),
            "codebleu": means.get("codebleu"),
            "rounds": means.get("rounds"),
            "vs_basis": self.vs_basis,
            "cbb_available": self.cbb_available,
            "code_metric": self.code_metric,
            "correlation": {k: v.to_dict() for k, v in self.correlations.items()},
            **summary_intervals(self.stats),
            "stats": self.stats,
        }


@dataclass
class Cell:
    """One table cell.

    Attributes:
        text: What is shown.
        bold: The best value of its column.
        title: A tooltip (HTML only): the exact value or why it is missing.
        numeric: Right-aligned.
        wrap: May break anywhere (long paths), so that a wide table still fits the page.
    """

    text: str
    bold: bool = False
    title: str | None = None
    numeric: bool = False
    wrap: bool = False


@dataclass
class TableModel:
    """A table: rows of cells under columns, optional column groups, footnotes.

    Attributes:
        title: Shown above the table.
        columns: Column headers.
        rows: One list of cells per row, as long as `columns`.
        groups: Header groups above the columns as (label, span), spans summing to the columns.
        footnotes: Lines shown below the table.
    """

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    groups: list[tuple[str, int]] | None = None
    footnotes: list[str] = field(default_factory=list)


def fmt_metric(value: Any, key: str) -> str:
    """A metric as the report shows it: percent for [0, 1] metrics, `-` when missing."""
    if value is None:
        return "-"
    if key in PCT_METRICS:
        return f"{100 * float(value):.1f}%"
    if key == "rounds":
        return f"{float(value):.2f}"
    return str(value)


def task_metrics(row: dict[str, Any], cbb_available: bool) -> list[tuple[str, str]]:
    """One task's metrics as (label, text) pairs, as the per-task views show them."""
    cbb = fmt_metric(row.get("cbb"), "cbb")
    if row.get("cbb") is None and not cbb_available:
        cbb = "n/a"
    rounds = row.get("rounds")
    return [
        ("VS", fmt_metric(row.get("vs"), "vs")),
        ("fidelity", fmt_metric(row.get("fidelity"), "fidelity")),
        ("CBB", cbb),
        ("CodeBLEU", fmt_metric(row.get("codebleu"), "codebleu")),
        ("attempts", "-" if rounds is None else str(rounds)),
        ("layout", findings_text(row.get("findings"))),
    ]


def _metric_cell(cond: Condition, group: dict[str, Any], key: str) -> Cell:
    value = group["rsr"] if key == "rsr" else group["means"].get(key)
    text = fmt_metric(value, key)
    title = None if value is None else f"{value:.6g} over {group['counts'].get(key, group['n'])}"
    ci_key = dict(INTERVAL_KEYS).get(key)
    ci = (cond.stats.get("intervals") or {}).get(ci_key) if group is cond.overall else None
    if title and ci:
        title += f"; 95% bootstrap interval [{ci[0]:.4g}, {ci[1]:.4g}]"
    if key == "vs" and value is not None and cond.vs_basis in ("ssim", "mixed"):
        text += VS_SSIM_MARK if cond.vs_basis == "ssim" else VS_MIXED_MARK
    if key == "cbb" and value is None and group["n"] and not cond.cbb_available:
        text, title = "n/a", "no CodeBERT model: CBB is null"
    return Cell(text, title=title, numeric=True)


def _bold_best(rows: list[list[Cell]], values: list[list[float | None]]) -> None:
    """Bold the highest value of each metric column (when there is more than one row)."""
    if len(rows) < 2:
        return
    for col in range(len(values[0]) if values else 0):
        column = [v[col] for v in values]
        present = [v for v in column if v is not None]
        if len(present) < 2:
            continue
        best = max(present)
        for cells, v in zip(rows, values, strict=True):
            if (x := v[col]) is not None and abs(x - best) < 1e-12:
                cells[col].bold = True


def _footnotes(conditions: list[Condition]) -> list[str]:
    notes = []
    if any(c.vs_basis == "ssim" for c in conditions):
        notes.append(VS_SSIM_NOTE)
    if any(c.vs_basis == "mixed" for c in conditions):
        notes.append(VS_MIXED_NOTE)
    if any(not c.cbb_available for c in conditions):
        notes.append(CBB_NOTE)
    notes.append(
        "RSR over scored tasks; VS and fidelity over tasks whose reference rendered (a failed "
        "render counts 0); code metrics over scored tasks. Bold: best of its column."
    )
    return notes


def condition_tables(conditions: list[Condition], types: list[str]) -> dict[str, TableModel]:
    """The summary, per-Type, failures, correlation and run-details tables."""
    summary_keys = ("rsr", "vs", "cbb", "fidelity", "codebleu")
    rows, values = [], []
    for c in conditions:
        o = c.overall
        cells = [_metric_cell(c, o, k) for k in summary_keys]
        values.append([o["rsr"] if k == "rsr" else o["means"].get(k) for k in summary_keys])
        rows.append(
            [Cell(c.name), Cell(c.model), Cell(str(o["n"]), numeric=True), *cells,
             Cell(fmt_metric(o["means"].get("rounds"), "rounds"), numeric=True),
             Cell(c.run.id)]
        )  # fmt: skip
    _bold_best([r[3:8] for r in rows], values)
    summary = TableModel(
        title="Results per condition",
        columns=["Condition", "Model", "n", "RSR", "VS", "CBB", "fidelity", "CodeBLEU",
                 "rounds", "run"],
        rows=rows,
        footnotes=_footnotes(conditions),
    )  # fmt: skip

    type_keys = ("rsr", "vs", "cbb")
    rows, values = [], []
    for c in conditions:
        cells, vals = [Cell(c.name)], []
        for t in types:
            g = c.stats["by_type"].get(t)
            if g is None:
                cells += [Cell("-", numeric=True) for _ in range(4)]
                vals += [None] * 3
                continue
            cells.append(Cell(str(g["n"]), numeric=True))
            cells += [_metric_cell(c, g, k) for k in type_keys]
            vals += [g["rsr"] if k == "rsr" else g["means"].get(k) for k in type_keys]
        rows.append(cells)
        values.append(vals)
    metric_cells = [[cell for i, cell in enumerate(r[1:]) if i % 4] for r in rows]
    _bold_best(metric_cells, values)
    per_type = TableModel(
        title="Results per Type",
        columns=["Condition"] + ["n", "RSR", "VS", "CBB"] * len(types),
        rows=rows,
        groups=[("", 1)] + [(t, 4) for t in types],
        footnotes=_footnotes(conditions)[:-1],
    )
    return {
        "summary": summary,
        "per_type": per_type,
        "failures": _failures_table(conditions),
        "layout": _layout_table(conditions),
        "correlation": _correlation_table(conditions),
        "runs": _runs_table(conditions),
        "intervals": intervals_table(conditions),
        "paired": paired_table(conditions),
    }


INTERVAL_KEYS = (("rsr", "rsr_ci"), ("vs", "mean_vs_ci"), ("fidelity", "mean_fidelity_ci"),
                 ("codebleu", "mean_codebleu_ci"), ("cbb", "mean_cbb_ci"))  # fmt: skip


def _with_ci(value: float | None, ci: list[float] | None, key: str) -> str:
    if value is None:
        return "-"
    text = fmt_metric(value, key)
    if ci:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text


def intervals_table(conditions: list[Condition]) -> TableModel:
    """Per condition: each headline number with its 95% bootstrap interval, degenerate VS."""
    rows = []
    for c in conditions:
        o, iv = c.overall, c.stats.get("intervals") or {}
        cells = [Cell(c.name), Cell(str(o["n"]), numeric=True)]
        for key, ci_key in INTERVAL_KEYS:
            value = o["rsr"] if key == "rsr" else o["means"].get(key)
            cells.append(Cell(_with_ci(value, iv.get(ci_key), key), numeric=True))
        cells.append(Cell(c.vs_basis))
        cells.append(Cell(str(iv.get("degenerate_vs", 0) or "-"), numeric=True))
        rows.append(cells)
    return TableModel(
        title="Results with 95% bootstrap intervals",
        columns=["Condition", "n", "RSR", "VS", "fidelity", "CodeBLEU", "CBB", "VS terms",
                 "degenerate VS"],
        rows=rows,
        footnotes=[
            "Percent, with the 2.5th-97.5th percentile of 2000 seeded bootstrap resamples of the "
            "tasks in brackets; an interval of zero width means no variation was seen, not "
            "certainty. VS terms: ssim+semantic (the study's), ssim (no image embedder: SSIM "
            "term only), none (nothing rendered). Degenerate VS: tasks with VS >= 95% while "
            "fidelity < 20%: the study's VS can be ~1 for unrelated videos.",
        ],
    )  # fmt: skip


def comparison_pairs(conditions: list[Condition]) -> list[tuple[int, int]]:
    """Pairs of conditions that differ in exactly one of model label and strategy, in order."""
    pairs = []
    for i, a in enumerate(conditions):
        for j in range(i + 1, len(conditions)):
            b = conditions[j]
            same_label = a.run.label == b.run.label
            same_strategy = a.run.strategy == b.run.strategy
            if same_label != same_strategy:
                pairs.append((i, j))
    if not pairs and len(conditions) > 1:  # unrelated runs: each against the first
        pairs = [(0, j) for j in range(1, len(conditions))]
    return pairs


def paired_table(conditions: list[Condition]) -> TableModel:
    """Paired tests: McNemar on render success, paired bootstrap on VS, fidelity, CodeBLEU."""
    rows = []
    for i, j in comparison_pairs(conditions):
        a, b = conditions[i], conditions[j]
        t = paired_tests(a.rows, b.rows, ("vs", "fidelity", "codebleu"))
        r = t.render
        cells = [Cell(f"{a.name} -> {b.name}"), Cell(str(t.n), numeric=True),
                 Cell(f"{100 * (r.only_b - r.only_a) / t.n:+.1f} pp" if t.n else "-",
                      numeric=True),
                 Cell(f"{r.only_a}/{r.only_b}", numeric=True),
                 Cell(f"{r.p_value:.3g} ({r.method})", numeric=True)]  # fmt: skip
        for metric in ("vs", "fidelity", "codebleu"):
            m = t.metrics[metric]
            if m["delta_pp"] is None:
                cells += [Cell("-", numeric=True), Cell("-", numeric=True)]
                continue
            lo, hi = m["ci_pp"]
            cells.append(Cell(f"{m['delta_pp']:+.1f} [{lo:+.1f}, {hi:+.1f}]", numeric=True))
            cells.append(Cell(f"{m['p_value']:.3g}", numeric=True))
        rows.append(cells)
    return TableModel(
        title="Paired comparisons (same tasks)",
        columns=["A -> B", "n", "ΔRSR", "ok only A/B", "McNemar p", "ΔVS pp [95% CI]", "p",
                 "Δfidelity pp [95% CI]", "p", "ΔCodeBLEU pp [95% CI]", "p"],
        rows=rows,
        footnotes=[
            "Over tasks scored in both runs. Render success: McNemar's test (exact binomial when "
            "25 or fewer tasks flip, else chi-square with continuity correction). VS, fidelity, "
            "CodeBLEU: paired bootstrap of the difference of means (2000 seeded resamples of "
            "tasks), two-sided p; deltas in percentage points (B - A).",
        ],
    )  # fmt: skip


def _correlation_table(conditions: list[Condition]) -> TableModel:
    columns = ["Condition", "code", "visual", "n", "Pearson r", "p", "Spearman ρ", "p", "note"]
    return TableModel(
        title="Code vs visual metrics (per task, Pearson and Spearman)",
        columns=columns,
        rows=correlation_rows(conditions),
        footnotes=["Over scored tasks with both values; a failed render has VS 0."],
    )


def _failures_table(conditions: list[Condition]) -> TableModel:
    totals: dict[str, int] = {}
    for c in conditions:
        for k, v in c.stats["errors"].items():
            if k != "infra":  # not a failed render: counted in its own column
                totals[k] = totals.get(k, 0) + v
    cats = sorted(totals, key=lambda k: (-totals[k], k))
    rows = []
    for c in conditions:
        o = c.overall
        errors = c.stats["errors"]
        rows.append(
            [Cell(c.name), Cell(str(o["n"] - o["ok"]), numeric=True),
             *[Cell(str(errors.get(k, 0) or "-"), numeric=True) for k in cats],
             Cell(str(o["ref_failures"] or "-"), numeric=True),
             Cell(str(o["infra_errors"] or "-"), numeric=True)]
        )  # fmt: skip
    return TableModel(
        title="Failed renders by error category",
        columns=["Condition", "failed", *cats, "reference failed", "infra (not scored)"],
        rows=rows,
        footnotes=[
            "Categories as in RenderResult.error.category; `infra` rows hit an infrastructure "
            "error (model server, sandbox) and are retried when the run is resumed."
        ],
    )


def _layout_table(conditions: list[Condition]) -> TableModel:
    rows = []
    for c in conditions:
        stats = c.stats.get("findings") or findings_stats(c.rows)
        judged = stats["judged"]
        frac = stats["flagged_fraction"]
        rows.append(
            [Cell(c.name), Cell(str(judged), numeric=True),
             Cell(str(stats["flagged"]), numeric=True),
             Cell("-" if frac is None else f"{100 * frac:.1f}%", numeric=True),
             *[Cell(str(stats["by_kind"].get(k, 0) or "-"), numeric=True) for k in KINDS],
             Cell(str(stats["findings"]), numeric=True)]
        )  # fmt: skip
    return TableModel(
        title="Layout findings on the rendered answers (manimatic critique)",
        columns=["Condition", "judged", "flagged", "flagged %", *KINDS, "findings"],
        rows=rows,
        footnotes=[
            "judged: answers that rendered and were seen by the layout critic; a kind's column "
            "counts tasks with at least one finding of it. Runs stored before the critic "
            "existed have no judged rows."
        ],
    )


def _model_text(run: Any) -> str:
    """The model spec, with the engine that ran it where there was a choice (gguf:)."""
    engine = (run.identity or {}).get("engine")
    return f"{run.model} ({engine})" if engine else run.model


def _runs_table(conditions: list[Condition]) -> TableModel:
    rows = []
    for c in conditions:
        r = c.run
        args = ", ".join(f"{k}={v}" for k, v in sorted(r.strategy_args.items()))
        options = r.options or {}
        commit = (r.git_commit or "-")[:10] + (" (dirty)" if r.git_dirty else "")
        rows.append(
            [Cell(r.id), Cell(c.name), Cell(_model_text(r), wrap=True),
             Cell(r.strategy + (f" ({args})" if args else "")), Cell(r.protocol),
             Cell(f"{r.dataset_spec} [{r.dataset_split}]", wrap=True),
             Cell(f"{r.live_status}, {c.overall['n']}/{r.total}"),
             Cell(f"{options.get('image_embedder') or 'none'} / "
                  f"{options.get('code_embedder') or 'none'}"),
             Cell(f"manim {r.manim_version or '?'}, manimatic {r.manimatic_version or '?'}"),
             Cell(commit), Cell(r.created.replace("T", " ").replace("+00:00", " UTC"))]
        )  # fmt: skip
    return TableModel(
        title="Runs (what produced each condition)",
        columns=["run", "condition", "model", "strategy", "protocol", "dataset", "status",
                 "image / code embedder", "versions", "git", "created"],
        rows=rows,
    )  # fmt: skip


def correlation_rows(conditions: list[Condition]) -> list[list[Cell]]:
    """Per condition and visual metric: n, Pearson r and p, Spearman rho and p (or why not)."""

    def num(v: float | None, fmt: str) -> Cell:
        return Cell("-" if v is None else format(v, fmt), numeric=True)

    rows = []
    for c in conditions:
        for visual, corr in c.correlations.items():
            rows.append(
                [Cell(c.name), Cell(METRIC_LABELS[c.code_metric]), Cell(METRIC_LABELS[visual]),
                 Cell(str(corr.n), numeric=True, title=f"{corr.dropped} pair(s) dropped"),
                 num(corr.pearson, "+.3f"), num(corr.pearson_p, ".3g"),
                 num(corr.spearman, "+.3f"), num(corr.spearman_p, ".3g"),
                 Cell(corr.reason or "")]
            )  # fmt: skip
    return rows


def render_markdown_table(table: TableModel) -> list[str]:
    """A `TableModel` as Markdown lines: a heading, a pipe table, footnotes."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    columns = list(table.columns)
    if table.groups:
        # Markdown has no spanning header: prefix each column with its group's label.
        expanded = [label for label, span in table.groups for _ in range(span)]
        columns = [f"{g} {c}".strip() for g, c in zip(expanded, columns, strict=True)]
    out = [f"## {table.title}", ""]
    if not table.rows:
        return out + ["(none)"]
    out.append("| " + " | ".join(esc(c) for c in columns) + " |")
    out.append("|" + "|".join("---:" if cell.numeric else "---" for cell in table.rows[0]) + "|")
    for row in table.rows:
        texts = [f"**{esc(c.text)}**" if c.bold and c.text else esc(c.text) for c in row]
        out.append("| " + " | ".join(texts) + " |")
    if table.footnotes:
        out += [""] + [f"{n}  " for n in table.footnotes]
    return out

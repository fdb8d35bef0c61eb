"""The study's report: the benchmark report of its matrix, plus a summary of the whole chain.

`write_study_report` writes into STUDY/report/:

* report.html / report.md: `bench.report` over every matrix run (per condition RSR, VS, CBB,
  fidelity, CodeBLEU with 95% bootstrap intervals, paired tests, per Type, code-vs-visual
  correlation, rounds, frames per task);
* study.md / study.html: what produced the numbers (config, model, task subset, wall time per
  stage, training metrics), the condition table with intervals, the paired comparisons the
  study's claims rest on, correlation and rounds per condition, and per claim whether this run
  supports it, contradicts it, or cannot resolve it (a claim is settled only by a paired test
  with p < 0.05; anything else "cannot resolve", whatever the point estimate).

Every number is read from the study's database through `bench.analysis` / `bench.stats`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.bench.report_tables import Cell, TableModel, render_markdown_table
from manimatic.bench.stats import paired_tests
from manimatic.study.config import StudyConfig

ALPHA = 0.05


@dataclass
class Claim:
    """One of the study's claims, tested on this study's matrix.

    Attributes:
        claim: The claim, in words.
        comparison: What was compared ("sft vs base, vanilla, CodeBLEU").
        delta_pp: B - A in percentage points (None without data).
        p_value: The paired test's p.
        verdict: supports, contradicts or cannot resolve.
    """

    claim: str
    comparison: str
    delta_pp: float | None
    p_value: float | None
    verdict: str


def _verdict(delta: float | None, p: float | None, expected_sign: int) -> str:
    if delta is None or p is None or p >= ALPHA or delta == 0:
        return "cannot resolve"
    return "supports" if (delta > 0) == (expected_sign > 0) else "contradicts"


def claims(conditions: list[Any], labels: list[str]) -> list[Claim]:
    """The study's claims, each tested per strategy (or per model) with a paired test."""
    by = {(c.run.label, c.run.strategy): c for c in conditions}
    strategies = list(dict.fromkeys(c.run.strategy for c in conditions))
    grpo_labels = [x for x in labels if x not in ("base", "sft")]
    out: list[Claim] = []

    def add(claim: str, a: Any, b: Any, metric: str, sign: int = 1) -> None:
        if a is None or b is None:
            return
        t = paired_tests(a.rows, b.rows, (metric,) if metric != "rsr" else ())
        if metric == "rsr":
            d, p = t.metrics["rsr"]["delta_pp"], t.render.p_value
        else:
            d, p = t.metrics[metric]["delta_pp"], t.metrics[metric]["p_value"]
        out.append(Claim(claim, f"{b.name} vs {a.name}, {metric}", d, p, _verdict(d, p, sign)))

    for s in strategies:
        for metric in ("codebleu", "cbb"):
            add("SFT raises code metrics", by.get(("base", s)), by.get(("sft", s)), metric)
    for g in grpo_labels:
        for s in strategies:
            for metric in ("rsr", "vs"):
                add("GRPO raises RSR and VS", by.get(("sft", s)), by.get((g, s)), metric)
    for label in labels:
        for lo, hi in (("vanilla", "ritl"), ("ritl", "ritl-doc"), ("vanilla", "ritl-doc")):
            add("RITL-DOC > RITL > Vanilla (RSR)", by.get((label, lo)), by.get((label, hi)), "rsr")
    return [c for c in out if c.delta_pp is not None]


def _claims_table(items: list[Claim]) -> TableModel:
    rows = [
        [Cell(c.claim), Cell(c.comparison),
         Cell("-" if c.delta_pp is None else f"{c.delta_pp:+.1f} pp", numeric=True),
         Cell("-" if c.p_value is None else f"{c.p_value:.3g}", numeric=True), Cell(c.verdict)]
        for c in items
    ]  # fmt: skip
    return TableModel(
        title="The study's claims on this run",
        columns=["claim", "comparison (B vs A)", "Δ (B - A)", "p", "verdict"],
        rows=rows,
        footnotes=[
            f"Paired over the same test tasks: McNemar for RSR, paired bootstrap otherwise. "
            f"'supports' / 'contradicts' only where p < {ALPHA}; every other case, including a "
            "difference of zero (e.g. nothing renders in either), 'cannot resolve'. The "
            "correlation claims (code-vs-visual correlation rises with training, falls with "
            "inference help) are read from the correlation table: with few tasks and few "
            "renders they are rarely defined.",
        ],
    )


def _stages_table(config: StudyConfig, status: Any) -> TableModel:
    rows = []
    for name, s in status.stages.items():
        r = s.result or {}
        m = r.get("metrics") or {}
        detail = []
        for key in ("steps", "train_loss", "best_eval_loss", "reward_mean", "reward_last",
                    "train_tasks", "validation_tasks"):  # fmt: skip
            if m.get(key) is not None:
                v = m[key]
                detail.append(f"{key} {v:.4g}" if isinstance(v, float) else f"{key} {v}")
        if name == "eval" and r.get("runs"):
            detail.append(f"{len(r['runs'])} runs x {len(r.get('tasks') or [])} tasks")
        wall = Cell(f"{s.wall_s / 60:.1f} min", numeric=True)
        shown = "this report" if name == "report" and s.status == "running" else s.status
        rows.append([Cell(name), Cell(shown), wall, Cell(str(s.attempts), numeric=True),
                     Cell(", ".join(detail), wrap=True)])  # fmt: skip
    return TableModel(
        title="Stages",
        columns=["stage", "status", "wall time", "attempts", "outcome"],
        rows=rows,
        footnotes=[
            "Wall time over every attempt that ended (a resumed stage adds up its attempts; an "
            "attempt killed with -9 cannot record its time)."
        ],
    )


def _rounds_table(conditions: list[Any]) -> TableModel:
    rows = []
    for c in conditions:
        rounds = [r.get("rounds") for r in c.rows if r.get("rounds") is not None]
        rendered = [r.get("rounds") for r in c.rows if r.get("ok") and r.get("rounds")]
        mean = sum(rounds) / len(rounds) if rounds else None
        rows.append([Cell(c.name), Cell("-" if mean is None else f"{mean:.2f}", numeric=True),
                     Cell(str(max(rounds)) if rounds else "-", numeric=True),
                     Cell(str(sum(1 for x in rendered if x > 1)), numeric=True)])  # fmt: skip
    return TableModel(
        title="Render attempts used",
        columns=["condition", "mean attempts", "most", "rendered after feedback"],
        rows=rows,
    )


def write_study_report(root: Path, config: StudyConfig, status: Any) -> dict[str, Any]:
    """Write STUDY/report/ (the benchmark report and the study summary); returns the paths."""
    from manimatic.bench.report import build_report, write_report
    from manimatic.bench.report_html import CSS, table_html
    from manimatic.bench.store import Store
    from manimatic.study.runner import DB_FILE, REPORT_DIR, StudyError

    runs = (status.stages["eval"].result or {}).get("runs") or []
    if not runs:
        raise StudyError("the eval stage has no runs to report; run it first.")
    out = root / REPORT_DIR
    with Store(root / DB_FILE) as store:
        report = build_report(store, [r["run_id"] for r in runs], frames=config.report_frames)
    files = write_report(report, out)
    tables = [
        _stages_table(config, status),
        report.tables["intervals"],
        report.tables["paired"],
        _claims_table(claims(report.conditions, config.labels)),
        report.tables["correlation"],
        _rounds_table(report.conditions),
        report.tables["failures"],
    ]
    tasks = (status.stages["eval"].result or {}).get("tasks") or []
    head = [
        f"Study `{config.name}`: config `{config.source}` (digest {status.config_digest}), base "
        f"model `{config.model}`, dataset `{config.dataset}`; the matrix ran on {len(tasks)} "
        f"test task(s) drawn with seed {config.eval.subset_seed}: {', '.join(tasks)}.",
        f"Strategies {', '.join(config.eval.strategies)}, {config.eval.rounds} feedback round(s), "
        f"temperature {config.eval.temperature}, max {config.eval.max_tokens} tokens a reply.",
    ]
    md = ["# manimatic study report", ""] + [f"{h}  " for h in head] + [""]
    if report.notes:
        md += ["**Read the numbers with these notes:**", ""] + [f"- {n}" for n in report.notes]
        md.append("")
    for table in tables:
        md += render_markdown_table(table) + [""]
    md.append("Per task frames, plots and the full tables: [report.md](report.md).")
    (out / "study.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>manimatic study {e(config.name)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>manimatic study: {e(config.name)}</h1></header><main>",
        *[f"<p>{e(h)}</p>" for h in head],
    ]
    if report.notes:
        parts.append('<section class="notes"><h2>Read the numbers with these notes</h2><ul>')
        parts += [f"<li>{e(n)}</li>" for n in report.notes] + ["</ul></section>"]
    for table in tables:
        parts.append(f"<section><h2>{e(table.title)}</h2>{table_html(table)}</section>")
    parts.append('<p><a href="report.html">Per task frames, plots and every table</a></p>')
    parts.append("</main></body></html>")
    (out / "study.html").write_text("\n".join(parts) + "\n", encoding="utf-8")
    return {
        "study_md": str(out / "study.md"),
        "study_html": str(out / "study.html"),
        "html": str(files.html),
        "markdown": str(files.markdown),
        "conditions": [{k: v for k, v in c.items() if k != "stats"} for c in report.summary()],
    }

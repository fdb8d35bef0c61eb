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
from manimatic.bench.stats import (
    paired_bootstrap,
    paired_correlation_delta,
    paired_tests,
    scored_by_task,
)
from manimatic.study.config import StudyConfig

ALPHA = 0.05
RISES = "Code-vs-visual correlation rises with training"
FALLS = "Code-vs-visual correlation falls with inference help"


@dataclass
class Claim:
    """One of the study's claims, tested on this study's matrix.

    Attributes:
        claim: The claim, in words.
        comparison: What was compared ("sft / vanilla vs base / vanilla, codebleu").
        delta: B - A: percentage points, or a difference of Pearson r (see `unit`); None
            without data.
        p_value: The paired test's p.
        verdict: supports, contradicts or cannot resolve.
        unit: "pp" or "r".
    """

    claim: str
    comparison: str
    delta: float | None
    p_value: float | None
    verdict: str
    unit: str = "pp"


def _verdict(delta: float | None, p: float | None, expected_sign: int) -> str:
    if delta is None or p is None or p >= ALPHA or delta == 0:
        return "cannot resolve"
    return "supports" if (delta > 0) == (expected_sign > 0) else "contradicts"


def _feedback_gain(
    cond: dict[tuple[str, str], Any], base: str, g: str, strategy: str
) -> Claim | None:
    """Is g's RSR gain from feedback (strategy over vanilla) larger than base's? Per task."""
    keys = ((base, "vanilla"), (base, strategy), (g, "vanilla"), (g, strategy))
    if any(k not in cond for k in keys):
        return None
    rows = [scored_by_task(cond[k].rows) for k in keys]
    common = sorted(set.intersection(*(set(r) for r in rows)))
    ok = [[float(bool(r[t].get("ok"))) for t in common] for r in rows]
    gain_a = [hi - lo for lo, hi in zip(ok[0], ok[1], strict=True)]
    gain_b = [hi - lo for lo, hi in zip(ok[2], ok[3], strict=True)]
    t = paired_bootstrap(gain_a, gain_b)
    d = None if t.delta is None else 100.0 * t.delta
    return Claim(
        "GRPO makes the model more responsive to feedback",
        f"RSR gain of {strategy} over vanilla, {g} vs {base}",
        d, t.p_value, _verdict(d, t.p_value, 1),
    )  # fmt: skip


def _correlation_change(claim: str, a: Any, b: Any, sign: int) -> Claim | None:
    """Pearson r of the code metric against VS, B vs A, over the tasks scored in both."""
    if a is None or b is None:
        return None
    code = a.code_metric if a.code_metric == b.code_metric else "codebleu"
    ra, rb = scored_by_task(a.rows), scored_by_task(b.rows)
    columns: tuple[list[float], list[float], list[float], list[float]] = ([], [], [], [])
    for t in sorted(set(ra) & set(rb)):
        values = [ra[t].get(code), ra[t].get("vs"), rb[t].get(code), rb[t].get("vs")]
        if ra[t].get("ref_ok") is False or any(v is None for v in values):
            continue
        for column, v in zip(columns, values, strict=True):
            column.append(float(v))  # type: ignore[arg-type]  # checked not None above
    xa, ya, xb, yb = columns
    r = paired_correlation_delta((xa, ya), (xb, yb))
    return Claim(claim, f"{b.name} vs {a.name}, r({code}, vs)", r.delta, r.p_value,
                 _verdict(r.delta, r.p_value, sign), unit="r")  # fmt: skip


def claims(
    conditions: list[Any], labels: list[str], shaping: dict[str, str] | None = None
) -> list[Claim]:
    """The study's claims, each tested per strategy (or per model) with a paired test.

    `shaping` maps each GRPO label to its reward shaping; where both the study's and the staged
    reward were trained, the staged one is tested against the study's (manimatic's own claim).
    """
    by = {(c.run.label, c.run.strategy): c for c in conditions}
    strategies = list(dict.fromkeys(c.run.strategy for c in conditions))
    grpo_labels = [x for x in labels if x not in ("base", "sft")]
    shaping = shaping or {}
    out: list[Claim | None] = []

    def add(claim: str, a: Any, b: Any, metric: str, sign: int = 1) -> None:
        if a is None or b is None:
            return
        t = paired_tests(a.rows, b.rows, (metric,) if metric != "rsr" else ())
        if metric == "rsr":
            d, p = t.metrics["rsr"]["delta_pp"], t.render.p_value
        else:
            d, p = t.metrics[metric]["delta_pp"], t.metrics[metric]["p_value"]
        if d is None:  # the metric was not measured (e.g. CBB without CodeBERT)
            return
        out.append(Claim(claim, f"{b.name} vs {a.name}, {metric}", d, p, _verdict(d, p, sign)))

    for s in strategies:
        for metric in ("codebleu", "cbb"):
            add("SFT raises code metrics", by.get(("base", s)), by.get(("sft", s)), metric)
    for g in grpo_labels:
        for s in strategies:
            for metric in ("rsr", "vs"):
                add("GRPO raises RSR and VS", by.get(("sft", s)), by.get((g, s)), metric)
        for s in strategies:
            if s != "vanilla":
                out.append(_feedback_gain(by, "sft", g, s))
    for label in labels:
        for lo, hi in (("vanilla", "ritl"), ("ritl", "ritl-doc"), ("vanilla", "ritl-doc")):
            add("RITL-DOC > RITL > Vanilla (RSR)", by.get((label, lo)), by.get((label, hi)), "rsr")
    for s in strategies:
        for lo, hi in (("base", "sft"), *(("sft", g) for g in grpo_labels)):
            out.append(_correlation_change(RISES, by.get((lo, s)), by.get((hi, s)), 1))
    for label in labels:
        for hi in ("ritl", "ritl-doc"):
            a, b = by.get((label, "vanilla")), by.get((label, hi))
            out.append(_correlation_change(FALLS, a, b, -1))
    staged = [g for g in grpo_labels if shaping.get(g) == "staged"]
    plain = [g for g in grpo_labels if shaping.get(g, "study") == "study"]
    for g_staged in staged:
        for g_study in plain:
            for s in strategies:
                add("The staged reward raises RSR over the study's (manimatic)",
                    by.get((g_study, s)), by.get((g_staged, s)), "rsr")  # fmt: skip
    return [c for c in out if c is not None]


def _delta_text(c: Claim) -> str:
    if c.delta is None:
        return "-"
    return f"{c.delta:+.1f} pp" if c.unit == "pp" else f"{c.delta:+.2f} r"


def _claims_table(items: list[Claim]) -> TableModel:
    rows = [
        [Cell(c.claim), Cell(c.comparison),
         Cell(_delta_text(c), numeric=True),
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
            "difference of zero (e.g. nothing renders in either), 'cannot resolve'. Feedback "
            "responsiveness: paired bootstrap of the per-task RSR gain (feedback strategy minus "
            "vanilla) of the GRPO model against the SFT model's. Correlation claims: Pearson r "
            "of the code metric against VS, bootstrap of r(B) - r(A) over the tasks scored in "
            "both (undefined, hence 'cannot resolve', while VS is constant, e.g. nothing "
            "renders).",
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


def _shaping(config: StudyConfig) -> dict[str, str]:
    """Each GRPO label's reward shaping (the training config's default: the study's)."""
    return {
        g: str(config.train_fields(g).get("reward_shaping", "study")) for g in config.grpo_variants
    }


def _models(conditions: list[Any], root: Path) -> list[str]:
    """Each label's model spec (study paths shortened to STUDY/) and the engine that ran it."""
    seen: dict[str, str] = {}
    for c in conditions:
        spec = str(c.run.model).replace(str(root), "STUDY")
        engine = (c.run.identity or {}).get("engine")
        seen.setdefault(
            c.run.label, f"{c.run.label} = `{spec}`" + (f" on {engine}" if engine else "")
        )
    return list(seen.values())


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
        _claims_table(claims(report.conditions, config.labels, _shaping(config))),
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
        "Models: " + "; ".join(_models(report.conditions, root)) + ".",
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
        *[f"<p>{e(h.replace('`', ''))}</p>" for h in head],
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

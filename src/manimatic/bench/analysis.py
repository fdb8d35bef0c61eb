"""Numbers from stored results: a run's summary (overall and per Type) and the diff of two runs.

Reads only records (`Store.results`), so it works on any database, during or after a run.

Conventions, the study's where it has one:

* RSR = rendered / scored tasks. A task with an infrastructure error (model server down, broken
  sandbox) is not scored: it is counted apart and retried when the run is resumed.
* VS and fidelity means are over tasks whose *reference* rendered (a failed generation counts 0);
  tasks whose reference failed are counted in `ref_failures` and left out of those means.
* Code metrics (CodeBLEU, CBB...) are over every scored task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from manimatic.bench.layout import findings_stats
from manimatic.bench.stats import (
    INTERVAL_METRICS,
    VISUAL_METRICS,
    degenerate_note,
    metric_values,
    paired_tests,
    run_intervals,
    scored_by_task,
)

MEAN_METRICS = INTERVAL_METRICS  # every mean has its interval
COMPARE_METRICS = ("rsr", "vs", "fidelity", "codebleu", "cbb", "rounds")


@dataclass
class GroupStats:
    """Aggregates over a group of results (a run, or one Type within it).

    Attributes:
        n: Scored tasks (infrastructure errors left out).
        ok: Tasks whose generated code rendered.
        rsr: ok / n (None when n is 0).
        ref_failures: Scored tasks whose reference did not render (left out of visual means).
        infra_errors: Tasks with an infrastructure error (not scored).
        means: Mean of each metric over the tasks it applies to (None when none).
        counts: How many values each mean is over.
        tokens: Total tokens reported by the model.
    """

    n: int = 0
    ok: int = 0
    rsr: float | None = None
    ref_failures: int = 0
    infra_errors: int = 0
    means: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_stats(rows: Iterable[dict[str, Any]]) -> GroupStats:
    """Aggregate result rows (as returned by `Store.results`)."""
    rows = list(rows)
    scored = [r for r in rows if not r.get("infra_error")]
    stats = GroupStats(n=len(scored), infra_errors=len(rows) - len(scored))
    stats.ok = sum(1 for r in scored if r.get("ok"))
    stats.rsr = stats.ok / stats.n if stats.n else None
    stats.ref_failures = sum(1 for r in scored if r.get("ref_ok") is False)
    stats.tokens = sum(int(r.get("total_tokens") or 0) for r in scored)
    for metric in MEAN_METRICS:
        values = metric_values(scored, metric)
        stats.means[metric] = sum(values) / len(values) if values else None
        stats.counts[metric] = len(values)
    return stats


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A run's statistics: overall, per Type, and the failure categories.

    Returns:
        `{"overall": GroupStats dict, "by_type": {type: GroupStats dict}, "errors": {category:
        count}, "intervals": `stats.run_intervals` (95% bootstrap `*_ci` as [low, high],
        degenerate-VS count), "notes": [...], "findings": layout.findings_stats}`.
    """
    rows = list(rows)
    by_type: dict[str, list[dict[str, Any]]] = {}
    errors: dict[str, int] = {}
    for r in rows:
        tags = r["tags"] if isinstance(r.get("tags"), dict) else {}
        by_type.setdefault(str(tags.get("type") or "untyped"), []).append(r)
        if not r.get("ok"):
            key = r.get("error_category") or "unknown"
            errors[key] = errors.get(key, 0) + 1
    overall = group_stats(rows)
    notes = []
    if overall.ref_failures:
        notes.append(
            f"{overall.ref_failures} reference(s) did not render: left out of the VS and "
            "fidelity means"
        )
    if overall.infra_errors:
        notes.append(
            f"{overall.infra_errors} task(s) hit an infrastructure error: not scored; run the "
            "same command again to retry them"
        )
    if overall.counts.get("vs") and overall.counts.get("semantic_term", 0) == 0:
        notes.append("no image embedder: VS is the SSIM term only (semantic term null)")
    intervals = run_intervals(rows)
    degenerate = degenerate_note(intervals["degenerate_vs"], overall.counts.get("vs", 0))
    if degenerate:
        notes.append(degenerate)
    return {
        "overall": overall.to_dict(),
        "intervals": intervals,
        "by_type": {k: group_stats(v).to_dict() for k, v in sorted(by_type.items())},
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        "notes": notes,
        "findings": findings_stats(rows),
    }


@dataclass
class Comparison:
    """The diff of two runs over the tasks both have scored.

    Attributes:
        a: Run A's id.
        b: Run B's id.
        common: Tasks scored in both (the paired set every number below is over).
        only_a: Task ids scored in A only.
        only_b: Task ids scored in B only.
        metrics: Per metric `{"a", "b", "delta", "n"}` (delta = b - a), means over common tasks.
        ok_to_fail: Tasks that rendered in A and fail in B.
        fail_to_ok: Tasks that failed in A and render in B.
        vs_changes: Per common task with VS in both, `{"id", "a", "b", "delta"}`, largest drop
            first.
        tests: `stats.paired_tests`: McNemar on render success (`render`) and a paired bootstrap
            per metric with the delta and its 95% interval in percentage points (`metrics`).
    """

    a: str
    b: str
    common: int
    only_a: list[str]
    only_b: list[str]
    metrics: dict[str, dict[str, Any]]
    ok_to_fail: list[str]
    fail_to_ok: list[str]
    vs_changes: list[dict[str, Any]]
    tests: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    run_a: str, rows_a: list[dict[str, Any]], run_b: str, rows_b: list[dict[str, Any]]
) -> Comparison:
    """Compare two runs task by task (paired over the tasks both scored)."""
    a, b = scored_by_task(rows_a), scored_by_task(rows_b)
    common = sorted(set(a) & set(b))
    metrics: dict[str, dict[str, Any]] = {}
    for metric in COMPARE_METRICS:
        pairs = []
        for tid in common:
            if metric == "rsr":
                pairs.append((float(bool(a[tid].get("ok"))), float(bool(b[tid].get("ok")))))
                continue
            if metric in VISUAL_METRICS and (
                a[tid].get("ref_ok") is False or b[tid].get("ref_ok") is False
            ):
                continue
            va, vb = a[tid].get(metric), b[tid].get(metric)
            if va is not None and vb is not None:
                pairs.append((float(va), float(vb)))
        if pairs:
            ma = sum(p[0] for p in pairs) / len(pairs)
            mb = sum(p[1] for p in pairs) / len(pairs)
            metrics[metric] = {"a": ma, "b": mb, "delta": mb - ma, "n": len(pairs)}
        else:
            metrics[metric] = {"a": None, "b": None, "delta": None, "n": 0}
        if metric != "rounds":  # [0, 1] metrics: the delta in percentage points too
            delta = metrics[metric]["delta"]
            metrics[metric]["delta_pp"] = None if delta is None else 100.0 * delta
    vs_changes = [
        {"id": tid, "a": a[tid]["vs"], "b": b[tid]["vs"], "delta": b[tid]["vs"] - a[tid]["vs"]}
        for tid in common
        if a[tid].get("vs") is not None and b[tid].get("vs") is not None
    ]
    vs_changes.sort(key=lambda c: c["delta"])
    return Comparison(
        a=run_a,
        b=run_b,
        common=len(common),
        only_a=sorted(set(a) - set(b)),
        only_b=sorted(set(b) - set(a)),
        metrics=metrics,
        ok_to_fail=[t for t in common if a[t].get("ok") and not b[t].get("ok")],
        fail_to_ok=[t for t in common if not a[t].get("ok") and b[t].get("ok")],
        vs_changes=vs_changes,
        tests=paired_tests(rows_a, rows_b, ("vs", "fidelity", "codebleu", "cbb")).to_dict(),
    )


@dataclass
class RunSummary:
    """What a `run_bench` call did, and the run's numbers so far.

    Attributes:
        run_id: The run (stable for the same command).
        model: The model spec (or `reference`, or `generations:FILE`).
        strategy: The strategy name (`none` for reference and generations).
        label: The condition label.
        db: The database file.
        status: done (every task scored), incomplete (a limit, or infra errors to retry),
            aborted (too many infra errors in a row).
        resumed: The run existed before this call.
        total: Tasks in the run's task set (split and type filter, no limit).
        done: Tasks scored and stored (all calls together).
        skipped: Tasks already stored when this call started.
        new: Tasks scored by this call.
        ok: Scored tasks whose code rendered.
        rsr: ok / done.
        mean_vs: Mean VS over tasks whose reference rendered.
        mean_fidelity: Mean fidelity over the same tasks.
        mean_codebleu: Mean CodeBLEU.
        mean_cbb: Mean CBB (None without CodeBERT).
        infra_errors: Tasks whose last attempt hit an infrastructure error.
        ref_failures: Scored tasks whose reference did not render.
        unknown_generation_ids: Ids in the generations file that name no task.
        missing_generations: Tasks the generations file has no code for (scored as failures).
        dataset_problems: Dataset rows skipped, with file and line.
        notes: Anything else a reader should know (embedder missing, ...).
        elapsed_s: Wall time of this call.
        stats: `analysis.summarize` of the whole run (overall, per Type, error categories).
        rsr_ci, mean_vs_ci, mean_fidelity_ci, mean_codebleu_ci, mean_cbb_ci: 95% bootstrap
            intervals as [low, high] (`stats.run_intervals`; None where the mean is None).
        degenerate_vs: Tasks whose VS >= 0.95 while fidelity < 0.2 (VS misleads there).
        protocol: The evaluation protocol, "manimatic" or "study" (`agent.protocol`).
    """

    run_id: str
    model: str
    strategy: str
    label: str | None
    db: str
    status: str
    resumed: bool
    total: int
    done: int
    skipped: int
    new: int
    ok: int
    rsr: float | None
    mean_vs: float | None
    mean_fidelity: float | None
    mean_codebleu: float | None
    mean_cbb: float | None
    infra_errors: int
    ref_failures: int
    unknown_generation_ids: list[str] = field(default_factory=list)
    missing_generations: int = 0
    dataset_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    rsr_ci: list[float] | None = None
    mean_vs_ci: list[float] | None = None
    mean_fidelity_ci: list[float] | None = None
    mean_codebleu_ci: list[float] | None = None
    mean_cbb_ci: list[float] | None = None
    degenerate_vs: int = 0
    protocol: str = "manimatic"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SUMMARY_INTERVALS = ("rsr_ci", "mean_vs_ci", "mean_fidelity_ci", "mean_codebleu_ci", "mean_cbb_ci")


def summary_intervals(stats: dict[str, Any]) -> dict[str, Any]:
    """The `RunSummary` interval fields from a `summarize` result."""
    intervals = stats.get("intervals") or {}
    out: dict[str, Any] = {k: intervals.get(k) for k in SUMMARY_INTERVALS}
    out["degenerate_vs"] = int(intervals.get("degenerate_vs") or 0)
    return out

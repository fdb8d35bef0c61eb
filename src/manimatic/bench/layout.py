"""Layout findings in the benchmark: the critic on each answer's render, counted per condition.

Every answer is rendered with its scene trace (for fidelity), so the critic costs no render: each
row stores its findings (`Finding.to_dict()` list; NULL when the answer did not render, or the
critic could not judge it), and `findings_stats` counts them for a run.
"""

from __future__ import annotations

import time
from typing import Any

from manimatic.critic.findings import KINDS


def answer_findings(result: Any) -> tuple[list[dict[str, Any]] | None, float]:
    """The critic's findings on a render and the time it took; None for a failed render.

    Never raises: a critic problem must not lose a scored task (it is left unjudged).
    """
    if result is None or not getattr(result, "ok", False):
        return None, 0.0
    started = time.perf_counter()
    try:
        from manimatic.critic import critique_render

        report = critique_render(result)
    except Exception:  # noqa: BLE001 - unjudged, never a failed task
        return None, time.perf_counter() - started
    return [f.to_dict() for f in report.findings], time.perf_counter() - started


def findings_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"judged", "flagged", "flagged_fraction", "findings", "by_kind": {kind: tasks}}`.

    `judged` counts rows whose render the critic saw; `by_kind` counts tasks with at least one
    finding of the kind (a task with three overlaps counts once), `findings` all findings.
    """
    judged = flagged = total = 0
    by_kind = dict.fromkeys(KINDS, 0)
    for row in rows:
        findings = row.get("findings")
        if not isinstance(findings, list):
            continue
        judged += 1
        total += len(findings)
        if findings:
            flagged += 1
        for kind in {f.get("kind") for f in findings if isinstance(f, dict)}:
            if kind in by_kind:
                by_kind[kind] += 1
    return {
        "judged": judged,
        "flagged": flagged,
        "flagged_fraction": flagged / judged if judged else None,
        "findings": total,
        "by_kind": by_kind,
    }


def findings_text(findings: list[dict[str, Any]] | None) -> str:
    """A task's findings in one short line for the per-task views."""
    if findings is None:
        return "-"
    if not findings:
        return "none"
    kinds: dict[str, int] = {}
    for f in findings:
        kinds[f.get("kind", "?")] = kinds.get(f.get("kind", "?"), 0) + 1
    return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())

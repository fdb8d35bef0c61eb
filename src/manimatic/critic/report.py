"""Critique of a render: every check over every scene, as one `CritiqueReport`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.critic.findings import KINDS, Finding, count_by_kind
from manimatic.critic.frame_checks import check_empty_frames
from manimatic.critic.layout_checks import check_off_frame, check_overlap
from manimatic.critic.legibility_checks import check_invisible, check_tiny_text
from manimatic.critic.thresholds import DEFAULT, Thresholds
from manimatic.critic.timeline import Timeline, load_timeline
from manimatic.render.result import RenderError, RenderResult


@dataclass
class CritiqueReport:
    """What the critic found in one file.

    Attributes:
        file: The file (or None for code given as text).
        rendered: Whether the code rendered (a failed render has no layout to judge).
        findings: The defects, in scene order then time order.
        error: Why the render failed, when it did.
        outputs: The rendered videos or images the findings refer to.
        elapsed_s: The critic's own time (reading traces, decoding frames, checking), not the
            render's.
        skipped: Checks left out and why (e.g. geometry in a 3-D scene).
    """

    file: str | None
    rendered: bool
    findings: list[Finding] = field(default_factory=list)
    error: RenderError | None = None
    outputs: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Rendered, and nothing a viewer would see as wrong."""
        return self.rendered and not self.findings

    def counts(self) -> dict[str, int]:
        return count_by_kind(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The `manimatic critique --json` object."""
        data: dict[str, Any] = {
            "file": self.file,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
        }
        data["rendered"] = self.rendered
        data["error"] = self.error.to_dict() if self.error else None
        if data["error"]:
            data["error"].pop("traceback", None)
        data["critic_s"] = round(self.elapsed_s, 4)
        if self.skipped:
            data["skipped"] = list(self.skipped)
        return data


def critique_timeline(timeline: Timeline, thresholds: Thresholds = DEFAULT) -> list[Finding]:
    """The trace checks on one scene (no frames: empty_frame needs the video)."""
    findings: list[Finding] = []
    if not timeline.three_d:  # a 3-D trace holds unprojected points: no screen geometry
        findings += check_off_frame(timeline, thresholds)
        findings += check_overlap(timeline, thresholds)
        findings += check_tiny_text(timeline, thresholds)
    findings += check_invisible(timeline, thresholds)
    return findings


def _order(finding: Finding) -> tuple[float, int]:
    return (finding.time, KINDS.index(finding.kind))


def _distinct(findings: list[Finding]) -> list[Finding]:
    """One finding per distinct defect: seven equal labels on one formula read as one problem."""
    seen: set[tuple[str, tuple[str, ...], str]] = set()
    out = []
    for finding in findings:
        key = (finding.kind, tuple(finding.objects), finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def critique_render(result: RenderResult, thresholds: Thresholds = DEFAULT) -> CritiqueReport:
    """Run every check on a render made with `trace=True`.

    A failed render gives a report with `rendered=False` and its error; a render without traces
    is judged on its frames only, and says so in `skipped`.
    """
    started = time.perf_counter()
    report = CritiqueReport(file=result.file, rendered=result.ok, outputs=list(result.outputs))
    if not result.ok:
        report.error = result.error
        return report
    traces = list(result.traces)
    if not traces:
        report.skipped.append("trace checks: the render has no scene trace (render with trace)")
    for i, output in enumerate(result.outputs):
        scene = result.scenes[i] if i < len(result.scenes) else None
        timeline = None
        if i < len(traces):
            try:
                timeline = load_timeline(traces[i], scene=scene)
            except ValueError as exc:
                report.skipped.append(f"trace checks for {scene or output}: {exc}")
        scene_findings: list[Finding] = []
        if timeline is not None:
            if timeline.three_d:
                report.skipped.append(
                    f"off_frame/overlap/tiny_text for {scene}: a 3-D scene's trace is not "
                    "projected to the screen"
                )
            scene_findings += critique_timeline(timeline, thresholds)
        try:
            scene_findings += check_empty_frames(
                output, timeline.background if timeline else None, thresholds, scene
            )
        except ValueError as exc:
            report.skipped.append(f"empty_frame for {Path(output).name}: {exc}")
        report.findings += _distinct(sorted(scene_findings, key=_order))
    if len(result.outputs) > 1:  # name the scene when a file has several
        for finding in report.findings:
            if finding.scene and not finding.message.startswith(f"[{finding.scene}]"):
                finding.message = f"[{finding.scene}] {finding.message}"
    report.elapsed_s = time.perf_counter() - started
    return report

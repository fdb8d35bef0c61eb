"""The layout critic: what renders but looks wrong, found from the scene trace and the frames.

Kinds of findings (`KINDS`): `off_frame`, `overlap`, `tiny_text`, `invisible`, `empty_frame`.
Quick use::

    from manimatic.critic import critique_render
    from manimatic.render import render_code
    report = critique_render(render_code(code, trace=True))
    for finding in report.findings:
        print(finding.kind, finding.time, finding.message)
"""

from manimatic.critic.feedback import critic_messages, format_findings
from manimatic.critic.findings import KINDS, Finding, count_by_kind
from manimatic.critic.report import CritiqueReport, critique_render, critique_timeline
from manimatic.critic.thresholds import DEFAULT, Thresholds
from manimatic.critic.timeline import Timeline, load_timeline

__all__ = [
    "DEFAULT",
    "KINDS",
    "CritiqueReport",
    "Finding",
    "Thresholds",
    "Timeline",
    "count_by_kind",
    "critic_messages",
    "critique_render",
    "critique_timeline",
    "format_findings",
    "load_timeline",
]

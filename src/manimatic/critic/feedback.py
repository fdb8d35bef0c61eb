"""Findings as feedback for a model: what the agent sends back after a render with findings."""

from __future__ import annotations

from manimatic.critic.findings import Finding

MAX_FINDINGS = 8  # a long list buries the first defects; the next round reports the rest


def format_findings(findings: list[Finding], *, limit: int = MAX_FINDINGS) -> str:
    """A structured, numbered list of defects with their fixes, for the next prompt."""
    if not findings:
        return "The render has no layout problems."
    lines = [
        f"The code renders, but the layout critic found {len(findings)} visible "
        f"problem{'s' if len(findings) != 1 else ''} in the video:"
    ]
    for n, finding in enumerate(findings[:limit], 1):
        objects = ", ".join(finding.objects) or "the frame"
        lines.append(
            f"{n}. [{finding.kind}] at {finding.time:.1f} s ({objects}): {finding.message}. "
            f"Fix: {finding.suggestion}."
        )
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more of the same kinds.")
    lines.append(
        "Rewrite the complete program so that these problems are gone, keeping everything "
        "else the description asks for."
    )
    return "\n".join(lines)

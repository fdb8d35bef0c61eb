"""Findings as feedback for a model: what the agent sends back after a render with findings.

A critic round is a fresh conversation like a RITL round (system prompt + one user turn), but it
says the code rendered: the model is asked to fix the layout, not a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manimatic.critic.findings import Finding

if TYPE_CHECKING:
    from manimatic.agent.prompts import PromptSet
    from manimatic.llm import Message

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


def critic_messages(
    description: str, code: str, findings: list[Finding], prompts: PromptSet | None = None
) -> list[Message]:
    """The prompt of a critic round: the task, the code that rendered, and its findings.

    Built from the run's prompt set (its task turn, answer format and feedback system prompt),
    so a critic round speaks the same protocol as the RITL rounds around it.
    """
    from manimatic.agent.prompts import answer_text, load_prompts
    from manimatic.llm import Message

    chosen = load_prompts(prompts)
    turn = "\n\n".join(
        [
            chosen.render("user", description=description.strip(), code="", errors="", api_info=""),
            f"Your previous code:\n{answer_text(code, chosen)}",
            f"<LAYOUT_FEEDBACK>\n{format_findings(findings)}\n</LAYOUT_FEEDBACK>",
            "Answer with the complete corrected program in the same format.",
        ]
    )
    return [Message("system", chosen.system_for("feedback")), Message("user", turn)]

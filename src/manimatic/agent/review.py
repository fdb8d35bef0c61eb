"""A transcript's rounds as a reader reviews them: prompt, reply, code and its diffs, outcome.

Read from the transcript's JSON form (`Transcript.to_dict()`, as the bench store and the
generation log keep it), so it works on any stored record, old or new; keys a newer version adds
(the layout critic's `findings`) are shown when present. The viewer (`manimatic view`) and the
static bench report both build their round transcripts from `round_views`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from manimatic.agent.feedback import error_summary
from manimatic.render import RenderResult

DIFF_CONTEXT = 2


@dataclass
class RoundView:
    """One model call of a transcript, ready to show.

    Attributes:
        index: 1-based position among the calls.
        attempt: The render attempt it belongs to.
        kind: initial, doc_pass or feedback.
        prompt: The last user message sent (what this call asked).
        system: The system message, when there was one.
        reply: The raw reply (None when the call failed).
        code: The code extracted from the reply (None when there was none).
        extraction_note: Why no code was extracted, or how it was found.
        diff_previous: Unified diff of `code` against the previous round's code ("" when equal,
            None when there is nothing to compare).
        diff_reference: Unified diff against the reference code, when one is known.
        rendered: Whether this call ended with a render (or a stand-in failure).
        ok: Whether that render succeeded (None when nothing was rendered after this call).
        error: One line on the failure, when it failed.
        feedback: The feedback this failure produced for the next prompt.
        api_info: The `<API_INFO>` put in this call's prompt.
        llm_s: Seconds in the model call.
        render_s: Seconds rendering.
        tokens: Token counts the backend reported.
        notes: The round's notes (doc pass skipped, ...).
        findings: Layout critic findings of this round's render, when the record has them.
        llm_error: The model error that ended the run in this call.
    """

    index: int
    attempt: int
    kind: str
    prompt: str
    system: str | None
    reply: str | None
    code: str | None
    extraction_note: str | None
    diff_previous: str | None
    diff_reference: str | None
    rendered: bool
    ok: bool | None
    error: str | None
    feedback: str | None
    api_info: str | None
    llm_s: float
    render_s: float
    tokens: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    llm_error: str | None = None


def code_diff(old: str | None, new: str | None, old_name: str, new_name: str) -> str | None:
    """A unified diff of two programs ("" when equal; None when either is missing)."""
    if old is None or new is None:
        return None
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=old_name,
        tofile=new_name,
        n=DIFF_CONTEXT,
        lineterm="",
    )
    return "\n".join(lines)


def round_views(transcript: Any, reference_code: str | None = None) -> list[RoundView]:
    """The rounds of a transcript dict (anything else gives no rounds).

    Args:
        transcript: `Transcript.to_dict()` output, as stored.
        reference_code: The task's reference code, for a diff per round.
    """
    if not isinstance(transcript, dict):
        return []
    views: list[RoundView] = []
    previous: str | None = None
    for i, rnd in enumerate(transcript.get("rounds") or [], start=1):
        if not isinstance(rnd, dict):
            continue
        messages = [m for m in rnd.get("messages") or [] if isinstance(m, dict)]
        users = [m for m in messages if m.get("role") == "user"]
        system = next((m for m in messages if m.get("role") == "system"), None)
        raw_extraction = rnd.get("extraction")
        extraction = raw_extraction if isinstance(raw_extraction, dict) else {}
        code = extraction.get("code") if extraction.get("found") else None
        result = rnd.get("result") if isinstance(rnd.get("result"), dict) else None
        ok = bool(result.get("ok")) if result is not None else None
        views.append(
            RoundView(
                index=i,
                attempt=int(rnd.get("attempt") or i),
                kind=str(rnd.get("kind") or ""),
                prompt=str(users[-1].get("content") or "") if users else "",
                system=str(system.get("content")) if system else None,
                reply=rnd.get("reply"),
                code=code,
                extraction_note=extraction.get("reason") or extraction.get("method"),
                diff_previous=code_diff(previous, code, "previous round", f"round {i}"),
                diff_reference=code_diff(reference_code, code, "reference", f"round {i}"),
                rendered=result is not None,
                ok=ok,
                error=_error(result) if result is not None and not ok else None,
                feedback=rnd.get("feedback"),
                api_info=rnd.get("api_info"),
                llm_s=float(rnd.get("llm_s") or 0.0),
                render_s=float(rnd.get("render_s") or 0.0),
                tokens=dict(rnd.get("usage") or {}),
                notes=[str(n) for n in rnd.get("notes") or []],
                findings=_findings(rnd.get("findings"), result),
                llm_error=rnd.get("error"),
            )
        )
        if code is not None:
            previous = code
    return views


def _error(result: dict[str, Any]) -> str:
    try:
        return error_summary(RenderResult.from_dict(result))
    except (TypeError, ValueError, KeyError):  # a record from another version: say what it has
        err = result.get("error") or {}
        return f"{err.get('category') or 'failed'}: {err.get('message') or 'no message'}"


def _findings(direct: Any, result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Critic findings on the round, or inside its render result: `findings`, or the critic's
    report under `critique` (`{"findings": [...]}`)."""
    critique = (result or {}).get("critique")
    nested = critique.get("findings") if isinstance(critique, dict) else None
    for value in (direct, (result or {}).get("findings"), nested):
        if isinstance(value, list):
            return [f for f in value if isinstance(f, dict)]
    return []

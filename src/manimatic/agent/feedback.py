"""RITL feedback: what went wrong in the last round, as text for the next prompt.

The study fed back the last 10 lines of the error. The renderer knows more than that (stage,
category, the failing line, a hint such as "did you mean Create?"), so the feedback leads with that
structure and ends with the traceback tail. Every part is capped, so a 1 MB message or traceback
cannot blow up the prompt: the whole text stays within `max_chars` (3000 by default).

`study_feedback` is the study's own shape, for `--protocol study`: the last 10 lines of what the
renderer wrote to stderr, with no structure and no hints.
"""

from __future__ import annotations

from manimatic.agent.extract import Extraction
from manimatic.render import RenderResult

MAX_FEEDBACK_CHARS = 3000
CONTEXT_LINES = 2  # lines shown on each side of the failing line
_MESSAGE_CHARS = 800
_LINE_CHARS = 160
_HINT_CHARS = 400
_TRACEBACK_LINES = 20
STUDY_FEEDBACK_LINES = 10  # the study feeds back the last 10 lines of the renderer's stderr

NO_CODE_FEEDBACK = "your reply contained no code block; answer with <CODE>```python ...```</CODE>"

STAGE_TEXT = {
    "preflight": "found by the static check before rendering",
    "import": "while importing the module",
    "execute": "while running the scene",
    "output": "the scene ran but wrote no video or image",
    "timeout": "the render took too long and was stopped",
    "sandbox": "the render process was killed (resource limits)",
}


def render_feedback(
    result: RenderResult,
    code: str | None = None,
    *,
    max_chars: int = MAX_FEEDBACK_CHARS,
    hints: bool = True,
) -> str:
    """Describe a failed render for the model: structured error first, traceback tail last.

    Args:
        result: The failed render.
        code: The code that was rendered, to show the failing line with its context; without it
            only the error's own excerpt is shown.
        max_chars: Upper bound on the length of the returned text.
        hints: Include the renderer's hint ("did you mean Create?") when it has one.

    Returns:
        The feedback text (at most `max_chars` characters).
    """
    if result.ok:
        return "The code rendered without errors."
    stage = result.stage or "unknown"
    head = [f"Stage: {stage} ({STAGE_TEXT.get(stage, 'the render failed')})"]
    err = result.error
    if err is None:
        head.append("Error: the renderer gave no details.")
        return _fit("\n".join(head), max_chars)
    # Caps shrink with the budget so a small one still holds every part, not just the message.
    message_cap, hint_cap = min(_MESSAGE_CHARS, max_chars // 4), min(_HINT_CHARS, max_chars // 8)
    line_cap = min(_LINE_CHARS, max_chars // 12)
    message = _cap(" ".join(err.message.split()) if err.message else "", message_cap)
    head.append(f"Error: {err.type} (category {err.category}): {message}".rstrip(": "))
    context = _context(code, err.line, err.excerpt, line_cap)
    if context:
        head.append(context)
    if hints and err.hint:
        head.append(f"Hint: {_cap(err.hint.strip(), hint_cap)}")
    text = "\n".join(head)
    tail = _traceback_tail(err.traceback, max_chars - len(text) - 1, line_cap)
    if tail:
        text += "\n" + tail
    return _fit(text, max_chars)


def renderer_stderr(result: RenderResult) -> str:
    """What `manim FILE` would have written to stderr for this render.

    The pool renders in-process, so the captured stderr holds manim's log lines and the error is
    kept apart; a command-line render prints the traceback (ending in `Type: message`) last, so it
    is appended last here.

    Args:
        result: A render result.

    Returns:
        The stderr text ("" for a clean success).
    """
    parts = [result.stderr.rstrip("\n")] if result.stderr.strip() else []
    err = result.error
    if err is not None:
        if err.traceback and err.traceback.strip():
            parts.append(err.traceback.rstrip("\n"))
        else:
            parts.append(f"{err.type}: {err.message}".rstrip(": "))
    return "\n".join(parts)


def study_feedback(result: RenderResult, lines: int = STUDY_FEEDBACK_LINES) -> str:
    """The study's feedback: the last `lines` lines of the renderer's stderr, nothing added.

    Args:
        result: The failed render.
        lines: How many lines to keep (the study: 10).

    Returns:
        The tail of `renderer_stderr(result)`.
    """
    if result.ok:
        return ""
    return "\n".join(renderer_stderr(result).split("\n")[-lines:])


def no_code_feedback(extraction: Extraction) -> str:
    """Feedback for a reply with no code in it.

    Args:
        extraction: The failed extraction (its `reason` says what the reply looked like).

    Returns:
        The instruction to answer in the expected format, with the reason.
    """
    reason = f" ({_cap(extraction.reason, _HINT_CHARS)})" if extraction.reason else ""
    return NO_CODE_FEEDBACK + reason


def too_large_feedback(size: int, limit: int) -> str:
    """Feedback for a reply whose code is too large to be a scene.

    Args:
        size: Size of the code in bytes.
        limit: The limit in bytes.

    Returns:
        The message asking for a shorter scene.
    """
    return (
        f"your code is {size:,} bytes, over the {limit:,}-byte limit for one scene, and was not "
        "rendered; write a short scene (a few KB) that only shows what the description asks for"
    )


def error_summary(result: RenderResult) -> str:
    """One line for people: `NameError: name 'x' is not defined (line 7, stage execute)`.

    Args:
        result: A render result.

    Returns:
        "ok" for a successful render, else the short error description.
    """
    if result.ok:
        return "ok"
    err = result.error
    if err is None:
        return f"failed at stage {result.stage}"
    where = f"line {err.line}, " if err.line else ""
    message = _cap(" ".join(err.message.split()), 200)
    return f"{err.type}: {message} ({where}stage {result.stage}, {err.category})"


def _cap(text: str, limit: int) -> str:
    """Keep the head and the tail of a long text (both ends carry the useful part of errors)."""
    if len(text) <= limit:
        return text
    marker = " [...] "
    keep = max(limit - len(marker), 0)
    return text[: keep - keep // 3] + marker + text[len(text) - keep // 3 :]


def _context(code: str | None, line: int | None, excerpt: str | None, line_cap: int) -> str:
    lines = code.split("\n") if code else []
    if line and 1 <= line <= len(lines):
        first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
        width = len(str(last))
        shown = [
            f"{'>>' if n == line else '  '} {n:>{width}} | {_cap(lines[n - 1], line_cap)}"
            for n in range(first, last + 1)
        ]
        return f"Failing line {line} (marked >>):\n" + "\n".join(shown)
    if excerpt and excerpt.strip():
        label = f"Failing line {line}" if line else "Failing code"
        return f"{label}:\n>> {_cap(excerpt.rstrip(), line_cap)}"
    return ""


def _traceback_tail(traceback: str | None, budget: int, line_cap: int) -> str:
    """The last traceback lines that fit in `budget` characters (header included)."""
    if not traceback or not traceback.strip():
        return ""
    header = "Traceback (last lines):"
    budget -= len(header) + 1
    kept: list[str] = []
    for raw in reversed(traceback.strip().split("\n")[-_TRACEBACK_LINES:]):
        line = _cap(raw.rstrip(), line_cap)
        if budget - len(line) - 1 < 0:
            break
        kept.append(line)
        budget -= len(line) + 1
    if not kept:
        return ""
    return header + "\n" + "\n".join(reversed(kept))


def _fit(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    marker = "\n[feedback cut]"
    return text[: max(max_chars - len(marker), 0)] + marker[:max_chars]

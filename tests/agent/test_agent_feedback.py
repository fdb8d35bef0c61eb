"""RITL feedback: structured error, failing line in context, traceback tail, bounded size."""

from __future__ import annotations

import pytest

from manimatic.agent.extract import extract_code
from manimatic.agent.feedback import (
    MAX_FEEDBACK_CHARS,
    NO_CODE_FEEDBACK,
    error_summary,
    no_code_feedback,
    render_feedback,
    too_large_feedback,
)
from manimatic.render import RenderError, RenderResult

CODE = "\n".join(f"line_{n} = {n}" for n in range(1, 11))
TRACEBACK = (
    "Traceback (most recent call last):\n  ... 4 frame(s) inside manim/python ...\n"
    '  File "scene.py", line 6, in construct\n    x = vals[5]\nIndexError: list index out of range'
)


def failed(
    message: str = "list index out of range",
    *,
    line: int | None = 6,
    traceback: str | None = TRACEBACK,
    hint: str | None = "the list has 2 items",
    stage: str = "execute",
) -> RenderResult:
    return RenderResult(
        ok=False,
        stage=stage,
        error=RenderError(
            "index", "IndexError", message, line, "line_6 = 6", hint, traceback=traceback
        ),
    )


def test_structure() -> None:
    text = render_feedback(failed(), CODE)
    assert text.startswith("Stage: execute (while running the scene)")
    assert "Error: IndexError (category index): list index out of range" in text
    assert "Failing line 6 (marked >>):" in text
    assert "\n>> 6 | line_6 = 6\n" in text
    for n in (4, 5, 7, 8):  # two lines of context each side, unmarked
        assert f"\n   {n} | line_{n} = {n}\n" in text
    assert "line_3" not in text and "line_9" not in text
    assert "Hint: the list has 2 items" in text
    assert text.rstrip().endswith("IndexError: list index out of range")
    assert text.index("Hint:") < text.index("Traceback (last lines):")


def test_context_is_clipped_at_the_file_edges() -> None:
    text = render_feedback(failed(line=1), CODE)
    assert ">> 1 | line_1 = 1" in text and "line_3 = 3" in text and "line_4" not in text


def test_without_code_the_excerpt_is_shown() -> None:
    text = render_feedback(failed(), None)
    assert "Failing line 6:\n>> line_6 = 6" in text


def test_preflight_failure() -> None:
    text = render_feedback(failed(stage="preflight", traceback=None), CODE)
    assert text.startswith("Stage: preflight (found by the static check before rendering)")
    assert "Traceback" not in text


@pytest.mark.parametrize("max_chars", [MAX_FEEDBACK_CHARS, 1000, 300])
def test_size_is_bounded_with_huge_message_traceback_and_lines(max_chars: int) -> None:
    huge_line = "y = " + "9" * 50_000
    code = "\n".join([*CODE.split("\n")[:5], huge_line, *CODE.split("\n")[6:]])
    traceback = "\n".join(
        f'  File "scene.py", line {n}, in f\n    {"z" * 500}' for n in range(5000)
    )
    result = failed(
        "m" * 1_000_000, traceback=traceback + "\nRecursionError: too deep", hint="h" * 10_000
    )
    text = render_feedback(result, code, max_chars=max_chars)
    assert len(text) <= max_chars
    assert text.startswith("Stage: execute")
    if max_chars >= 1000:
        assert "IndexError" in text and ">> 6 |" in text and "[...]" in text


def test_long_message_keeps_head_and_tail() -> None:
    message = "START " + "x" * 5000 + " END"
    text = render_feedback(failed(message), CODE)
    assert "START" in text and "END" in text and len(text) <= MAX_FEEDBACK_CHARS


def test_traceback_keeps_its_last_lines() -> None:
    traceback = "\n".join(f"frame {n}" for n in range(1000)) + "\nValueError: the real cause"
    text = render_feedback(failed(traceback=traceback), CODE)
    assert text.endswith("ValueError: the real cause") and "frame 999" in text
    assert "frame 0\n" not in text


def test_no_code_feedback() -> None:
    text = no_code_feedback(extract_code("I cannot do that."))
    assert text.startswith(NO_CODE_FEEDBACK) and "prose" in text


def test_too_large_feedback() -> None:
    assert "250,000 bytes" in too_large_feedback(250_000, 200_000)


def test_error_summary() -> None:
    assert error_summary(RenderResult(ok=True)) == "ok"
    summary = error_summary(failed())
    assert summary == "IndexError: list index out of range (line 6, stage execute, index)"

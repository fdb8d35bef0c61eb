"""`--protocol study|manimatic`: extraction, feedback, preflight and timeouts switched together."""

from __future__ import annotations

import pytest
from agent_scenes import FIXED_SCENE, NAME_ERROR_SCENE, code_reply

from manimatic.agent import RITL, Vanilla, generate
from manimatic.agent.extract import extract_code, extract_code_study
from manimatic.agent.feedback import render_feedback, renderer_stderr, study_feedback
from manimatic.agent.protocol import MANIMATIC, STUDY, protocol_from_name
from manimatic.render import RenderResult
from manimatic.render.result import RenderError

DESCRIPTION = "A red circle is drawn in the centre."
SCENE = "from manim import *\n\nclass A(Scene):\n    def construct(self):\n        self.wait()"


# --- the study's extraction rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        # the last <CODE> block wins, with its fence markers removed
        ("<CODE>```python\nx = 1\n```</CODE> then <CODE>\n```python\ny = 2\n```\n</CODE>", "y = 2"),
        # a <CODE> block without a fence is taken as it is
        ("<CODE>\nz = 3\n</CODE>", "z = 3"),
        # no <CODE>: the last ```python fence
        ("```python\na = 1\n```\ntext\n```python\nb = 2\n```", "b = 2"),
        # a <CODE> block beats a later python fence
        ("<CODE>```python\nfirst = 1\n```</CODE>\n```python\nsecond = 2\n```", "first = 1"),
        # inline mentions of the tag in backticks are not blocks
        ("Wrap it in `<CODE>` tags:\n```python\nk = 1\n```", "k = 1"),
    ],
)
def test_study_extraction_takes_the_last_block(reply: str, code: str) -> None:
    got = extract_code_study(reply)
    assert got.found and got.code == code


@pytest.mark.parametrize(
    "reply",
    [
        SCENE,  # raw code: no fallback
        "```py\nx = 1\n```",  # ```py is not ```python
        "```\nx = 1\n```",  # bare fence
        "<think>\n<CODE>```python\nx = 1\n```</CODE>\n</think>\nDone.",  # only inside <think>
        "<CODE>```python\nx = 1\n",  # cut off: never closed
        "<code>```py\nx = 1\n```</code>",  # lower-case tags, py fence
        "",
    ],
)
def test_study_extraction_finds_nothing_where_the_study_finds_nothing(reply: str) -> None:
    got = extract_code_study(reply)
    assert not got.found and got.code == "" and got.reason


def test_our_extraction_is_more_tolerant_on_the_same_replies() -> None:
    # The same replies our protocol does recover (the point of having two).
    assert extract_code(SCENE).found
    assert extract_code("```py\nx = 1\n```").code == "x = 1"
    assert extract_code("<think>\n<CODE>```python\nx = 1\n```</CODE>\n</think>").in_think


# --- the study's feedback -------------------------------------------------------------------------


def _failed(traceback: str | None, stderr: str = "", hint: str | None = None) -> RenderResult:
    error = RenderError(
        "name", "NameError", "name 'foo' is not defined", 7, "  foo()", hint, traceback
    )
    return RenderResult(ok=False, stage="execute", error=error, stderr=stderr)


def test_study_feedback_is_the_last_ten_lines_of_stderr() -> None:
    log = "\n".join(f"log line {i}" for i in range(30))
    trace = "Traceback (most recent call last):\n" + "\n".join(
        f'  File "scene.py", line {i}, in construct' for i in range(1, 13)
    )
    trace += "\nNameError: name 'foo' is not defined"
    result = _failed(trace, stderr=log, hint="did you mean Foo?")
    text = study_feedback(result)
    lines = text.split("\n")
    assert len(lines) == 10
    assert lines == renderer_stderr(result).split("\n")[-10:]
    assert lines[-1] == "NameError: name 'foo' is not defined"
    assert "did you mean" not in text and "Stage:" not in text and "Hint" not in text


def test_study_feedback_short_stderr_and_no_traceback() -> None:
    text = study_feedback(_failed(None, stderr="WARNING something\n"))
    assert text == "WARNING something\nNameError: name 'foo' is not defined"
    assert study_feedback(RenderResult(ok=True)) == ""


def test_hints_follow_the_protocol() -> None:
    result = _failed("Traceback...\nNameError: x", hint="did you mean Foo?")
    assert "did you mean Foo?" in MANIMATIC.feedback(result, "foo()")
    assert "did you mean Foo?" not in render_feedback(result, "foo()", hints=False)
    assert "did you mean Foo?" not in STUDY.feedback(result, "foo()")


# --- the protocol object --------------------------------------------------------------------------


def test_protocols_switch_every_choice_together() -> None:
    assert protocol_from_name(None) is MANIMATIC and protocol_from_name("Study") is STUDY
    study, ours = STUDY.to_dict(), MANIMATIC.to_dict()
    assert study["extraction"] == "study" and ours["extraction"] == "manimatic"
    assert study["feedback"] == "stderr_tail" and ours["feedback"] == "structured"
    assert (study["preflight"], study["hints"]) == (False, False)
    assert (ours["preflight"], ours["hints"]) == (True, True)
    assert study["generate_timeout"] == study["bench_timeout"] == 300.0
    assert study["reference_timeout"] == ours["reference_timeout"] == 300.0
    assert ours["generate_timeout"] < 300 and ours["bench_timeout"] < 300
    assert (study["code_metrics"], ours["code_metrics"]) == ("study", "manimatic")
    assert (study["prompts"], ours["prompts"]) == ("study", "manimatic")
    with pytest.raises(ValueError, match="study.*manimatic"):
        protocol_from_name("paper")


# --- the loop under each protocol (scripted model, real renders) ----------------------------------


def test_study_protocol_loop(scripted, render_pool) -> None:
    # A reply only in a ```py fence is no code for the study; the failing code is rendered
    # without preflight and its stderr tail is fed back.
    backend = scripted(
        "```py\n" + FIXED_SCENE + "```",
        code_reply(NAME_ERROR_SCENE),
        code_reply(FIXED_SCENE),
    )
    out = generate(DESCRIPTION, backend, RITL(rounds=2), pool=render_pool, protocol="study")
    assert out.success and out.rounds == 3
    first, second, third = out.transcript.rounds
    assert first.extraction["found"] is False and first.result["error"]["type"] == "NoCodeError"
    # rendered for real: the static preflight would have stopped it at stage "preflight"
    assert second.result["stage"] == "execute"
    feedback = second.feedback
    assert len(feedback.split("\n")) <= 10
    assert feedback.split("\n")[-1] == "NameError: name 'radius_value' is not defined"
    assert "Stage:" not in feedback and "Failing line" not in feedback
    # the study's prompt format: a system prompt per round kind, errors in <RENDER_ERRORS>
    prompt = backend.calls[2]
    assert prompt[0].content != backend.calls[0][0].content
    assert "<RENDER_ERRORS>" in prompt[1].content and feedback in prompt[1].content
    assert "<INITIAL_CODE>" in prompt[1].content
    record = out.transcript
    assert record.protocol == STUDY.to_dict() and record.prompts["name"] == "study"
    assert record.render["timeout"] == 300.0


def test_default_protocol_is_manimatic(scripted, render_pool) -> None:
    # A program of its own: the render cache would return another test's real render of it.
    doomed = NAME_ERROR_SCENE.replace("radius_value", "radius_unset")
    backend = scripted(code_reply(doomed), code_reply(FIXED_SCENE))
    out = generate(DESCRIPTION, backend, RITL(), pool=render_pool)
    assert out.transcript.protocol["name"] == "manimatic"
    assert out.transcript.rounds[0].result["stage"] == "preflight"
    assert out.transcript.render["timeout"] == 60.0


def test_explicit_prompts_override_the_protocols(scripted, render_pool, tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "system: SYS-MARKER\nuser: 'TASK: {{ description }}'\nfeedback_user: F\n"
        "doc_user: D\ndoc_feedback_user: DF\n"
    )
    backend = scripted(code_reply(FIXED_SCENE))
    out = generate(DESCRIPTION, backend, Vanilla(), pool=render_pool, prompts=str(path))
    assert out.success
    (messages,) = backend.calls
    assert [m.content for m in messages] == ["SYS-MARKER", f"TASK: {DESCRIPTION}"]
    assert out.transcript.prompts == {"name": "mine", "source": str(path)}

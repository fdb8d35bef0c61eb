"""The one prompt builder: the study's format, the feedback prompts, and the SFT pair."""

from __future__ import annotations

from manimatic.agent import prompts
from manimatic.agent.extract import extract_code
from manimatic.llm import Message


def test_system_prompt_is_the_studys() -> None:
    system = prompts.SYSTEM_PROMPT
    assert "expert Manim CE developer" in system
    assert "<TEXT_SCRIPT>" in system and "<CODE>```python" in system
    # The one-shot example is a complete answer in the expected format.
    example = system[system.index("Example:") :]
    assert extract_code(example).code == prompts.ONE_SHOT_CODE


def test_one_shot_example_is_valid_python() -> None:
    compile(prompts.ONE_SHOT_CODE, "one_shot.py", "exec")


def test_build_messages() -> None:
    messages = prompts.build_messages("  A red circle grows.\n")
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == prompts.SYSTEM_PROMPT
    assert messages[1].content == "<TEXT_SCRIPT>\nA red circle grows.\n</TEXT_SCRIPT>"


def test_answer_text_format_and_extraction_agree() -> None:
    code = "from manim import *\n\nclass A(Scene):\n    pass\n"
    answer = prompts.answer_text(code)
    assert answer == f"<CODE>```python\n{code.rstrip()}\n```</CODE>"
    assert extract_code(answer).code == code.rstrip()


def test_chat_prompt_for_sft_and_grpo() -> None:
    sft = prompts.chat_prompt("A dot.", "x = Dot()")
    assert sft.messages == prompts.build_messages("A dot.")
    assert sft.completion == "<CODE>```python\nx = Dot()\n```</CODE>"
    as_dict = sft.to_dict()
    assert as_dict["prompt"][1] == {
        "role": "user",
        "content": "<TEXT_SCRIPT>\nA dot.\n</TEXT_SCRIPT>",
    }
    assert as_dict["completion"] == [{"role": "assistant", "content": sft.completion}]
    grpo = prompts.chat_prompt("A dot.")
    assert grpo.completion is None and "completion" not in grpo.to_dict()


def test_ritl_messages_carry_description_code_and_feedback() -> None:
    messages = prompts.ritl_messages("A dot.", "x = Dot(", "SyntaxError at line 1")
    assert messages[0] == Message("system", prompts.SYSTEM_PROMPT)
    user = messages[1].content
    assert "<TEXT_SCRIPT>\nA dot.\n</TEXT_SCRIPT>" in user
    assert "<CODE>```python\nx = Dot(\n```</CODE>" in user
    assert "<ERROR>\nSyntaxError at line 1\n</ERROR>" in user
    assert "<API_INFO>" not in user


def test_ritl_messages_without_previous_code() -> None:
    user = prompts.ritl_messages("A dot.", None, "no code")[1].content
    assert "no usable code" in user and "<CODE>```python\n" not in user.split("<ERROR>")[0]


def test_ritl_doc_messages_add_api_info() -> None:
    user = prompts.ritl_doc_messages("A dot.", "x = Dot(", "boom", "Dot(point=...)")[1].content
    assert "<API_INFO>\nDot(point=...)\n</API_INFO>" in user
    assert user.index("<ERROR>") < user.index("<API_INFO>")


def test_doc_pass_messages() -> None:
    user = prompts.doc_pass_messages("A dot.", "x = Dot()", "Dot(point=...)")[1].content
    assert "<CODE>```python\nx = Dot()\n```</CODE>" in user
    assert "<API_INFO>\nDot(point=...)\n</API_INFO>" in user
    assert "<ERROR>" not in user

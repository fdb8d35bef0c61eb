"""Code extraction: the study's rule (last <CODE>, last python fence, raw) and the mess of real replies."""

from __future__ import annotations

import ast

import pytest

from manimatic.agent.extract import Extraction, extract_code, looks_like_code, split_think

CODE = "from manim import *\n\nclass A(Scene):\n    def construct(self):\n        self.wait()"
OTHER = "from manim import *\n\nclass B(Scene):\n    def construct(self):\n        self.add(Dot())"


def fence(code: str, lang: str = "python") -> str:
    return f"```{lang}\n{code}\n```"


@pytest.mark.parametrize(
    ("reply", "method"),
    [
        (f"<CODE>```python\n{CODE}\n```</CODE>", "code_tag"),
        (f"<CODE>```python\n{CODE}```</CODE>", "code_tag"),  # closing fence ends the last line
        (f"<CODE>\n{CODE}\n</CODE>", "code_tag"),  # no fence inside the tags
        (f"<code>\n{fence(CODE)}\n</code>", "code_tag"),  # lowercase tags
        (f"<CODE>python\n{CODE}\n</CODE>", "code_tag"),  # language word without backticks
        (f"Sure! Here it is:\n\n{fence(CODE)}\n\nIt draws nothing.", "fence"),
        (fence(CODE, "py"), "fence"),
        (fence(CODE, "Python"), "fence"),
        (fence(CODE, ""), "fence"),
        (CODE, "raw"),
        (f"  \n\n{CODE}\n\n   ", "raw"),
    ],
)
def test_formats(reply: str, method: str) -> None:
    got = extract_code(reply)
    assert got == Extraction(CODE, method, True)


def test_last_code_block_wins() -> None:
    reply = f"<CODE>{fence(OTHER)}</CODE>\nWait, better:\n<CODE>{fence(CODE)}</CODE>"
    assert extract_code(reply).code == CODE


def test_last_python_fence_wins_and_other_languages_are_skipped() -> None:
    reply = f"{fence(OTHER)}\nImproved:\n{fence(CODE)}\nRun it with:\n{fence('manim -pql a.py A', 'bash')}"
    got = extract_code(reply)
    assert (got.code, got.method) == (CODE, "fence")


def test_labelled_python_fence_beats_a_later_bare_fence() -> None:
    reply = f"{fence(CODE)}\nOutput:\n```\nFile ready at media/videos/A.mp4\n```"
    assert extract_code(reply).code == CODE


def test_code_tag_beats_fences_outside_it() -> None:
    reply = f"Draft:\n{fence(OTHER)}\nFinal:\n<CODE>{fence(CODE)}</CODE>"
    assert extract_code(reply).code == CODE


def test_tag_mentioned_in_prose_does_not_swallow_the_prose() -> None:
    reply = f"I will wrap the code in <CODE> tags as asked.\n<CODE>{fence(CODE)}</CODE>"
    assert extract_code(reply).code == CODE


def test_crlf_and_bom_are_normalised() -> None:
    reply = "\ufeff" + f"<CODE>\n{fence(CODE)}\n</CODE>".replace("\n", "\r\n")
    got = extract_code(reply)
    assert got.code == CODE and "\r" not in got.code


def test_uniform_indentation_is_removed() -> None:
    indented = "\n".join("    " + line if line else "" for line in CODE.split("\n"))
    assert extract_code(f"1. The scene:\n\n    ```python\n{indented}\n    ```\n").code == CODE


def test_trailing_whitespace_is_stripped() -> None:
    messy = "\n".join(line + "   " for line in CODE.split("\n"))
    assert extract_code(fence(messy)).code == CODE


# ---------------------------------------------------------------- cut-off replies


def test_unterminated_code_tag() -> None:
    got = extract_code(f"<CODE>```python\n{CODE}\n")
    assert (got.code, got.method, got.found, got.terminated) == (CODE, "code_tag", True, False)
    assert "cut off" in (got.reason or "")


def test_unterminated_fence() -> None:
    got = extract_code(f"Here:\n```python\n{CODE}")
    assert (got.code, got.method, got.terminated) == (CODE, "fence", False)


def test_finished_block_beats_a_cut_off_one_after_it() -> None:
    got = extract_code(f"<CODE>{fence(CODE)}</CODE>\nAlso:\n<CODE>```python\nfrom manim import")
    assert got.code == CODE and got.terminated


# ---------------------------------------------------------------- think blocks


def test_code_inside_think_is_ignored_when_the_answer_has_code() -> None:
    reply = f"<think>\nMaybe:\n{fence(OTHER)}\nNo, use A.\n</think>\n<CODE>{fence(CODE)}</CODE>"
    got = extract_code(reply)
    assert got.code == CODE and not got.in_think


def test_think_with_only_a_closing_tag() -> None:
    # Chat templates that open <think> in the prompt leave only "</think>" in the reply.
    reply = f"Let me think.\n{fence(OTHER)}\n</think>\n\n{fence(CODE)}"
    assert extract_code(reply).code == CODE


def test_code_inside_think_is_used_when_nothing_else() -> None:
    got = extract_code(f"<think>\n{fence(CODE)}\n</think>\nHope this helps!")
    assert (got.code, got.found, got.in_think) == (CODE, True, True)
    assert "think" in (got.reason or "")


def test_unterminated_think_block_gives_a_clear_reason() -> None:
    got = extract_code("<think>\nThe user wants a circle. First I should consider")
    assert not got.found and got.method == "none"
    assert "think" in (got.reason or "") and "tokens" in (got.reason or "")


def test_split_think() -> None:
    visible, thinking = split_think("a<think>b</think>c<THINK>d</THINK>e")
    assert (visible, thinking) == ("ace", "b\nd")


# ---------------------------------------------------------------- raw text


def test_raw_text_with_leading_and_trailing_prose() -> None:
    reply = f"Here is the scene you asked for:\n{CODE}\n\nThis scene waits for one second."
    got = extract_code(reply)
    assert (got.code, got.method) == (CODE, "raw")


def test_raw_code_with_a_real_syntax_error_is_kept_whole() -> None:
    broken = CODE + "\n\n    def helper(self:\n        pass"
    got = extract_code(broken)
    assert got.found and got.code == broken  # the render feedback will point at the error


# ---------------------------------------------------------------- no code


@pytest.mark.parametrize(
    ("reply", "reason_part"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("I'm sorry, but I can't help with that.", "prose"),
        ("这是一个动画描述，我无法生成代码。", "prose"),  # prose in another language
        ("Voici l'animation : un cercle rouge qui grandit.", "prose"),
        ("<CODE></CODE>", "empty"),
        ("<CODE>```python\n```</CODE>", "empty"),
    ],
)
def test_no_code(reply: str, reason_part: str) -> None:
    got = extract_code(reply)
    assert (got.code, got.method, got.found) == ("", "none", False)
    assert reason_part in (got.reason or "")


def test_none_is_an_empty_reply() -> None:
    assert not extract_code(None).found


def test_looks_like_code() -> None:
    assert looks_like_code("import numpy as np")
    assert looks_like_code("x = Circle()")
    assert looks_like_code("class A(Scene):")
    assert not looks_like_code("Here is a circle that grows.")
    assert not looks_like_code("Import the circle, then class it.")


def test_extraction_round_trips_through_a_dict() -> None:
    got = extract_code(f"<CODE>```python\n{CODE}\n")
    assert Extraction.from_dict(got.to_dict()) == got


def test_huge_replies_are_handled_quickly() -> None:
    import time

    noise = ("word " * 20 + "\n") * 20_000 + "<CODE>" * 5_000 + "```\n" * 5_001
    started = time.perf_counter()
    extract_code(noise)
    extract_code(f"{noise}\n<CODE>{fence(CODE)}</CODE>")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("tail", ["```", "```\n", "\n```  \n"])
def test_dangling_closing_fence_after_a_bare_language_line(tail: str) -> None:
    # A real SmolLM2 reply shape: `<CODE>python` (no backticks), the code, then a closing fence
    # with no opening one and no </CODE>. The fence must not end up in the code.
    code = "from manim import *\n\nclass Dot1(Scene):\n    def construct(self):\n        self.add(Dot())"
    reply = f"<CODE>python\n{code}\n{tail}"
    result = extract_code(reply)
    assert result.found and result.method == "code_tag"
    assert result.code == code
    assert result.terminated  # the fence marks the end of the code
    ast.parse(result.code)

"""The one prompt builder, shared by inference (every strategy) and training (SFT, GRPO).

The study's format (DESIGN.md section 4): a system prompt for an "expert Manim CE developer" with a
one-shot example; the user turn wraps the description in `<TEXT_SCRIPT>...</TEXT_SCRIPT>`; the
answer is code in `<CODE>```python ...```</CODE>`. The trainer imports these functions rather than
copying the text, so a model is trained on exactly the prompts it is later evaluated with.

    messages = build_messages("A red circle grows, then turns blue.")
    example = chat_prompt(description, code)   # SFT: prompt messages + completion text
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manimatic.llm import Message

ONE_SHOT_DESCRIPTION = (
    "Show a blue square in the centre of the screen. It rotates by 45 degrees, then turns into "
    "a red circle, and the title 'Square to circle' fades in above it."
)

ONE_SHOT_CODE = """\
from manim import *


class SquareToCircle(Scene):
    def construct(self):
        square = Square(side_length=2, color=BLUE, fill_opacity=0.5)
        self.play(Create(square))
        self.play(Rotate(square, angle=PI / 4))
        circle = Circle(radius=1.2, color=RED, fill_opacity=0.5)
        self.play(Transform(square, circle))
        title = Text("Square to circle").to_edge(UP)
        self.play(FadeIn(title))
        self.wait()"""


def answer_text(code: str) -> str:
    """The answer format the model is asked for (and trained on): code inside `<CODE>` tags.

    Args:
        code: The Python source of the scene.

    Returns:
        `<CODE>```python\\n{code}\\n```</CODE>`, with surrounding blank lines of `code` removed.
    """
    body = code.strip("\n")
    return f"<CODE>```python\n{body}\n```</CODE>"


SYSTEM_PROMPT = f"""\
You are an expert Manim CE developer. You write Python code for Manim Community Edition \
(`from manim import *`; not ManimGL, not the old 3b1b manim) that renders without errors.

Instructions:
1. Read the animation description inside <TEXT_SCRIPT> ... </TEXT_SCRIPT>.
2. Write one complete Python module with a single Scene subclass whose construct() method \
creates the animation described.
3. Use only the Manim CE API: for example Create (not ShowCreation), Text/MathTex (not \
TextMobject/TexMobject), `mobject.animate.method(...)` for animated method calls.
4. Answer with the code only, wrapped exactly as <CODE>```python ... ```</CODE>, with no \
explanation before or after it.

Example:

<TEXT_SCRIPT>
{ONE_SHOT_DESCRIPTION}
</TEXT_SCRIPT>

{answer_text(ONE_SHOT_CODE)}"""

ANSWER_INSTRUCTION = (
    "Answer with the complete corrected code only, as <CODE>```python ...```</CODE>."
)


def text_script(description: str) -> str:
    """The description wrapped in `<TEXT_SCRIPT>` tags (the study's user-turn format)."""
    return f"<TEXT_SCRIPT>\n{description.strip()}\n</TEXT_SCRIPT>"


def build_messages(description: str) -> list[Message]:
    """The first-round conversation: system prompt with the one-shot example, then the task.

    Args:
        description: What the animation should show, in plain words.

    Returns:
        `[system, user]` messages.
    """
    return [Message("system", SYSTEM_PROMPT), Message("user", text_script(description))]


def _previous_code_block(previous_code: str | None) -> str:
    if previous_code is None or not previous_code.strip():
        return "Your previous reply contained no usable code."
    return f"Your previous code:\n{answer_text(previous_code)}"


def _feedback_turn(
    description: str,
    previous_code: str | None,
    feedback: str,
    api_info: str | None,
) -> str:
    parts = [
        text_script(description),
        _previous_code_block(previous_code),
        f"It failed when rendered with Manim CE:\n<ERROR>\n{feedback.strip()}\n</ERROR>",
    ]
    if api_info is not None:
        parts.append(_api_info_block(api_info))
    parts.append(
        "Fix the code so that it renders and still shows what the description asks for. "
        + ANSWER_INSTRUCTION
    )
    return "\n\n".join(parts)


def _api_info_block(api_info: str) -> str:
    body = api_info.strip() or "(no Manim API names were found in the code)"
    return (
        "Documentation of the Manim CE API that the code uses, from the installed version:\n"
        f"<API_INFO>\n{body}\n</API_INFO>"
    )


def ritl_messages(description: str, previous_code: str | None, feedback: str) -> list[Message]:
    """A RITL feedback round: the task, the previous code and what went wrong.

    As in the study, each round is a fresh conversation (system prompt + one user turn), so the
    prompt length stays bounded however many rounds run.

    Args:
        description: The original description.
        previous_code: The code that failed (None when the last reply had no code).
        feedback: The render feedback (see `manimatic.agent.feedback`).

    Returns:
        `[system, user]` messages.
    """
    return [
        Message("system", SYSTEM_PROMPT),
        Message("user", _feedback_turn(description, previous_code, feedback, None)),
    ]


def ritl_doc_messages(
    description: str, previous_code: str | None, feedback: str, api_info: str
) -> list[Message]:
    """A RITL-DOC feedback round: RITL plus the `<API_INFO>` of the Manim names the code uses.

    Args:
        description: The original description.
        previous_code: The code that failed (None when the last reply had no code).
        feedback: The render feedback.
        api_info: Signatures and docs from `manimatic.docs.api_info_for_code`.

    Returns:
        `[system, user]` messages.
    """
    return [
        Message("system", SYSTEM_PROMPT),
        Message("user", _feedback_turn(description, previous_code, feedback, api_info)),
    ]


def doc_pass_messages(description: str, code: str, api_info: str) -> list[Message]:
    """RITL-DOC's documentation pass, before the first render: check the code against the docs.

    Args:
        description: The original description.
        code: The first generated code.
        api_info: Signatures and docs of the Manim names the code uses.

    Returns:
        `[system, user]` messages.
    """
    user = "\n\n".join(
        [
            text_script(description),
            f"Your code:\n{answer_text(code)}",
            _api_info_block(api_info),
            "Check every Manim call in the code against this documentation: names that do not "
            "exist, wrong or missing arguments, wrong keyword names, methods on the wrong class. "
            "Return the code with those mistakes corrected (unchanged if it is already right). "
            + ANSWER_INSTRUCTION,
        ]
    )
    return [Message("system", SYSTEM_PROMPT), Message("user", user)]


@dataclass
class ChatPrompt:
    """A training example in chat form.

    Attributes:
        messages: The prompt: `[system, user]`, exactly as `build_messages` builds it.
        completion: The assistant answer in the trained format (`answer_text(code)`), or None for
            prompt-only data (GRPO).
    """

    messages: list[Message]
    completion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """TRL's conversational prompt/completion form.

        Returns:
            `{"prompt": [{"role", "content"}, ...]}`, plus
            `"completion": [{"role": "assistant", "content": ...}]` when there is a completion.
        """
        data: dict[str, Any] = {"prompt": [m.to_dict() for m in self.messages]}
        if self.completion is not None:
            data["completion"] = [{"role": "assistant", "content": self.completion}]
        return data


def chat_prompt(description: str, code: str | None = None) -> ChatPrompt:
    """The prompt (and, given code, the completion) for training on one task.

    Args:
        description: The task description.
        code: The reference code, for SFT; None for prompt-only data.

    Returns:
        The messages and the completion text `<CODE>```python\\n{code}\\n```</CODE>`.
    """
    completion = answer_text(code) if code is not None else None
    return ChatPrompt(build_messages(description), completion)

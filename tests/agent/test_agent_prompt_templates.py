"""Prompts as data: the shipped YAML templates, user files, and `study:PATH` (parsed, not run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from manimatic.agent import prompts
from manimatic.agent.prompts import PromptError, PromptSet, load_prompts
from manimatic.agent.study_prompts import format_to_jinja, read_study_prompts

FIXTURE = Path(__file__).parent / "fixtures" / "study_clone"


def test_each_protocol_ships_a_template_file() -> None:
    for name in prompts.SHIPPED:
        shipped = load_prompts(name)
        assert shipped.name == name and set(prompts.TEMPLATE_KEYS) <= set(shipped.templates)
    assert load_prompts(None) is load_prompts("manimatic")


def test_the_study_format_has_no_manimgl_hints() -> None:
    system = load_prompts("study").system_for("initial")
    assert "ShowCreation" not in system and "ManimGL" not in system
    assert "<TEXT_SCRIPT>" in system and "<CODE>" in system
    assert "ShowCreation" in prompts.SYSTEM_PROMPT  # ours names the legacy API to avoid


def test_every_variable_reaches_the_text() -> None:
    study = load_prompts("study")
    user = prompts.ritl_doc_messages("DESC", "CODE_X", "ERR_Y", "API_Z", study)[1].content
    for value in ("DESC", "CODE_X", "ERR_Y", "API_Z"):
        assert value in user
    doc = prompts.doc_pass_messages("DESC", "CODE_X", "API_Z", study)[1].content
    assert "CODE_X" in doc and "API_Z" in doc
    sft = prompts.chat_prompt("DESC", "x = 1", study)
    assert sft.completion == "<CODE>\n```python\nx = 1\n```\n</CODE>"


def test_a_user_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: mine\nsystem: S\nuser: 'U {{ description }}'\n"
        "feedback_user: '{{ code }}|{{ errors }}'\ndoc_user: '{{ api_info }}'\n"
        "doc_feedback_user: '{{ code }}{{ api_info }}{{ errors }}'\n"
    )
    mine = load_prompts(str(path))
    assert mine.name == "mine" and mine.source == str(path)
    assert prompts.build_messages(" d ", mine)[1].content == "U d"
    assert prompts.ritl_messages("d", None, " boom ", mine)[1].content == "|boom"
    # the *_system keys fall back to system; answer to the default format
    assert prompts.ritl_messages("d", "c", "e", mine)[0].content == "S"
    assert prompts.answer_text("x", mine) == "<CODE>```python\nx\n```</CODE>"
    assert PromptSet.from_dict(mine.to_dict()) == mine


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("system: S\nuser: U\n", "missing feedback_user, doc_user, doc_feedback_user"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("system: [unclosed\n", "not valid YAML"),
        (
            "system: S\nuser: '{{ task }}'\nfeedback_user: F\ndoc_user: D\ndoc_feedback_user: X\n",
            "unknown variable",
        ),
        (
            "system: '{% if %}'\nuser: U\nfeedback_user: F\ndoc_user: D\ndoc_feedback_user: X\n",
            "not a valid Jinja2 template",
        ),
        (
            "system: S\nuser: U\nfeedback_user: F\ndoc_user: D\ndoc_feedback_user: X\nextra: 1\n",
            "unknown key",
        ),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(PromptError, match=message):
        load_prompts(str(path))


def test_a_missing_file() -> None:
    with pytest.raises(PromptError, match="not found.*study:PATH"):
        load_prompts("/no/such/prompts.yaml")


# --- study:PATH ------------------------------------------------------------------------------------


def test_study_prompts_from_a_clone() -> None:
    study = load_prompts(f"study:{FIXTURE}")
    assert study.name == "study-original" and study.source.startswith("study:")
    first = prompts.build_messages("Draw a dot.", study)
    assert first[0].content == "FIXTURE SYSTEM: write a scene. {literal braces} {{ not jinja }}"
    assert first[1].content == "FIXTURE USER\n<TEXT_SCRIPT>\nDraw a dot.\n</TEXT_SCRIPT>\n"
    feedback = prompts.ritl_messages("Draw a dot.", "d = Dot(", "SyntaxError", study)
    assert feedback[0].content == "FIXTURE FEEDBACK SYSTEM"
    assert feedback[1].content == "FB Draw a dot. | d = Dot( | SyntaxError"
    doc = prompts.doc_pass_messages("Draw a dot.", "d = Dot()", "Dot(point)", study)
    assert (doc[0].content, doc[1].content) == ("FIXTURE DOC SYSTEM", "DOC d = Dot() | Dot(point)")
    both = prompts.ritl_doc_messages("T", "C", "E", "A", study)
    assert both[1].content == "DOCFB T C A E"
    assert prompts.answer_text("x = 1", study) == "ANSWER[x = 1]"


def test_study_prompts_are_parsed_not_executed(tmp_path: Path) -> None:
    # The fixture's module body would raise if it were run.
    text = (FIXTURE / "src/utils/prompt_template.py").read_text()
    assert "raise RuntimeError" in text
    assert read_study_prompts(FIXTURE / "src/utils/prompt_template.py").templates


def test_study_prompts_errors(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="no src/utils/prompt_template.py"):
        load_prompts(f"study:{tmp_path}")
    broken = tmp_path / "src/utils/prompt_template.py"
    broken.parent.mkdir(parents=True)
    broken.write_text("class PromptTemplate:\n    OTHER = 1\n")
    with pytest.raises(PromptError, match="has no MANIM_VIDEO_GEN_CHAT_TEMPLATE"):
        load_prompts(f"study:{tmp_path}")
    broken.write_text("def (:\n")
    with pytest.raises(PromptError, match="cannot parse"):
        load_prompts(f"study:{tmp_path}")


@pytest.mark.parametrize(
    "template",
    ["a {initial_code} b", "{{x}}", "{{{initial_code}}}", "{{% if %}} {{# c #}} {api_info}}}x"],
)
def test_format_to_jinja_renders_what_format_gives(template: str) -> None:
    values = {"initial_code": "C", "api_info": "A"}
    jinja = format_to_jinja(template)
    rendered = PromptSet("t", "t", {k: jinja for k in prompts.TEMPLATE_KEYS}).render(
        "user", code="C", api_info="A"
    )
    assert rendered == template.format(**values)


def test_format_to_jinja_unknown_placeholder() -> None:
    assert format_to_jinja("a {initial_code} b") == "a {{ code }} b"
    with pytest.raises(PromptError, match="placeholder {plan}"):
        format_to_jinja("{plan}")

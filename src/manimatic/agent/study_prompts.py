"""`--prompts study:PATH`: the study's own prompt templates, read from a clone of its repository.

The study's prompts are its authors' text (CC BY-NC-SA), so manimatic does not ship them; a user
who has cloned the authors' repository points at it and the templates are read from
`src/utils/prompt_template.py` there. The file is parsed with `ast` and never executed: only
string literals are read, so nothing in the clone runs.

The authors keep each conversation as a `PromptChatTemplate(system_prompt_template=...,
user_prompt_template=..., completion_prompt_template=...)` constant on a `PromptTemplate` class,
with `str.format` placeholders. The constants map onto our keys as `STUDY_CONSTANTS` says, and
their placeholders onto our variables as `STUDY_VARIABLES` says; each template is turned into an
equivalent Jinja2 template (its literal text kept exactly).
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from manimatic.agent.prompts import PromptError, PromptSet

STUDY_TEMPLATE_FILE = Path("src/utils/prompt_template.py")

# constant name -> {field of PromptChatTemplate: our key}
STUDY_CONSTANTS: dict[str, dict[str, str]] = {
    "MANIM_VIDEO_GEN_CHAT_TEMPLATE": {
        "system_prompt_template": "system",
        "user_prompt_template": "user",
        "completion_prompt_template": "answer",
    },
    "MANIM_VIDEO_GEN_CHAT_FB_ONLY_TEMPLATE": {
        "system_prompt_template": "feedback_system",
        "user_prompt_template": "feedback_user",
    },
    "MANIM_VIDEO_GEN_CHAT_RAG_ONLY_TEMPLATE": {
        "system_prompt_template": "doc_system",
        "user_prompt_template": "doc_user",
    },
    "MANIM_VIDEO_GEN_CHAT_RAG_FB_TEMPLATE": {
        "system_prompt_template": "doc_feedback_system",
        "user_prompt_template": "doc_feedback_user",
    },
}
_FIELD_ORDER = ("system_prompt_template", "user_prompt_template", "completion_prompt_template")

# the study's placeholder -> our template variable
STUDY_VARIABLES = {
    "reviewed_description": "description",
    "text_script": "description",
    "description": "description",
    "initial_code": "code",
    "code": "code",
    "render_errors": "errors",
    "errors": "errors",
    "api_info": "api_info",
}


def study_template_path(path: str | Path) -> Path:
    """The authors' `prompt_template.py`: `path` itself, or where it lies in a clone.

    Raises:
        PromptError: Neither exists.
    """
    given = Path(str(path)).expanduser()
    if given.is_file():
        return given
    inside = given / STUDY_TEMPLATE_FILE
    if inside.is_file():
        return inside
    raise PromptError(
        f"study:{path}: no {STUDY_TEMPLATE_FILE} there; clone the study's repository and give "
        "the clone's directory (or the path of its prompt_template.py)."
    )


def read_study_prompts(path: str | Path) -> PromptSet:
    """Read the study's templates from a clone of its repository (parsed, never executed).

    Args:
        path: The clone's root directory, or the `prompt_template.py` file.

    Returns:
        A prompt set named "study-original", with the authors' text as Jinja2 templates.

    Raises:
        PromptError: The file is missing, does not parse, lacks a constant, or uses a placeholder
            with no counterpart among our variables.
    """
    file = study_template_path(path)
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise PromptError(f"study:{path}: cannot parse {file}: {exc}") from None
    found = _constants(tree)
    missing = [name for name in STUDY_CONSTANTS if name not in found]
    if missing:
        raise PromptError(
            f"study:{path}: {file} has no {', '.join(missing)} (found: "
            f"{', '.join(sorted(found)) or 'no template constants'}); is it the study's "
            "repository at the commit the paper used?"
        )
    templates: dict[str, str] = {}
    for name, mapping in STUDY_CONSTANTS.items():
        for field_name, key in mapping.items():
            text = found[name].get(field_name)
            if text is None or (key == "answer" and not text.strip()):
                if key == "answer":
                    continue  # no completion format given: the default answer format stands
                raise PromptError(f"study:{path}: {name} in {file} has no {field_name}.")
            templates[key] = format_to_jinja(text, where=f"{name}.{field_name}")
    return PromptSet("study-original", f"study:{file}", templates)


def _constants(tree: ast.Module) -> dict[str, dict[str, str]]:
    """`NAME = PromptChatTemplate(...)` assignments anywhere in the file: name -> field texts."""
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if not names or names[0] not in STUDY_CONSTANTS:
            continue
        call = node.value
        fields: dict[str, str] = {}
        for field_name, arg in zip(_FIELD_ORDER, call.args[: len(_FIELD_ORDER)], strict=False):
            text = _literal(arg)
            if text is not None:
                fields[field_name] = text
        for keyword in call.keywords:
            text = _literal(keyword.value)
            if keyword.arg and text is not None:
                fields[keyword.arg] = text
        found[names[0]] = fields
    return found


def _literal(node: ast.AST) -> str | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def format_to_jinja(text: str, *, where: str = "template") -> str:
    """A `str.format` template as the equivalent Jinja2 template.

    Literal text is kept exactly (its braces are emitted as literals);
    `{name}` becomes `{{ variable }}` per `STUDY_VARIABLES`.

    Args:
        text: The format string.
        where: Shown in errors.

    Returns:
        The Jinja2 template source.

    Raises:
        PromptError: A placeholder we have no variable for, or format syntax we do not support.
    """
    out: list[str] = []
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptError(f"{where}: not a valid format string ({exc}).") from None
    literal_run: list[str] = []  # parse() splits literal text at each escaped brace: rejoin it
    for literal, field_name, format_spec, conversion in parts:
        literal_run.append(literal)
        if field_name is None:
            continue
        out.append(_jinja_literal("".join(literal_run)))
        literal_run.clear()
        variable = STUDY_VARIABLES.get(field_name)
        if variable is None or format_spec or conversion:
            raise PromptError(
                f"{where}: placeholder {{{field_name}}} has no counterpart among our variables "
                f"({', '.join(sorted(set(STUDY_VARIABLES)))})."
            )
        out.append("{{ " + variable + " }}")
    out.append(_jinja_literal("".join(literal_run)))
    return "".join(out)


def _jinja_literal(text: str) -> str:
    """Literal text as Jinja2 source: each brace becomes an expression printing it.

    Every brace, not only `{{`/`{%`/`{#`: a literal brace next to a placeholder would otherwise
    join the `{{ ... }}` we emit for it.
    """
    return _BRACE.sub(lambda m: "{{ '" + m.group() + "' }}", text)


_BRACE = re.compile(r"[{}]")

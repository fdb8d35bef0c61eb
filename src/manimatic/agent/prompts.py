"""The one prompt builder, shared by inference (every strategy) and training (SFT, GRPO).

Prompts are data: a `PromptSet` of Jinja2 templates, loaded from a YAML file with the keys
`system`, `user`, `feedback_user`, `doc_user` and `doc_feedback_user` (optional: `answer`, the
trained answer format, and `feedback_system` / `doc_system` / `doc_feedback_system`, a system
prompt of its own for that kind of round). The templates see four variables: `description`,
`code`, `errors` (the render feedback) and `api_info`. One file per protocol ships in
`manimatic/agent/templates/` (`manimatic.yaml`, the default; `study.yaml`, the study's format in
our words); `--prompts FILE` points at another, and `--prompts study:PATH` reads the authors' own
templates from a clone of their repository (`manimatic.agent.study_prompts`).

Each round is a fresh conversation (system prompt + one user turn), as in the study. The trainer
imports these functions rather than copying the text, so a model is trained on exactly the
prompts it is later evaluated with.

    messages = build_messages("A red circle grows, then turns blue.")
    study = load_prompts("study")                       # or load_prompts("my_prompts.yaml")
    example = chat_prompt(description, code, study)     # SFT: prompt messages + completion text
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from manimatic.llm import Message

TEMPLATE_KEYS = ("system", "user", "feedback_user", "doc_user", "doc_feedback_user")
OPTIONAL_KEYS = ("answer", "feedback_system", "doc_system", "doc_feedback_system")
VARIABLES = ("description", "code", "errors", "api_info")
SHIPPED = ("manimatic", "study")  # template files in manimatic/agent/templates/
STUDY_PREFIX = "study:"
DEFAULT_ANSWER = "<CODE>```python\n{{ code }}\n```</CODE>"


class PromptError(ValueError):
    """A prompt file or template is unusable; the message names the problem and the fix."""


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    # trim/lstrip blocks: an `{% if %}` on a line of its own leaves no blank line behind.
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


@dataclass(frozen=True)
class PromptSet:
    """The prompt templates of one protocol (or of a user's file).

    Attributes:
        name: A short name shown in records ("manimatic", "study", the file stem).
        source: Where the templates came from (a shipped name, a file path, `study:PATH`).
        templates: Jinja2 source per key (`TEMPLATE_KEYS`, plus any of `OPTIONAL_KEYS`).
    """

    name: str
    source: str
    templates: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [k for k in TEMPLATE_KEYS if not isinstance(self.templates.get(k), str)]
        if missing:
            raise PromptError(
                f"prompt templates {self.source}: missing {', '.join(missing)}; a prompt file "
                f"needs the keys {', '.join(TEMPLATE_KEYS)} (strings)."
            )
        unknown = sorted(set(self.templates) - set(TEMPLATE_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise PromptError(
                f"prompt templates {self.source}: unknown key(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(TEMPLATE_KEYS + OPTIONAL_KEYS)}."
            )
        for key, text in self.templates.items():
            self._check(key, text)

    def _check(self, key: str, text: str) -> None:
        import jinja2
        from jinja2 import meta

        if not isinstance(text, str):
            raise PromptError(f"prompt templates {self.source}: {key} must be a string.")
        try:
            parsed = _environment().parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(
                f"prompt templates {self.source}: {key} is not a valid Jinja2 template "
                f"(line {exc.lineno}: {exc.message})."
            ) from None
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
        if unknown:
            raise PromptError(
                f"prompt templates {self.source}: {key} uses unknown variable(s) "
                f"{', '.join(unknown)}; the variables are {', '.join(VARIABLES)}."
            )

    def render(self, key: str, **variables: str) -> str:
        """Fill one template.

        Args:
            key: A template key; an optional `*_system` key falls back to `system`, `answer` to
                the `<CODE>```python ...```</CODE>` format.
            **variables: Values for `description`, `code`, `errors`, `api_info` (missing ones
                are empty).

        Returns:
            The text.
        """
        text = self.templates.get(key)
        if text is None:
            text = DEFAULT_ANSWER if key == "answer" else self.templates["system"]
        values = {name: variables.get(name) or "" for name in VARIABLES}
        return _template(text).render(**values)

    def system_for(self, kind: str) -> str:
        """The system prompt of a round kind: "initial", "feedback", "doc" or "doc_feedback"."""
        key = "system" if kind == "initial" else f"{kind}_system"
        return self.render(key)

    def to_dict(self) -> dict[str, Any]:
        """What a record stores: name, source and the templates themselves."""
        return {"name": self.name, "source": self.source, "templates": dict(self.templates)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptSet:
        """Inverse of `to_dict`."""
        return cls(str(data["name"]), str(data["source"]), dict(data["templates"]))


@functools.lru_cache(maxsize=64)
def _template(text: str) -> Any:
    return _environment().from_string(text)


# --- loading -----------------------------------------------------------------------------------


def prompts_from_yaml(text: str, *, source: str, name: str | None = None) -> PromptSet:
    """Parse a YAML prompt file's text.

    Args:
        text: The YAML.
        source: Shown in errors and records.
        name: The set's name (default: the file's `name` key, else the source's stem).

    Returns:
        The prompt set.

    Raises:
        PromptError: Not YAML, not a mapping, missing or unknown keys, bad templates.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt file {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PromptError(
            f"prompt file {source} must be a YAML mapping with the keys {', '.join(TEMPLATE_KEYS)}."
        )
    data = dict(data)
    file_name = data.pop("name", None)
    label = name or (str(file_name) if file_name else Path(source).stem)
    return PromptSet(label, source, data)


@functools.lru_cache(maxsize=8)
def shipped_prompts(name: str) -> PromptSet:
    """One of the template files shipped in the package ("manimatic" or "study")."""
    if name not in SHIPPED:
        raise PromptError(f"no shipped prompts named {name!r}; choose one of {', '.join(SHIPPED)}.")
    text = resources.files("manimatic.agent").joinpath(f"templates/{name}.yaml").read_text("utf-8")
    return prompts_from_yaml(text, source=name, name=name)


def load_prompts(spec: str | Path | PromptSet | None = None) -> PromptSet:
    """The prompt set for a `--prompts` value.

    Args:
        spec: None or "manimatic" (the default set), "study" (the study's format in our words),
            `study:PATH` (the authors' templates from a clone of their repository, or from their
            `prompt_template.py` itself), a path to a YAML file, or a `PromptSet` (returned as is).

    Returns:
        The prompt set.

    Raises:
        PromptError: The file is missing or unusable (the message says what to fix).
    """
    if isinstance(spec, PromptSet):
        return spec
    if spec is None:
        return shipped_prompts("manimatic")
    text = str(spec).strip()
    if text in SHIPPED:
        return shipped_prompts(text)
    if text.startswith(STUDY_PREFIX):
        from manimatic.agent.study_prompts import read_study_prompts

        return read_study_prompts(text[len(STUDY_PREFIX) :])
    path = Path(text).expanduser()
    if not path.is_file():
        raise PromptError(
            f"prompt file {text} not found; give a YAML file with the keys "
            f"{', '.join(TEMPLATE_KEYS)}, one of {', '.join(SHIPPED)}, or study:PATH_TO_CLONE."
        )
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from None
    return prompts_from_yaml(content, source=str(path))


# --- building messages -------------------------------------------------------------------------


def _variables(
    description: str,
    code: str | None = None,
    errors: str | None = None,
    api_info: str | None = None,
) -> dict[str, str]:
    return {
        "description": description.strip(),
        "code": (code or "").strip("\n") if (code or "").strip() else "",
        "errors": (errors or "").strip(),
        "api_info": (api_info or "").strip(),
    }


def answer_text(code: str, prompts: PromptSet | None = None) -> str:
    """The answer format the model is asked for (and trained on): code inside `<CODE>` tags.

    Args:
        code: The Python source of the scene.
        prompts: The prompt set (its `answer` template); default manimatic's.

    Returns:
        `<CODE>```python\\n{code}\\n```</CODE>` (or the set's own answer format), with the
        surrounding blank lines of `code` removed.
    """
    return load_prompts(prompts).render("answer", code=code.strip("\n"))


def build_messages(description: str, prompts: PromptSet | None = None) -> list[Message]:
    """The first-round conversation: system prompt with the one-shot example, then the task.

    Args:
        description: What the animation should show, in plain words.
        prompts: The prompt set; default manimatic's.

    Returns:
        `[system, user]` messages.
    """
    chosen = load_prompts(prompts)
    return [
        Message("system", chosen.system_for("initial")),
        Message("user", chosen.render("user", **_variables(description))),
    ]


def ritl_messages(
    description: str, previous_code: str | None, feedback: str, prompts: PromptSet | None = None
) -> list[Message]:
    """A RITL feedback round: the task, the previous code and what went wrong.

    Each round is a fresh conversation (system prompt + one user turn), so the prompt length
    stays bounded however many rounds run.

    Args:
        description: The original description.
        previous_code: The code that failed (None when the last reply had no code).
        feedback: The render feedback (see `manimatic.agent.feedback`).
        prompts: The prompt set; default manimatic's.

    Returns:
        `[system, user]` messages.
    """
    chosen = load_prompts(prompts)
    variables = _variables(description, previous_code, feedback)
    return [
        Message("system", chosen.system_for("feedback")),
        Message("user", chosen.render("feedback_user", **variables)),
    ]


def ritl_doc_messages(
    description: str,
    previous_code: str | None,
    feedback: str,
    api_info: str,
    prompts: PromptSet | None = None,
) -> list[Message]:
    """A RITL-DOC feedback round: RITL plus the `<API_INFO>` of the Manim names the code uses.

    Args:
        description: The original description.
        previous_code: The code that failed (None when the last reply had no code).
        feedback: The render feedback.
        api_info: Signatures and docs from `manimatic.docs.api_info_for_code`.
        prompts: The prompt set; default manimatic's.

    Returns:
        `[system, user]` messages.
    """
    chosen = load_prompts(prompts)
    variables = _variables(description, previous_code, feedback, api_info)
    return [
        Message("system", chosen.system_for("doc_feedback")),
        Message("user", chosen.render("doc_feedback_user", **variables)),
    ]


def doc_pass_messages(
    description: str, code: str, api_info: str, prompts: PromptSet | None = None
) -> list[Message]:
    """RITL-DOC's documentation pass, before the first render: check the code against the docs.

    Args:
        description: The original description.
        code: The first generated code.
        api_info: Signatures and docs of the Manim names the code uses.
        prompts: The prompt set; default manimatic's.

    Returns:
        `[system, user]` messages.
    """
    chosen = load_prompts(prompts)
    variables = _variables(description, code, None, api_info)
    return [
        Message("system", chosen.system_for("doc")),
        Message("user", chosen.render("doc_user", **variables)),
    ]


def _default_system() -> str:
    return shipped_prompts("manimatic").system_for("initial")


def _one_shot_code() -> str:
    from manimatic.agent.extract import extract_code

    return extract_code(_default_system()).code


SYSTEM_PROMPT = _default_system()
"""The default (manimatic) system prompt, with its one-shot example."""

ONE_SHOT_CODE = _one_shot_code()
"""The code of the default system prompt's one-shot example."""


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


def chat_prompt(
    description: str, code: str | None = None, prompts: PromptSet | None = None
) -> ChatPrompt:
    """The prompt (and, given code, the completion) for training on one task.

    Args:
        description: The task description.
        code: The reference code, for SFT; None for prompt-only data.
        prompts: The prompt set; default manimatic's.

    Returns:
        The messages and the completion text (the set's answer format around `code`).
    """
    chosen = load_prompts(prompts)
    completion = answer_text(code, chosen) if code is not None else None
    return ChatPrompt(build_messages(description, chosen), completion)

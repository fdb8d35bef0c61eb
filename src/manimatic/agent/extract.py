"""The one code extractor: a model's reply in, the Python source it contains out.

The study's rule (its authors' code): the last `<CODE>` block, else the last ```` ```python ````
fence, else nothing (there is no raw-text fallback, no ```` ```py ````, no bare fence, and code
only inside `<think>` does not count). `extract_code_study` implements exactly that, for
`--protocol study`. Real replies are messier than that rule, so `extract_code` (our protocol)
goes further:

* `<think>...</think>` reasoning is set aside; code inside it is used only when the reply has none
  outside it (a model that sketches code while thinking usually changes it afterwards).
  Chat templates that open the think block inside the prompt leave only `</think>` in the reply.
* A `<CODE>` block usually holds a fence; the fence's content is the code. Unterminated `<CODE>`
  tags and fences (a reply cut off by max_tokens) still yield their code.
* Fences labelled python/py (or unlabelled) are preferred over other languages; a `bash` fence
  with `manim -pql scene.py` in it is never taken as the scene.
* The raw text counts as code only when it looks like Python (imports, class/def, assignments):
  a reply that is pure prose, in any language, gives `found=False` and a reason, which the agent
  turns into feedback instead of rendering prose.
* CRLF, a BOM, surrounding whitespace and uniform indentation are normalised away.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import asdict, dataclass
from typing import Any

METHODS = ("code_tag", "fence", "raw", "none")

PYTHON_LANGS = frozenset({"python", "py", "python3", "py3", "manim"})

_THINK_OPEN = re.compile(r"<(?:think|thinking)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking)>", re.IGNORECASE)
_CODE_OPEN = re.compile(r"<code>", re.IGNORECASE)
_CODE_CLOSE = re.compile(r"</code>", re.IGNORECASE)
# An opening fence sits at the start of a line (or right after <CODE>) and ends its line.
_FENCE_OPEN = re.compile(r"(?im)^[ \t]*(?:<code>[ \t]*)?```[ \t]*([\w+#.-]*)[^\n`]*\n")
# A closing fence starts a line, or ends one (models write `self.wait()```</CODE>`).
_FENCE_CLOSE = re.compile(r"(?im)^[ \t]*```|```[ \t]*(?:</code>)?[ \t]*$")
# Lines that start Python code rather than prose.
_CODE_START = re.compile(
    r"(?m)^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import\b|import[ \t]+[\w.]+[ \t]*$|"
    r"import[ \t]+[\w.]+[ \t]*(?:,|as\b)|class[ \t]+\w+[ \t]*[(:]|def[ \t]+\w+[ \t]*\(|"
    r"@[\w.]+|[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?[ \t]*=[^=])"
)
_MAX_TRAILING_CUTS = 5  # prose paragraphs dropped from the end of raw code, at most


@dataclass
class Extraction:
    """The code found in a reply, and how it was found.

    Attributes:
        code: The extracted source ("" when nothing was found).
        method: "code_tag", "fence", "raw" or "none".
        found: Whether the reply contained code at all.
        reason: Why nothing was found (when `found` is False), or a note on how it was found
            (code from inside a think block, an unterminated block); None otherwise.
        in_think: The code came from inside a `<think>` block.
        terminated: False when the `<CODE>` block or fence was never closed (a cut-off reply).
    """

    code: str
    method: str
    found: bool
    reason: str | None = None
    in_think: bool = False
    terminated: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for transcripts."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extraction:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class _Candidate:
    code: str
    method: str
    terminated: bool = True


def extract_code(text: str | None) -> Extraction:
    """Extract the Python code of a model reply.

    Args:
        text: The raw reply.

    Returns:
        The extraction; `found` is False (with a `reason`) when the reply holds no code.
    """
    text = _normalise(text or "")
    if not text.strip():
        return Extraction("", "none", False, "the reply is empty")
    visible, thinking = split_think(text)
    candidate = _from_tags_or_fences(visible) or _from_raw(visible)
    if candidate is not None:
        return _result(candidate, in_think=False)
    candidate = _from_tags_or_fences(thinking)
    if candidate is not None:
        return _result(candidate, in_think=True)
    if thinking.strip() and not visible.strip():
        return Extraction(
            "",
            "none",
            False,
            "the reply has only a <think> block and no code (it may have been cut off while "
            "thinking: allow more tokens)",
        )
    if _CODE_OPEN.search(visible):
        return Extraction("", "none", False, "the <CODE> block in the reply is empty")
    words = " ".join(visible.split())
    preview = words if len(words) <= 80 else words[:77] + "..."
    return Extraction(
        "",
        "none",
        False,
        f"the reply has no <CODE> block, no ```python block and no Python code; it reads as "
        f"prose: {preview!r}",
    )


def split_think(text: str) -> tuple[str, str]:
    """Separate a reply into the visible text and the text of its think blocks.

    Args:
        text: The reply (newlines already normalised).

    Returns:
        (visible text, thinking text); an unterminated `<think>` runs to the end, and a
        `</think>` with no opening tag closes a block that began with the reply.
    """
    visible: list[str] = []
    thinking: list[str] = []
    pos = 0
    while pos < len(text):
        opening = _THINK_OPEN.search(text, pos)
        closing = _THINK_CLOSE.search(text, pos)
        if closing and (opening is None or closing.start() < opening.start()):
            thinking.append(text[pos : closing.start()])
            pos = closing.end()
        elif opening:
            visible.append(text[pos : opening.start()])
            closing = _THINK_CLOSE.search(text, opening.end())
            end = closing.start() if closing else len(text)
            thinking.append(text[opening.end() : end])
            pos = closing.end() if closing else len(text)
        else:
            visible.append(text[pos:])
            break
    return "".join(visible), "\n".join(thinking)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


def _result(candidate: _Candidate, *, in_think: bool) -> Extraction:
    notes = []
    if in_think:
        notes.append("code taken from inside <think>: the reply had none outside it")
    if not candidate.terminated:
        notes.append("the code block was never closed: the reply may have been cut off")
    return Extraction(
        code=candidate.code,
        method=candidate.method,
        found=True,
        reason="; ".join(notes) or None,
        in_think=in_think,
        terminated=candidate.terminated,
    )


def _clean(code: str) -> str:
    lines = textwrap.dedent(code).split("\n")
    lines = [line.rstrip() for line in lines]
    return "\n".join(lines).strip("\n")


def _from_tags_or_fences(text: str) -> _Candidate | None:
    return _from_code_tags(text) or _pick_fence(text)


def _code_blocks(text: str) -> list[tuple[str, bool]]:
    """(body, terminated) of every `<CODE>` block, in order.

    Each `</CODE>` closes the nearest `<CODE>` before it, so a tag mentioned in prose before the
    real block does not swallow the prose into the code.
    """
    blocks: list[tuple[str, bool]] = []
    pos = 0
    for closing in _CODE_CLOSE.finditer(text):
        openings = [m for m in _CODE_OPEN.finditer(text, pos, closing.start())]
        if openings:
            blocks.append((text[openings[-1].end() : closing.start()], True))
        pos = closing.end()
    tail = [m for m in _CODE_OPEN.finditer(text, pos)]
    if tail:
        blocks.append((text[tail[-1].end() :], False))
    return blocks


def _from_code_tags(text: str) -> _Candidate | None:
    complete: _Candidate | None = None
    cut_off: _Candidate | None = None
    for body, terminated in _code_blocks(text):
        body, fence_closed = _drop_dangling_fence(body)
        terminated = terminated or fence_closed
        fence = _pick_fence(body)
        if fence is not None:
            code, closed = fence.code, fence.terminated and terminated
        elif _fences(body):
            continue  # only empty (or non-Python) fences: no code in this block
        else:
            code, closed = _strip_language_line(_clean(body)), terminated
        if not code.strip():
            continue
        candidate = _Candidate(code, "code_tag", closed)
        if terminated:
            complete = candidate
        else:
            cut_off = candidate
    # A finished block beats one cut off after it: the cut-off one cannot be complete code.
    return complete or cut_off


def _drop_dangling_fence(body: str) -> tuple[str, bool]:
    """Drop a closing fence that has no opening one: `<CODE>python\n...code...\n```` (no `</CODE>`).

    Small models write the fence's language line without its backticks and then close the
    fence; kept, the lone ``` is a SyntaxError in otherwise valid code. The closing fence still
    marks where the code ends, so the block counts as finished.
    """
    stripped = body.rstrip()
    if stripped.endswith("```") and body.count("```") == 1:
        return stripped[:-3], True
    return body, False


def _strip_language_line(code: str) -> str:
    """Drop a leading `python` line (`<CODE>python\\n...`, a fence without its backticks)."""
    first, _, rest = code.partition("\n")
    return rest.strip("\n") if first.strip().lower() in PYTHON_LANGS else code


def _fences(text: str) -> list[tuple[str, str, bool]]:
    """(language, body, terminated) of every fenced block, scanning opening/closing in turn."""
    found: list[tuple[str, str, bool]] = []
    pos = 0
    while True:
        opening = _FENCE_OPEN.search(text, pos)
        if opening is None:
            return found
        closing = _FENCE_CLOSE.search(text, opening.end())
        if closing is None:
            found.append((opening.group(1).lower(), text[opening.end() :], False))
            return found
        found.append((opening.group(1).lower(), text[opening.end() : closing.start()], True))
        pos = closing.end()


def _pick_fence(text: str) -> _Candidate | None:
    python: list[_Candidate] = []
    bare: list[_Candidate] = []
    other: list[_Candidate] = []
    for lang, body, terminated in _fences(text):
        code = _clean(body)
        if not code:
            continue
        candidate = _Candidate(code, "fence", terminated)
        if lang in PYTHON_LANGS:
            python.append(candidate)
        elif not lang:
            bare.append(candidate)
        elif looks_like_code(code):
            other.append(candidate)  # e.g. ```python3.11 or a mislabelled fence
    for group in (python, bare, other):
        if group:
            return group[-1]
    return None


def looks_like_code(text: str) -> bool:
    """Whether some line of `text` starts Python code (import, class, def, decorator, assignment).

    Args:
        text: Any text.

    Returns:
        True when the text contains a line that prose would not start with.
    """
    return _CODE_START.search(text) is not None


def _from_raw(text: str) -> _Candidate | None:
    start = _CODE_START.search(text)
    if start is None:
        return None
    # Leading prose ("Here is the scene:") would be a syntax error on line 1: start at the code.
    line_start = text.rfind("\n", 0, start.start()) + 1
    code = _clean(text[line_start:])
    return _Candidate(_drop_trailing_prose(code), "raw")


def _drop_trailing_prose(code: str) -> str:
    """Cut closing remarks ("This scene draws...") after raw code, if that makes it parse."""
    if _parses(code):
        return code
    paragraphs = re.split(r"\n[ \t]*\n", code)
    for cut in range(1, min(_MAX_TRAILING_CUTS, len(paragraphs) - 1) + 1):
        dropped = paragraphs[-cut]
        # Only unindented prose may go; dropping code would hide a real error from the feedback.
        if dropped[:1].isspace() or looks_like_code(dropped):
            break
        shorter = "\n\n".join(paragraphs[:-cut]).strip("\n")
        if _parses(shorter):
            return shorter
    return code  # a real syntax error: the render feedback will point at it


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


# --- the study's rule (`--protocol study`) ------------------------------------------------------

# Inline mentions of the tags (`<CODE>` in backticks, as in "wrap it in `<CODE>`") are not blocks.
_STUDY_INLINE_TAG = re.compile(r"`</?CODE>`")
_STUDY_CODE_BLOCK = re.compile(r"<CODE>(.*?)</CODE>", re.DOTALL)
_STUDY_PYTHON_FENCE = re.compile(r"```python(.*?)```", re.DOTALL)
_STUDY_MARKERS = re.compile(r"<CODE>|</CODE>|```python|```")


def extract_code_study(text: str | None) -> Extraction:
    """The study's extraction rule, and nothing more.

    The last complete `<CODE>...</CODE>` block (tags case-sensitive), else the last complete
    ```` ```python ... ``` ```` fence; the tag and fence markers are removed from the match and
    the rest is stripped. No raw-text fallback, no ```` ```py ```` or bare fence, no unterminated
    block. A `<think>` block is set aside first, so code that is only inside it is not found.

    Args:
        text: The raw reply.

    Returns:
        The extraction (`method` "code_tag" or "fence"), or `found=False` with a reason.
    """
    text = text or ""
    if not text.strip():
        return Extraction("", "none", False, "the reply is empty")
    visible, _thinking = split_think(text)
    visible = _STUDY_INLINE_TAG.sub("", visible)
    method = "code_tag"
    matches = _STUDY_CODE_BLOCK.findall(visible)
    if not matches:
        method = "fence"
        matches = _STUDY_PYTHON_FENCE.findall(visible)
    code = _STUDY_MARKERS.sub("", matches[-1]).strip() if matches else ""
    if code:
        return Extraction(code, method, True)
    reason = (
        "the <CODE> block in the reply is empty"
        if matches
        else "the reply has no complete <CODE>...</CODE> block and no complete ```python fence "
        "(the study's rule; code only inside <think> does not count)"
    )
    return Extraction("", "none", False, reason)

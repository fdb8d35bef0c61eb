"""Text helpers for the API index: docstring cleanup, identifier tokenizing, error-message parsing.

Everything here is pure string work (no manim import), so it is shared by the index builder, the
search and `api_info_for_code`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# --- docstrings ---------------------------------------------------------------------------------

# Where a docstring stops being API reference and becomes example code. Numpy style ("Examples"
# underlined), Google style ("Examples:") and a bare `.. manim::` directive (example scenes that
# Manim's docs render; they cost prompt budget and teach nothing about the signature).
_EXAMPLES_RE = re.compile(
    r"^[ \t]*(?:Examples?[ \t]*\n[ \t]*-{3,}[ \t]*$|Examples?:[ \t]*$|\.\. manim::)",
    re.MULTILINE,
)
# Sphinx roles like :class:`~.VMobject` or :meth:`text <target>`: the LLM needs the name only.
_ROLE_RE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?\.?([^`<]*?)(?:\s*<[^>]*>)?`")


def cut_examples(doc: str) -> str:
    """The docstring up to (not including) its examples section, trailing blank lines dropped."""
    match = _EXAMPLES_RE.search(doc)
    return (doc[: match.start()] if match else doc).rstrip()


def simplify_rst(doc: str) -> str:
    """Replace Sphinx cross-reference roles by the bare name (`:class:`~.Mobject`` -> `Mobject`)."""
    return _ROLE_RE.sub(lambda m: m.group(1).strip().lstrip("~."), doc)


def first_paragraph(doc: str) -> str:
    """The first paragraph of a docstring joined into one line."""
    para = doc.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in para.splitlines()).strip()


def truncate_text(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a line boundary, marking the cut."""
    if len(text) <= limit:
        return text
    marker = "\n[...]"
    head = text[: max(0, limit - len(marker))]
    # Cut at the last full line when that keeps most of the budget; a half line reads worse.
    newline = head.rfind("\n")
    if newline > len(head) // 2:
        head = head[:newline]
    return head.rstrip() + marker


# --- tokenizing ---------------------------------------------------------------------------------

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# CamelCase parts: "ShowCreation" -> Show, Creation; "MathTex" -> Math, Tex; "SVGMobject" -> SVG,
# Mobject; "Text2D" -> Text, 2D.
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[A-Za-z]*")

# English glue words plus Python-traceback boilerplate: in a query like "NameError: name 'X' is
# not defined" only X carries meaning, and "name"/"object" would otherwise match half the index.
_STOPWORD_TEXT = (
    "a an and are as at be by for from if in into is it its of on or that the this to was "
    "were with will can not no has have got which when use used using should does do than "
    "then there these those their been being also may must other such only same so any all "
    "each error nameerror attributeerror typeerror valueerror importerror traceback exception "
    "name defined object attribute unexpected keyword argument arguments positional missing "
    "required takes given type module line file most recent call last self"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def stem(token: str) -> str:
    """A deliberately tiny suffix stemmer ("creation", "create", "created" -> "creat").

    Without it "ShowCreation" would never meet "Create"; a full stemmer is not a dependency.
    """
    for suffix in ("ings", "ing", "ions", "ion", "ed", "es", "e", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


def identifier_parts(identifier: str) -> list[str]:
    """Lower-case parts of one identifier: the whole identifier plus its snake/Camel pieces.

    >>> identifier_parts("ShowCreation")
    ['showcreation', 'show', 'creation']
    >>> identifier_parts("get_graph")
    ['get_graph', 'get', 'graph']
    """
    whole = identifier.strip("_").lower()
    parts = [whole] if whole else []
    for chunk in identifier.split("_"):
        pieces = _CAMEL_RE.findall(chunk) or ([chunk] if chunk else [])
        parts.extend(p.lower() for p in pieces)
    # Keep order, drop duplicates ("plot" -> ["plot"], not ["plot", "plot"]).
    return list(dict.fromkeys(p for p in parts if p))


def tokenize(text: str, *, stop: bool = True) -> list[str]:
    """BM25 tokens for free text or code: identifiers split, stemmed, stopwords dropped."""
    tokens: list[str] = []
    for identifier in _IDENT_RE.findall(text):
        for part in identifier_parts(identifier):
            if len(part) < 2 or (stop and part in STOPWORDS):
                continue
            tokens.append(stem(part))
    return tokens


def identifiers(text: str) -> list[str]:
    """Identifier-like words of `text`, in order, without duplicates."""
    return list(dict.fromkeys(_IDENT_RE.findall(text)))


# --- error messages -----------------------------------------------------------------------------


@dataclass
class ErrorRefs:
    """The API names an error message talks about.

    Attributes:
        names: globals reported missing or failing to import ("ShowCreation").
        attributes: (owner, attribute) pairs; owner is a class or module name, or None.
        kwargs: (callable, keyword) pairs; callable is a name like "Axes" or None.
        quoted: every quoted identifier, for a plain lookup when nothing more specific matched.
        line: the line number in the user's program, when the message shows one.
    """

    names: list[str] = field(default_factory=list)
    attributes: list[tuple[str | None, str]] = field(default_factory=list)
    kwargs: list[tuple[str | None, str]] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    line: int | None = None

    def is_empty(self) -> bool:
        return not (self.names or self.attributes or self.kwargs or self.quoted)


_NAME_ERR = re.compile(r"name '(\w+)' is not defined")
_IMPORT_ERR = re.compile(r"cannot import name '(\w+)'")
_ATTR_ERR = re.compile(
    r"(?:'(\w+)' object|(?<!')\b([A-Z]\w*) object|type object '(\w+)'|module '([\w.]+)')?"
    r"\s*has no attribute '(\w+)'"
)
_KWARG_ERR = re.compile(
    r"(?:([\w.]+)\(\)\s*)?got an unexpected keyword argument '(\w+)'|"
    r"unexpected keyword argument '(\w+)'"
)
_QUOTED = re.compile(r"['\"`]([A-Za-z_][\w.]*)['\"`]")
_FILE_LINE = re.compile(r'File "([^"]*)", line (\d+)')
_BARE_LINE = re.compile(r"\bline (\d+)")


def _user_line(message: str) -> int | None:
    """The traceback line in the user's program: the last frame outside installed packages."""
    frames = [
        (path, int(num))
        for path, num in _FILE_LINE.findall(message)
        if "site-packages" not in path and "/lib/python" not in path
    ]
    if frames:
        return frames[-1][1]
    bare = _BARE_LINE.findall(message)
    return int(bare[-1]) if bare else None


def _callable_name(raw: str | None) -> str | None:
    """ "Axes.__init__" -> "Axes"; "ax.plot" -> "plot" is not useful, keep the class-like head."""
    if not raw:
        return None
    parts = [p for p in raw.split(".") if not p.startswith("__")]
    return ".".join(parts) or None


def parse_error(message: str) -> ErrorRefs:
    """Extract the names an error message (or a whole traceback) is about."""
    refs = ErrorRefs(line=_user_line(message))
    refs.names.extend(_NAME_ERR.findall(message))
    refs.names.extend(_IMPORT_ERR.findall(message))
    for obj, bare, typ, mod, attr in _ATTR_ERR.findall(message):
        refs.attributes.append((obj or bare or typ or mod or None, attr))
    for func, kwarg, bare_kwarg in _KWARG_ERR.findall(message):
        refs.kwargs.append((_callable_name(func), kwarg or bare_kwarg))
    refs.quoted.extend(_QUOTED.findall(message))
    refs.names = list(dict.fromkeys(refs.names))
    refs.attributes = list(dict.fromkeys(refs.attributes))
    refs.kwargs = list(dict.fromkeys(refs.kwargs))
    refs.quoted = list(dict.fromkeys(refs.quoted))
    return refs

"""Static preflight: find, without running it, what will make a Manim CE module fail.

`check_code` parses the module, models Python's scoping (`preflight_scope`) and compares what the
code uses with what the installed manim really provides (`manim_api.namespace`, introspected and
cached per manim version). A finding means "this will fail at run time"; anything uncertain is
left alone, so valid code is never flagged. See docs/architecture.md section 5, `manimatic check`.

Finding codes and the `RenderResult` error category each would have been at run time:

- ``syntax`` (syntax): the module does not compile.
- ``no_scene`` (no_scene): no class derives from a manim Scene class.
- ``unknown_name`` (name): a name bound nowhere (suggests the closest real name).
- ``legacy_api`` (name): a ManimGL / pre-CE name, method or keyword that the installed manim lacks.
- ``missing_import`` (name): a manim name used without importing it.
- ``unknown_attribute`` (attribute): an attribute a manim object of a known class does not have.
- ``unknown_kwarg`` (type): a keyword a manim constructor or method does not accept.
- ``manimgl_import`` (import): `from manimlib import *` and other ManimGL imports.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from manimatic.manim_api.namespace import ManimNamespace, manim_namespace
from manimatic.render.source import read_source

__all__ = [
    "FINDING_CATEGORY",
    "CheckReport",
    "Finding",
    "ManimNamespace",
    "check_code",
    "check_file",
    "manim_namespace",
]

FINDING_CATEGORY: dict[str, str] = {
    "syntax": "syntax",
    "no_scene": "no_scene",
    "unknown_name": "name",
    "legacy_api": "name",
    "missing_import": "name",
    "unknown_attribute": "attribute",
    "unknown_kwarg": "type",
    "manimgl_import": "import",
}

# The exception each finding code stands for when its site does not say (a legacy name, method
# and keyword fail differently at run time: NameError, AttributeError, TypeError).
DEFAULT_ERROR_TYPE: dict[str, str] = {
    "syntax": "SyntaxError",
    "no_scene": "NoSceneError",
    "unknown_name": "NameError",
    "legacy_api": "NameError",
    "missing_import": "NameError",
    "unknown_attribute": "AttributeError",
    "unknown_kwarg": "TypeError",
    "manimgl_import": "ModuleNotFoundError",
}
_CATEGORY_OF_TYPE = {
    "SyntaxError": "syntax",
    "NameError": "name",
    "AttributeError": "attribute",
    "TypeError": "type",
    "ImportError": "import",
    "ModuleNotFoundError": "import",
}


@dataclass
class Finding:
    """One problem that will make the module fail.

    Attributes:
        line: 1-based line number.
        col: 1-based column (as in SyntaxError offsets and editors).
        code: one of the keys of `FINDING_CATEGORY`.
        message: what is wrong, phrased like the Python error it would raise.
        suggestion: how to fix it ("did you mean Create?"), or None.
        error_type: the exception the module would raise at run time (`ShowCreation`: NameError,
            `Axes.get_graph`: AttributeError, `Axes(x_min=...)`: TypeError); default: the code's.
    """

    line: int
    col: int
    code: str
    message: str
    suggestion: str | None = None
    error_type: str = ""

    def __post_init__(self) -> None:
        if self.code not in FINDING_CATEGORY:
            raise ValueError(
                f"unknown finding code {self.code!r}; expected one of {FINDING_CATEGORY}"
            )
        self.error_type = self.error_type or DEFAULT_ERROR_TYPE[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The `manimatic check --json` finding: line, col, code, message, suggestion and the
        error type the runtime would raise."""
        return asdict(self)

    @property
    def category(self) -> str:
        """The `RenderResult` error category of the error the runtime would raise."""
        return _CATEGORY_OF_TYPE.get(self.error_type, FINDING_CATEGORY[self.code])


@dataclass
class CheckReport:
    """The preflight verdict on one module.

    Attributes:
        file: the checked file, or None for code given as a string.
        ok: True when there are no findings.
        scenes: names of the Scene subclasses, in definition order.
        findings: the problems found, sorted by position.
    """

    file: str | None
    ok: bool
    scenes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``{"file", "ok", "scenes", "findings": [...]}``."""
        return {
            "file": self.file,
            "ok": self.ok,
            "scenes": list(self.scenes),
            "findings": [f.to_dict() for f in self.findings],
        }


def _syntax_report(file: str | None, exc: BaseException) -> CheckReport:
    if isinstance(exc, SyntaxError):
        line, col, message = exc.lineno or 1, exc.offset or 1, exc.msg or "invalid syntax"
    else:  # ValueError: null bytes in the source
        line, col, message = 1, 1, str(exc)
    return CheckReport(file, False, [], [Finding(line, max(col, 1), "syntax", message, None)])


def check_code(code: str, file: str | None = None) -> CheckReport:
    """Check one module's source statically (no execution, no rendering).

    Args:
        code: the Python source of a Manim CE module.
        file: the path to report (only used in the report and SyntaxError positions).

    Returns:
        The report; ``ok`` is False when any finding says the module will fail.
    """
    from manimatic.render.preflight_checks import ModuleChecker

    filename = file or "<string>"
    try:
        tree = ast.parse(code, filename)
        # Compiling the tree also catches what the parser lets through (`return` outside a
        # function, `nonlocal` at module level...).
        compile(tree, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return _syntax_report(file, exc)
    except (RecursionError, MemoryError):
        # Too deep for Python-level AST objects. Whether CPython compiles it depends on the stack
        # depth it is compiled at, so only a real SyntaxError is certain.
        try:
            compile(code, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return _syntax_report(file, exc)
        except (RecursionError, MemoryError):
            pass
        return CheckReport(file, True, [], [])
    ns = manim_namespace()
    try:
        scenes, raw = ModuleChecker(tree, ns).run()
    except RecursionError:
        # Nesting deeper than our visitor can follow (CPython compiled it): no finding is certain.
        return CheckReport(file, True, _shallow_scenes(tree, ns), [])
    findings = [Finding(*item) for item in raw]
    return CheckReport(file, not findings, scenes, findings)


def _shallow_scenes(tree: ast.Module, ns: ManimNamespace) -> list[str]:
    """Module-level classes with a manim Scene class among their direct bases."""
    scenes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = [getattr(b, "id", None) or getattr(b, "attr", None) for b in node.bases]
            if any(name and ns.is_scene_name(name) for name in names):
                scenes.append(node.name)
    return scenes


def check_file(path: str | Path) -> CheckReport:
    """Check a Python file.

    Raises:
        ValueError: the file is missing, a directory, binary, not UTF-8 or empty.
    """
    return check_code(read_source(path), str(path))

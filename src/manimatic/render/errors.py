"""Turn an exception raised by user code into a `RenderError` that points into the user's code.

Runs inside the job process, where the exception object, the traceback and manim are at hand.
"""

from __future__ import annotations

import builtins
import errno
import re
import traceback
from pathlib import Path
from types import TracebackType

from manimatic.manim_api.suggest import closest_name
from manimatic.render import legacy
from manimatic.render.result import RenderError

MAX_TRACEBACK_CHARS = 3000
MAX_MESSAGE_CHARS = 2000


class SandboxViolation(PermissionError):
    """Raised inside the sandbox when the program does something it may not (network, fork...)."""


_CATEGORY_BY_TYPE: list[tuple[type[BaseException], str]] = [
    (SandboxViolation, "sandbox"),
    (MemoryError, "memory"),
    (RecursionError, "other_runtime"),
    (SyntaxError, "syntax"),
    (ImportError, "import"),
    (NameError, "name"),
    (AttributeError, "attribute"),
    (TypeError, "type"),
    (ZeroDivisionError, "zero_division"),
    (LookupError, "index"),
    (ValueError, "value"),
    (ConnectionError, "sandbox"),
    (PermissionError, "sandbox"),
]

_SANDBOX_ERRNOS = {
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENETUNREACH,
    errno.EHOSTUNREACH,
    errno.EFBIG,  # the file-size rlimit (Python ignores SIGXFSZ, so writes fail instead)
    errno.ENOSPC,  # the job directory's size cap (a tmpfs under bubblewrap)
    errno.EDQUOT,
}


def is_latex_error(exc: BaseException) -> bool:
    """manim raises LaTeX failures as plain exceptions: recognise them by origin and message."""
    text = str(exc).lower()
    if isinstance(exc, ValueError | RuntimeError | OSError) and (
        "latex" in text or "dvisvgm" in text or "error converting to" in text
    ):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith("tex_file_writing.py"):
            return True
        tb = tb.tb_next
    return False


def _sandbox_cause(exc: BaseException) -> SandboxViolation | None:
    """A sandbox refusal a library wrapped in its own error (e.g. requests' ConnectionError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SandboxViolation):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def categorize(exc: BaseException) -> str:
    """The contract's error category for an exception raised by user code."""
    if _sandbox_cause(exc) is not None:
        return "sandbox"
    if is_latex_error(exc):
        return "latex"
    for exc_type, category in _CATEGORY_BY_TYPE:
        if isinstance(exc, exc_type):
            return category
    if isinstance(exc, OSError) and exc.errno in _SANDBOX_ERRNOS:
        return "sandbox"
    return "other_runtime"


def _user_frame(tb: TracebackType | None, user_file: str) -> int | None:
    """Line of the deepest traceback frame that is in the user's file."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == user_file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _source_line(source_lines: list[str], line: int | None) -> str | None:
    if line is None or not 1 <= line <= len(source_lines):
        return None
    return source_lines[line - 1].rstrip("\n")


def _traceback_tail(exc: BaseException, user_file: str, display_name: str) -> str:
    """The traceback with frames outside the user's file collapsed, cut to its tail."""
    lines: list[str] = []
    skipped = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename != user_file:
            skipped += 1
            continue
        if skipped:
            lines.append(f"  ... {skipped} frame(s) inside manim/python ...")
            skipped = 0
        lines.append(f'  File "{display_name}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line}")
    if skipped:
        lines.append(f"  ... {skipped} frame(s) inside manim/python ...")
    lines.extend(
        line.rstrip("\n").replace(user_file, display_name)
        for line in traceback.format_exception_only(type(exc), exc)
    )
    text = "Traceback (most recent call last):\n" + "\n".join(lines)
    return text[-MAX_TRACEBACK_CHARS:]


def _closest(name: str, candidates: list[str]) -> str | None:
    return closest_name(name, candidates)


def _manim_names() -> list[str]:
    import manim

    return [n for n in dir(manim) if not n.startswith("_")]


def hint_for(exc: BaseException, namespace: dict | None = None) -> str | None:
    """A suggestion for a fix, when one can be derived (legacy renames, close names)."""
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        name = str(exc.name)
        entry = legacy.lookup(name, "names")
        if entry:
            return f"did you mean {entry.replacement}? {entry.note or ''}".strip()
        candidates = _manim_names() + dir(builtins) + list(namespace or {})
        close = _closest(name, candidates)
        if close:
            return f"did you mean {close}?"
        return "define it, import it, or check the spelling"
    if isinstance(exc, AttributeError) and getattr(exc, "name", None):
        name = str(exc.name)
        entry = legacy.lookup(name, "methods")
        if entry:
            return f"did you mean {entry.replacement}? {entry.note or ''}".strip()
        obj = getattr(exc, "obj", None)
        if obj is not None:
            close = _closest(name, [a for a in dir(obj) if not a.startswith("__")])
            if close:
                return f"did you mean {close}?"
        return None
    if isinstance(exc, TypeError):
        match = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        if match:
            entry = legacy.lookup(match.group(1), "kwargs")
            if entry:
                return f"{entry.suggestion()}"
            return f"remove the keyword argument {match.group(1)!r}; see `manimatic docs show`"
        return None
    if isinstance(exc, ImportError):
        module = getattr(exc, "name", None) or ""
        entry = legacy.lookup(module.split(".")[0], "modules") if module else None
        if entry:
            return entry.note or entry.suggestion()
        if module:
            return f"module {module!r} is not installed in the render environment"
        return None
    if is_latex_error(exc):
        return (
            "check the LaTeX: use raw strings (r'...'), balanced braces, and math-mode content in "
            "MathTex; plain text can use Text instead"
        )
    if _sandbox_cause(exc) is not None:
        return "scenes may only compute and draw: no network, processes or files outside the job"
    if isinstance(exc, MemoryError):
        return "the scene needs too much memory; use fewer or smaller objects"
    return None


def latex_log_excerpt(exc: BaseException, max_lines: int = 8) -> str | None:
    """The '! ...' error lines of the LaTeX log that manim names in its exception message."""
    match = re.search(r"log file:\s*(\S+)", str(exc))
    if not match:
        return None
    log = Path(match.group(1))
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    picked: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            picked.extend(lines[i : i + 3])
        if len(picked) >= max_lines:
            break
    return "\n".join(picked[:max_lines]) or None


def error_from_exception(
    exc: BaseException,
    *,
    user_file: str,
    source: str,
    display_name: str = "scene.py",
    namespace: dict | None = None,
) -> RenderError:
    """Build the RenderError for an exception raised while importing or running user code."""
    source_lines = source.splitlines()
    if isinstance(exc, SyntaxError) and exc.filename == user_file:
        line = exc.lineno
    else:
        line = _user_frame(exc.__traceback__, user_file)
    message = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or str(exc))
    if isinstance(exc, KeyError) and exc.args:
        message = f"key not found: {exc.args[0]!r}"
    category = categorize(exc)
    if category == "latex":
        log_lines = latex_log_excerpt(exc)
        if log_lines:
            message = f"{message}\n{log_lines}"
    message = message.replace(user_file, display_name)[:MAX_MESSAGE_CHARS]
    try:
        hint = hint_for(exc, namespace)
    except Exception:  # a hint is a nicety; never let it mask the real error
        hint = None
    return RenderError(
        category=category,
        type=type(exc).__name__,
        message=message,
        line=line,
        excerpt=_source_line(source_lines, line),
        hint=hint,
        traceback=_traceback_tail(exc, user_file, display_name),
    )

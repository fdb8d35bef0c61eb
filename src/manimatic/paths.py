"""Where manimatic keeps its files: one place, overridable for tests and shared machines.

`MANIMATIC_HOME` (if set) holds everything: `cache/` (renders, docs index) and `data/` (bench DB).
Otherwise the platform's user cache and data directories are used.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

_checked: set[Path] = set()  # directories already found writable in this process


class HomeError(OSError):
    """manimatic's own directory cannot be made or written; the message says what to set."""


def _home() -> Path | None:
    value = os.environ.get("MANIMATIC_HOME")
    return Path(value).expanduser() if value else None


def file_in_the_way(path: Path) -> Path | None:
    """The first existing ancestor of `path` (or `path` itself) that is not a directory."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def writable_dir(path: Path, what: str) -> Path:
    """Make `path` (and its parents) and check that files can be written in it.

    Args:
        path: The directory.
        what: What it is for, in the message ("the render cache").

    Returns:
        `path`.

    Raises:
        HomeError: One line naming the directory, the reason and the fix.
    """
    if path in _checked:
        return path
    source = "MANIMATIC_HOME" if _home() is not None else "the user directory"
    fix = "set MANIMATIC_HOME to a writable directory"
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise HomeError(
            f"cannot use {path} for {what} ({source}): {blocker} is a file, not a directory; {fix}"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A real write, not os.access: it also catches read-only mounts and a full disk.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise HomeError(f"cannot write {what} in {path} ({source}): {reason}; {fix}") from exc
    _checked.add(path)
    return path


def cache_dir() -> Path:
    """Render cache, API-docs index and other derived files (safe to delete)."""
    home = _home()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir("manimatic"))
    return writable_dir(path, "the render cache")


def data_dir() -> Path:
    """Results users care about (the default benchmark database)."""
    home = _home()
    path = home / "data" if home else Path(platformdirs.user_data_dir("manimatic"))
    return writable_dir(path, "the benchmark database")

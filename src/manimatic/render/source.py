"""Reading a scene file: the one place that turns bad input into one clear error."""

from __future__ import annotations

from pathlib import Path

MAX_SOURCE_BYTES = 1_000_000  # LLM scenes are a few KB; a megabyte is not a scene


class SourceError(ValueError):
    """A file that cannot be a scene; `kind` is missing, directory, unreadable, too_large,
    binary, encoding or empty."""

    def __init__(self, path: Path, kind: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.kind = kind


def read_source(path: str | Path) -> str:
    """A module's text, or SourceError naming the problem and what to do."""
    path = Path(path)
    if not path.exists():
        raise SourceError(path, "missing", "no such file")
    if path.is_dir():
        raise SourceError(path, "directory", "is a directory; pass the .py files inside it")
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SourceError(
                path,
                "too_large",
                f"{size:,} bytes is too large for a scene file (limit {MAX_SOURCE_BYTES:,})",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(path, "unreadable", f"cannot read ({exc.strerror or exc})") from exc
    if b"\x00" in data:
        raise SourceError(path, "binary", "binary file, not Python source")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            path, "encoding", f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise SourceError(path, "empty", "empty file; write a Scene subclass in it")
    return text

"""Taking files and claims back from a job that may be hostile.

Everything a job can touch is data, never a path to follow or a verdict to believe:

- files are reached by walking from a directory descriptor with `O_NOFOLLOW` on every component
  (no symlink anywhere on the way, nothing outside the root), must be regular files with one
  link, and are **copied** (never moved) from the opened descriptor;
- a video or PNG counts only if it decodes to real frames of the expected size;
- the job's own report is bounded, parsed strictly and reduced to known fields, categories and
  stages; it can describe a failure but never makes a render succeed by itself.

Used by the worker (its validator child, unprivileged) and again by the pool on the host.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from manimatic.render.result import CATEGORIES, STAGES

MAX_REPORT_BYTES = 1_000_000
MAX_TRACE_BYTES = 16_000_000
MAX_TEXT_CHARS = 4000
MOVIE_SUFFIXES = {".mp4", ".mov", ".webm", ".gif"}  # every --format manim writes
IMAGE_SUFFIXES = {".png"}
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: no FIFO hangs


class UnsafeFile(Exception):
    """A file the job handed back is not a plain regular file strictly inside its directory."""


class InvalidMedia(Exception):
    """A file named like a video or image does not decode to frames of the expected size."""


def relative_inside(path: str | os.PathLike, root: Path) -> PurePosixPath:
    """`path` as a relative path strictly inside `root` (no `..`, not root itself)."""
    raw = os.fspath(path)
    if "\x00" in raw:
        raise UnsafeFile(f"{raw!r} contains a NUL byte")
    pure = PurePosixPath(raw)
    if pure.is_absolute():
        root_s = os.path.normpath(str(root))
        norm = os.path.normpath(raw)
        if not norm.startswith(root_s + os.sep):
            raise UnsafeFile(f"{raw} is outside {root}")
        pure = PurePosixPath(norm[len(root_s) + 1 :])
    if not pure.parts or any(part in ("..", ".", "") for part in pure.parts):
        raise UnsafeFile(f"{raw} is not a plain path inside {root}")
    return pure


def open_inside(root: Path, rel: PurePosixPath) -> int:
    """An fd of the regular file `root/rel`, refusing symlinks on every component."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise UnsafeFile(f"cannot open the directory {root}: {exc.strerror}") from None
    try:
        for part in rel.parts[:-1]:
            try:
                nxt = os.open(
                    part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
                )
            except OSError as exc:
                why = "a symlink" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else exc.strerror
                raise UnsafeFile(f"{rel}: the directory {part!r} is {why}") from None
            os.close(fd)
            fd = nxt
        try:
            file_fd = os.open(rel.parts[-1], _OPEN_FLAGS, dir_fd=fd)
        except OSError as exc:
            why = "a symlink" if exc.errno == errno.ELOOP else exc.strerror
            raise UnsafeFile(f"{rel} is {why}, not a regular file") from None
    finally:
        os.close(fd)
    info = os.fstat(file_fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(file_fd)
        kind = "a hard link" if stat.S_ISREG(info.st_mode) else "not a regular file"
        raise UnsafeFile(f"{rel} is {kind}")
    return file_fd


def copy_inside(root: Path, path: str | os.PathLike, dest_dir: Path, max_bytes: int) -> Path:
    """Copy the regular file `path` (strictly inside `root`) to a new file in `dest_dir`."""
    rel = relative_inside(path, root)
    src = open_inside(root, rel)
    try:
        size = os.fstat(src).st_size
        if size > max_bytes:
            raise UnsafeFile(f"{rel} is {size} bytes, over the {max_bytes}-byte limit")
        dest = dest_dir / safe_name(rel.name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(dest, flags, 0o644)
        try:
            copied = 0
            while copied < size:
                sent = os.sendfile(out, src, copied, min(size - copied, 1 << 24))
                if sent == 0:
                    break
                copied += sent
        finally:
            os.close(out)
    finally:
        os.close(src)
    return dest


def safe_name(name: str) -> str:
    """A file name the job chose, safe to create in a directory of ours."""
    name = os.path.basename(name)
    if name in ("", ".", "..") or "\x00" in name or len(name) > 200:
        raise UnsafeFile(f"{name!r} is not an acceptable file name")
    return name


# --------------------------------------------------------------------------- decoding


@dataclass
class MediaInfo:
    """What a decoded output holds."""

    kind: str  # "video" | "image"
    frames: int
    width: int
    height: int


def check_media(path: Path, width: int, height: int) -> MediaInfo:
    """Decode every frame of a video (PyAV) or the image (Pillow); all must be `width`x`height`."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        from PIL import Image

        try:
            with Image.open(path) as image:
                if image.format != "PNG":
                    raise InvalidMedia(f"{path.name} is not a PNG image (it is {image.format})")
                image.load()
                size = image.size
        except InvalidMedia:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "not an image"
            raise InvalidMedia(f"{path.name} does not decode as a PNG image ({exc})") from None
        if size != (width, height):
            raise InvalidMedia(f"{path.name} is {size[0]}x{size[1]}, expected {width}x{height}")
        return MediaInfo("image", 1, width, height)
    if suffix not in MOVIE_SUFFIXES:
        raise InvalidMedia(f"{path.name} is neither a video nor a PNG image")
    import av

    frames = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidMedia(f"{path.name} has no video stream")
            for frame in container.decode(video=0):
                if (frame.width, frame.height) != (width, height):
                    raise InvalidMedia(
                        f"{path.name} has {frame.width}x{frame.height} frames, "
                        f"expected {width}x{height}"
                    )
                frames += 1
    except InvalidMedia:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises many types for garbage input
        raise InvalidMedia(f"{path.name} does not decode as a video ({exc})") from None
    if frames == 0:
        raise InvalidMedia(f"{path.name} holds no decodable frame")
    return MediaInfo("video", frames, width, height)


# --------------------------------------------------------------------------- the job's report


def read_report(job_dir: Path, name: str) -> dict | None:
    """The job's report file as parsed JSON, or None when absent; UnsafeFile when it is a trap."""
    try:
        fd = open_inside(job_dir, PurePosixPath(name))
    except UnsafeFile:
        if not os.path.lexists(job_dir / name):
            return None
        raise
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise UnsafeFile(f"{name} is larger than {MAX_REPORT_BYTES} bytes")
    if not data.strip(b"\0 \n"):
        return None  # the room taken for it, never written: the job died first
    try:
        report = json.loads(data)
    except ValueError:
        raise UnsafeFile(f"{name} is not JSON") from None
    if not isinstance(report, dict):
        raise UnsafeFile(f"{name} is not a JSON object")
    return report


def text(value: Any, limit: int = MAX_TEXT_CHARS) -> str | None:
    """A job-supplied string, bounded; anything else becomes None."""
    return value[:limit] if isinstance(value, str) else None


def names(value: Any, limit: int = 100) -> list[str]:
    """A job-supplied list of scene names or relative paths: strings only, bounded."""
    if not isinstance(value, list):
        return []
    return [v[:300] for v in value[:limit] if isinstance(v, str)]


def sanitize_error(error: Any) -> dict | None:
    """A job-supplied error, reduced to the contract (unknown categories become `sandbox`)."""
    if not isinstance(error, dict):
        return None
    category = error.get("category")
    line = error.get("line")
    return {
        "category": category if category in CATEGORIES else "sandbox",
        "type": text(error.get("type"), 100) or "Error",
        "message": text(error.get("message")) or "(no message)",
        "line": line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None,
        "excerpt": text(error.get("excerpt"), 500),
        "hint": text(error.get("hint"), 500),
        "traceback": text(error.get("traceback")),
    }


def sanitize_stage(stage: Any) -> str:
    return stage if stage in STAGES else "sandbox"

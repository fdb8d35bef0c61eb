"""Which files the viewer may serve: only media under manimatic's own folders.

A URL names a file as `/files/<root>/<relative path>`, never by absolute path. Serving resolves
the path (following every symlink) and checks that the result is still inside that root, is a
regular file, and has a media suffix; anything else is refused. So `..`, an absolute path, an
encoded traversal or a symlink planted in the cache that points outside all fail the same
containment check.

Roots: manimatic's cache directory (renders), its data directory, `MANIMATIC_HOME` when set, and
directories the user names with `manimatic view --serve-dir` (e.g. a study's run folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from manimatic import paths

MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".gif": "image/gif",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov")


class FileRefused(Exception):
    """The path is not one the viewer serves (outside its roots, not media, not a file)."""


@dataclass
class MediaRoots:
    """The folders the viewer serves media from, by URL name.

    Attributes:
        roots: URL name -> resolved directory.
    """

    roots: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def default(cls, extra: list[str | Path] | None = None) -> MediaRoots:
        """manimatic's cache and data directories, `MANIMATIC_HOME`, plus `extra` folders."""
        found: dict[str, Path] = {
            "cache": paths.cache_dir(),
            "data": paths.data_dir(),
        }
        home = os.environ.get("MANIMATIC_HOME")
        if home:
            found["home"] = Path(home).expanduser()
        for i, folder in enumerate(extra or [], start=1):
            found[f"dir{i}"] = Path(folder).expanduser()
        return cls({name: p.resolve() for name, p in found.items()})

    def url(self, path: str | Path | None) -> str | None:
        """The `/files/...` URL of a media file under a root, or None (not served)."""
        if not path:
            return None
        try:
            full = Path(path).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if full.suffix.lower() not in MEDIA_TYPES or not full.is_file():
            return None
        # The deepest root that holds it, so the URL is short and stable.
        best: tuple[str, Path] | None = None
        for name, root in self.roots.items():
            if full.is_relative_to(root) and (best is None or len(root.parts) > len(best[1].parts)):
                best = (name, root)
        if best is None:
            return None
        return f"/files/{best[0]}/{quote(full.relative_to(best[1]).as_posix())}"

    def resolve(self, root_name: str, relative: str) -> Path:
        """The file a `/files/<root_name>/<relative>` URL names.

        Raises:
            FileRefused: Unknown root, a path that leaves the root (after resolving symlinks),
                not a regular file, or not a media file.
            FileNotFoundError: Inside the root but missing.
        """
        root = self.roots.get(root_name)
        if root is None:
            raise FileRefused(f"unknown folder {root_name!r}")
        if "\x00" in relative or relative.startswith(("/", "\\")) or Path(relative).is_absolute():
            raise FileRefused("absolute paths are not served")
        candidate = root / relative
        try:
            full = candidate.resolve(strict=True)
        except FileNotFoundError:
            # Refuse an escape even when its target is missing: never say what exists outside.
            if not candidate.resolve(strict=False).is_relative_to(root):
                raise FileRefused("the path leaves manimatic's folders") from None
            raise
        except (OSError, RuntimeError) as exc:
            raise FileRefused(f"unreadable path ({type(exc).__name__})") from None
        if not full.is_relative_to(root):
            raise FileRefused("the path leaves manimatic's folders")
        if not full.is_file():
            raise FileRefused("not a regular file")
        if full.suffix.lower() not in MEDIA_TYPES:
            raise FileRefused("only video and image files are served")
        return full


def media_type(path: Path) -> str:
    """The Content-Type of a served media file."""
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def is_video(path: str | None) -> bool:
    """Whether a path names a video (else an image, shown with <img>)."""
    return bool(path) and str(path).lower().endswith(VIDEO_SUFFIXES)

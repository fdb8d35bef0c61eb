"""Where and with what a record was made: package versions, the git checkout, the UTC time.

One module for the three run-record formats (the bench store's runs, the agent's transcripts,
training's run.json), so they agree on how a version is read, what "dirty" means and which
clock they use (UTC, ISO 8601 with seconds and offset).
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

CORE_PACKAGES = ("manim",)  # the renderer decides what a program does


def utc_now() -> str:
    """The current UTC time, ISO 8601 with seconds (`2026-12-01T09:00:00+00:00`)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def utc_iso(timestamp: float) -> str:
    """A POSIX timestamp as UTC ISO 8601 with seconds."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def package_version(name: str) -> str | None:
    """The installed version of a distribution (read from its metadata, never imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions(*packages: str) -> dict[str, str | None]:
    """manimatic's, Python's, manim's and `packages`' versions (None for one not installed)."""
    from manimatic import __version__

    out: dict[str, str | None] = {"manimatic": __version__, "python": platform.python_version()}
    for name in dict.fromkeys((*CORE_PACKAGES, *packages)):
        out[name] = package_version(name)
    return out


@dataclass
class GitState:
    """The checkout manimatic runs from.

    Attributes:
        commit: HEAD's hash (None outside a git checkout, e.g. an installed wheel).
        dirty: Tracked files differ from HEAD (untracked files do not count); None when unknown.
    """

    commit: str | None = None
    dirty: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def git_state() -> GitState:
    """The commit and dirty flag of manimatic's own checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return GitState()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return GitState()
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return GitState(commit.stdout.strip() or None, dirty)

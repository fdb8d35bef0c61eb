"""`-p/--preview`: open a rendered file with the system viewer, as manim does.

Only where a viewer can show something: on Linux and the BSDs that means a graphical session
(`DISPLAY` or `WAYLAND_DISPLAY`); on a headless machine the caller says so instead of failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PreviewResult:
    """What `preview` did.

    Attributes:
        opened: True when a viewer was started.
        message: What happened, for the user ("opened with xdg-open", "no display: ...").
    """

    opened: bool
    message: str


def viewer_command(path: Path, platform: str | None = None) -> list[str] | None:
    """The command that opens `path` with the system viewer here, or None when there is none.

    Args:
        path: The file to open.
        platform: `sys.platform` (a parameter for tests).

    Returns:
        The argv, or None on a machine without a display or opener.
    """
    platform = platform or sys.platform
    if platform == "darwin":
        return ["open", str(path)]
    if platform.startswith("win"):
        return ["cmd", "/c", "start", "", str(path)]
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    opener = shutil.which("xdg-open")
    return [opener, str(path)] if opener else None


def preview(path: str | Path) -> PreviewResult:
    """Open a rendered file in the background (never waits for the viewer to close).

    Args:
        path: The video or image.

    Returns:
        Whether it was opened, and a message saying why not when it was not.
    """
    path = Path(path)
    argv = viewer_command(path)
    if argv is None:
        has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        why = "no xdg-open on PATH" if has_display else "no display (DISPLAY is not set)"
        return PreviewResult(False, f"not previewing: {why}; the file is {path}")
    try:
        subprocess.Popen(  # noqa: S603 - a fixed viewer on our own output file
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return PreviewResult(False, f"not previewing: {argv[0]} failed ({exc}); the file is {path}")
    return PreviewResult(True, f"opened {path} with {Path(argv[0]).name}")

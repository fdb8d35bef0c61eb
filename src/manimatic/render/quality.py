"""Render quality letters: the one accepted set and the one check every entry point uses.

The letters are manim's own (`manim -ql` ...). The sandbox worker maps them onto manim's config
names in its own table (`worker.QUALITIES`): it imports nothing from the package, so it cannot
import this one; `tests/render/test_preflight.py` keeps the two tables in step.
"""

from __future__ import annotations

QUALITIES: dict[str, str] = {
    "l": "480p15",  # the study's
    "m": "720p30",
    "h": "1080p60",
    "p": "1440p60",
    "k": "2160p60",
}
QUALITY_HELP = "l (480p15, the study's), m (720p30), h (1080p60), p (1440p60), k (2160p60)."


def check_quality(value: str) -> str:
    """Return `value` when it is a render quality letter.

    Raises:
        ValueError: Anything else; the message names the accepted letters.
    """
    if value not in QUALITIES:
        raise ValueError(
            f"quality must be one of {', '.join(QUALITIES)} (l = 480p15, the study's); "
            f"got {value!r}."
        )
    return value

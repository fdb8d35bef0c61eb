"""Render quality letters: the one accepted set and the one check every entry point uses.

The letters are manim's own (`manim -ql` ...); `MANIM_QUALITY_NAMES` maps them onto manim's
config names for the sandbox worker (`job.QUALITIES`). This module imports nothing, so the job
child can use it.
"""

from __future__ import annotations

QUALITIES: dict[str, str] = {
    "l": "480p15",  # the study's
    "m": "720p30",
    "h": "1080p60",
    "p": "1440p60",
    "k": "2160p60",
}
MANIM_QUALITY_NAMES: dict[str, str] = {
    "l": "low_quality",
    "m": "medium_quality",
    "h": "high_quality",
    "p": "production_quality",
    "k": "fourk_quality",
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

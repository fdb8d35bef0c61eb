"""What the video shows: stretches with nothing visible, judged on the rendered frames.

The frames are the honest source here: an object can be in the trace and still show nothing
(off screen, transparent, hidden by the camera), and only pixels tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manimatic.critic.colors import parse_hex
from manimatic.critic.findings import Finding
from manimatic.critic.thresholds import Thresholds
from manimatic.metrics.frames import Frames, load_frames

SAMPLE_FPS = 5.0


@dataclass
class EmptyStretch:
    """A run of frames that show only the background."""

    start: float
    end: float  # exclusive: the time of the first frame after the run (or the video's end)


def _background(image: np.ndarray, hint: str | None) -> np.ndarray:
    rgb = parse_hex(hint)
    if rgb is not None:
        return np.array([round(c * 255) for c in rgb], dtype=np.int16)
    corners = np.stack([image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]]).astype(np.int16)
    return np.median(corners, axis=0).astype(np.int16)


def empty_mask(frames: Frames, background: str | None, th: Thresholds) -> list[bool]:
    """Per frame: True when (almost) every pixel is the background colour."""
    out = []
    for image in frames.images:
        bg = _background(image, background)
        # Every other row and column: a quarter of the work, and any visible object still
        # covers many of the pixels left.
        delta = np.abs(image[::2, ::2].astype(np.int16) - bg).max(axis=2)
        content = np.count_nonzero(delta > th.empty_pixel_delta)
        out.append(content < th.empty_content_fraction * delta.size)
    return out


def empty_stretches(frames: Frames, background: str | None, th: Thresholds) -> list[EmptyStretch]:
    """The runs of empty frames, with their times."""
    mask = empty_mask(frames, background, th)
    step = 1 / SAMPLE_FPS
    end_of_video = (frames.times[-1] + step) if frames.times else 0.0
    runs: list[EmptyStretch] = []
    start: float | None = None
    for i, empty in enumerate(mask):
        if empty and start is None:
            start = frames.times[i]
        elif not empty and start is not None:
            runs.append(EmptyStretch(start, frames.times[i]))
            start = None
    if start is not None:
        runs.append(EmptyStretch(start, end_of_video))
    return runs


def check_empty_frames(
    output: str, background: str | None, th: Thresholds, scene: str | None = None
) -> list[Finding]:
    """`empty_frame` findings for one rendered video or image.

    Raises:
        ValueError: The output cannot be decoded.
    """
    frames = load_frames(output, fps=SAMPLE_FPS)
    if not len(frames):
        return []
    runs = empty_stretches(frames, background, th)
    still_image = frames.source_fps is None
    total = (frames.times[-1] + 1 / SAMPLE_FPS) if not still_image else 0.0
    if runs and (still_image or (runs[0].start == 0 and runs[0].end >= total - 1e-6)):
        return [
            Finding(
                "empty_frame",
                0.0,
                [],
                "nothing is visible in the output: every frame shows only the background",
                "add the objects to the scene (self.add / self.play(Create(...))) inside the "
                "frame, with a colour that differs from the background",
                scene,
            )
        ]
    findings = []
    for run in runs:
        length = run.end - run.start
        if length + 1e-6 < th.empty_stretch_s:
            continue
        findings.append(
            Finding(
                "empty_frame",
                run.start,
                [],
                f"nothing is visible from {run.start:.1f} s to {run.end:.1f} s "
                f"({length:.1f} s of an empty frame)",
                "shorten the self.wait() calls around it, or keep something on screen "
                "(fade the next objects in before the old ones are all gone)",
                scene,
            )
        )
    return findings

"""The critic's thresholds, in one place, with what each was tuned on.

Tuned on the corpus in tests/critic/scenes (defective and clean scenes written for this purpose)
and checked against the ManimBench test references (bench/critic_references.py); bench/RESULTS.md
says which changes each set prompted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Numbers the checks compare against (scene units unless named otherwise)."""

    # An object counts as seen at a sample when its drawn parts are at least this opaque. A
    # cross-fade (one text fading out as another fades in at the same place) keeps the two
    # opacities summing to about 1, so both are never above 0.6 at once.
    visible_opacity: float = 0.6
    # A defect must be held: seen at this many consecutive samples (5 per second) with the
    # objects standing still, or in the final frame. Motion (an object sliding past another,
    # entering from off screen) passes through without a finding.
    held_samples: int = 2
    # Two texts overlap when the shared area is this fraction of the smaller one...
    overlap_fraction: float = 0.12
    # ...and the shared region is at least this thick both ways (touching boxes do not count).
    overlap_min_extent: float = 0.05
    # A stroke crosses a text when it passes through the text's box shrunk by this fraction of
    # the box's smaller side (so an underline or an arrow ending at the text does not count).
    cross_margin_fraction: float = 0.2
    # An object is off the frame when it reaches this far past the visible region's edge.
    off_frame_tolerance: float = 0.1
    # Capital-letter height in rendered pixels below which text is too small to read.
    min_cap_px: float = 6.0
    # WCAG contrast ratio (after blending by opacity) below which an object is invisible. Manim's
    # darkest grey, GRAY_E (#222222), is 1.32 against black: dim, but meant to be seen.
    min_contrast: float = 1.25
    # Opacity below which an object is "present with zero opacity".
    transparent_opacity: float = 0.05
    # empty_frame: a frame is empty when fewer than this fraction of its pixels differ from the
    # background by more than `empty_pixel_delta` (of 255) in some channel...
    empty_content_fraction: float = 0.0002
    empty_pixel_delta: int = 40
    # ...and a stretch of empty frames is a finding from this many seconds on (a closing fade to
    # black followed by the default one-second wait is shorter).
    empty_stretch_s: float = 2.0


DEFAULT = Thresholds()

# Capital-letter height per point of font_size, in scene units, measured in manim 0.22: Pango
# text ('H' at font_size 48 is 0.486 units high) and LaTeX (0.340).
CAP_UNITS_PER_POINT_PANGO = 0.486 / 48
CAP_UNITS_PER_POINT_TEX = 0.340 / 48
PANGO_TYPES = frozenset({"Text", "MarkupText", "Paragraph", "Code"})

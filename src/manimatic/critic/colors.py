"""Colour contrast: can a viewer tell a colour from what is behind it?

Uses the WCAG relative luminance and contrast ratio (1 = identical, 21 = black on white). Manim's
palette is far from the limit (its darkest named grey, GRAY_E #222222, is 1.3 against black), so
a low bar catches only colours meant to be seen but drawn in the background's own colour.
"""

from __future__ import annotations


def parse_hex(color: str | None) -> tuple[float, float, float] | None:
    """`#RRGGBB` (or `#RRGGBBAA`, `#RGB`) as RGB in [0, 1]; None when unreadable."""
    if not color or not isinstance(color, str):
        return None
    value = color.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) not in (6, 8):
        return None
    try:
        return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        return None


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str | None, b: str | None) -> float | None:
    """WCAG contrast ratio between two hex colours; None when either is unreadable."""
    ra, rb = parse_hex(a), parse_hex(b)
    if ra is None or rb is None:
        return None
    la, lb = sorted((luminance(ra), luminance(rb)), reverse=True)
    return (la + 0.05) / (lb + 0.05)

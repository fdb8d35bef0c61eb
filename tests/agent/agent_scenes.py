"""Scene sources and reply builders shared by the agent tests."""

from __future__ import annotations

# Tiny scenes: -ql renders of a fraction of a second, cached across the session.
GOOD_SCENE = """\
from manim import *


class GoodCircle(Scene):
    def construct(self):
        circle = Circle(color=RED)
        self.play(Create(circle), run_time=0.3)
"""

NAME_ERROR_SCENE = """\
from manim import *


class GrowCircle(Scene):
    def construct(self):
        circle = Circle(radius=radius_value)
        self.play(Create(circle), run_time=0.3)
"""

FIXED_SCENE = NAME_ERROR_SCENE.replace("radius=radius_value", "radius=1.5")

SHOW_CREATION_SCENE = """\
from manim import *


class Tri(Scene):
    def construct(self):
        tri = Triangle()
        self.play(ShowCreation(tri), run_time=0.3)
"""


def code_reply(code: str, prose: str = "") -> str:
    """A reply in the trained format, optionally with prose before it."""
    return f"{prose}<CODE>```python\n{code}```</CODE>"

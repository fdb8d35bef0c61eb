"""Scenes and helpers shared by the benchmark tests."""

from __future__ import annotations

import json
from pathlib import Path

# Tiny scenes: each renders in well under a second. `{nonce}` keeps a test's renders out of the
# session render cache where that matters (e.g. the kill -9 test needs real, slow-enough work).
CIRCLE = (
    "from manim import *\n\n\nclass BenchCircle(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.play(Create(Circle(color=BLUE)), run_time=0.4)\n"
)
SQUARE = (
    "from manim import *\n\n\nclass BenchSquare(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        sq = Square(color=RED).shift(2 * LEFT)\n"
    "        self.play(FadeIn(sq), run_time=0.4)\n"
)
STILL_TEXT = (
    "from manim import *\n\n\nclass BenchStill(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.add(Dot(color=YELLOW).shift(UP), Triangle(color=GREEN))\n"
)
BROKEN = (
    "from manim import *\n\n\nclass BenchBroken(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.play(Create(Circle(color=not_a_colour)))\n"
)


def scene(template: str, nonce: str = "fixed") -> str:
    """A scene's code with its nonce filled in."""
    return template.replace("{nonce}", nonce)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write rows as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


NO_EMBEDDERS = {"image_embedder": None, "code_embedder": None}

"""Helpers shared by the training tests (imported as a plain module, like agent_scenes)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMOKE_TASKS = REPO / "configs" / "smoke_tasks.jsonl"

# Small scenes that render in well under a second at -ql.
CIRCLE = """from manim import *


class BlueCircle(Scene):
    def construct(self):
        circle = Circle(radius=1.5, color=BLUE)
        self.play(Create(circle), run_time=0.5)
"""

SQUARE = """from manim import *


class RedSquare(Scene):
    def construct(self):
        self.add(Square(side_length=2, color=RED).shift(LEFT * 2))
"""

BROKEN = """from manim import *


class Broken(Scene):
    def construct(self):
        self.play(ShowCreation(Circle()))
"""


def cpu_args(**overrides):
    """Keyword arguments every tiny CPU config needs, plus `overrides`."""
    base = {
        "model": "tiny",
        "use_cpu": True,
        "bf16": False,
        "activation_checkpointing": False,
        "report_to": "none",
        "seed": 0,
    }
    base.update(overrides)
    return base

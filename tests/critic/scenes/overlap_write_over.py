# expect: overlap
from manim import *


class WriteOver(Scene):
    def construct(self):
        first = Text("Step one: square both sides", font_size=36)
        second = Text("Step two: take the root", font_size=36).shift(DOWN * 0.15)
        self.play(Write(first))
        self.wait(0.5)
        self.play(Write(second))
        self.wait(1)

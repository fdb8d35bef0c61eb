# expect: overlap
from manim import *


class LabelOnAxis(Scene):
    def construct(self):
        axes = Axes(x_range=[-4, 4], y_range=[-3, 3], x_length=8, y_length=6)
        label = Text("origin here", font_size=32).move_to(axes.c2p(0, 0))
        self.play(Create(axes))
        self.play(FadeIn(label))
        self.wait(1)

# expect: invisible
from manim import *


class WhiteOnWhite(Scene):
    def construct(self):
        self.camera.background_color = WHITE
        dot = Dot(color=RED)
        label = MathTex(r"x_0").next_to(dot, UP)
        self.play(FadeIn(dot), Write(label))
        self.wait(1)

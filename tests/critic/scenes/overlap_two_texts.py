# expect: overlap
from manim import *


class Collide(Scene):
    def construct(self):
        title = Text("Pythagoras", font_size=48)
        formula = MathTex(r"a^2 + b^2 = c^2", font_size=60).shift(UP * 0.1)
        self.play(Write(title))
        self.play(Write(formula))
        self.wait(1)

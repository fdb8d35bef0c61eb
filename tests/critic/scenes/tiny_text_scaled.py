# expect: tiny_text
from manim import *


class ShrunkFormula(Scene):
    def construct(self):
        circle = Circle(radius=2, color=GREEN)
        formula = MathTex(r"A = \pi r^2").scale(0.2).next_to(circle, RIGHT)
        self.play(Create(circle), Write(formula))
        self.wait(1)

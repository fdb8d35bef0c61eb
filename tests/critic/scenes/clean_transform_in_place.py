# expect: clean
from manim import *


class InPlace(Scene):
    def construct(self):
        a = MathTex(r"(a+b)^2")
        b = MathTex(r"a^2 + 2ab + b^2")
        c = MathTex(r"a^2 + b^2 + 2ab")
        self.play(Write(a))
        self.play(Transform(a, b))
        self.wait(0.5)
        self.play(TransformMatchingTex(a, c))
        self.wait(0.5)
        d = Text("done", font_size=40)
        self.play(ReplacementTransform(c, d))
        self.wait(1)

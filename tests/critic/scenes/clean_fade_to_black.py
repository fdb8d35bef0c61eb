# expect: clean
from manim import *


class FadeToBlack(Scene):
    def construct(self):
        group = VGroup(Circle(color=RED), Text("bye", font_size=40).shift(DOWN * 1.6))
        self.wait(0.5)
        self.play(FadeIn(group))
        self.wait(1)
        self.play(FadeOut(group))
        self.wait(1)

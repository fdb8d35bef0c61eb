# expect: empty_frame
from manim import *


class LongGap(Scene):
    def construct(self):
        square = Square(color=BLUE)
        self.play(Create(square))
        self.play(FadeOut(square))
        self.wait(3)
        circle = Circle(color=RED)
        self.play(Create(circle))
        self.wait(0.5)

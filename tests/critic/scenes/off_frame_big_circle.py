# expect: off_frame
from manim import *


class BigCircle(Scene):
    def construct(self):
        circle = Circle(radius=5, color=BLUE)
        self.play(Create(circle))
        self.wait(1)

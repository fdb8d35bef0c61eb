# expect: off_frame
from manim import *


class LostSquare(Scene):
    def construct(self):
        label = Text("Where is the square?", font_size=36).to_edge(UP)
        square = Square(color=RED).move_to(RIGHT * 10)
        self.add(label, square)
        self.wait(2)

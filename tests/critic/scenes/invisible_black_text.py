# expect: invisible
from manim import *


class BlackOnBlack(Scene):
    def construct(self):
        square = Square(color=BLUE)
        caption = Text("This caption is black", color=BLACK, font_size=36).next_to(square, DOWN)
        self.play(Create(square), Write(caption))
        self.wait(1)

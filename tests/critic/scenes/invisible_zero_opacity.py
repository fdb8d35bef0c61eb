# expect: invisible
from manim import *


class Transparent(Scene):
    def construct(self):
        box = Rectangle(width=4, height=2, color=YELLOW)
        hidden = Text("never shown", font_size=36).move_to(box).set_opacity(0)
        self.add(box, hidden)
        self.wait(2)

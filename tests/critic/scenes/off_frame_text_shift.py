# expect: off_frame
from manim import *


class LongTitle(Scene):
    def construct(self):
        title = Text("A title that is pushed too far right", font_size=40).shift(RIGHT * 5)
        self.play(Write(title))
        self.wait(1)

# expect: tiny_text
from manim import *


class Footnote(Scene):
    def construct(self):
        body = Text("Main point", font_size=48)
        note = Text("a footnote nobody can read", font_size=7).next_to(body, DOWN)
        self.play(FadeIn(body), FadeIn(note))
        self.wait(1)

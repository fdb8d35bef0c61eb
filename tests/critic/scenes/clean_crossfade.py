# expect: clean
from manim import *


class CrossFade(Scene):
    def construct(self):
        old = Text("Before", font_size=48)
        new = Text("After", font_size=48)
        self.play(FadeIn(old))
        self.wait(0.5)
        self.play(FadeOut(old), FadeIn(new), run_time=1.5)
        self.wait(0.5)
        newer = Text("Later still", font_size=48)
        self.play(FadeTransform(new, newer))
        self.wait(1)

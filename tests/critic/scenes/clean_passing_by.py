# expect: clean
from manim import *


class PassingBy(Scene):
    def construct(self):
        still = Text("stays put", font_size=40)
        mover = Text("drives past", font_size=40, color=YELLOW).move_to(LEFT * 5)
        self.add(still, mover)
        self.play(mover.animate.move_to(RIGHT * 5), run_time=2, rate_func=linear)
        self.wait(0.5)

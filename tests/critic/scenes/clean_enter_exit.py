# expect: clean
from manim import *


class EnterExit(Scene):
    def construct(self):
        note = Text("sliding in", font_size=40).move_to(LEFT * 10)
        self.add(note)
        self.play(note.animate.move_to(ORIGIN))
        self.wait(0.5)
        self.play(note.animate.move_to(RIGHT * 10))
        square = Square(color=BLUE)
        self.play(FadeIn(square))
        self.wait(0.5)

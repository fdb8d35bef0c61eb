# expect: clean
from manim import *


class GridAndMarks(Scene):
    def construct(self):
        plane = NumberPlane()
        word = Text("wrong answer", font_size=40).shift(UP * 2.2)
        cross = Cross(word)
        right = Text("right answer", font_size=40).shift(DOWN * 2.2)
        underline = Underline(right, color=GREEN)
        horizon = Line(LEFT * 8, RIGHT * 8, color=GRAY).shift(UP * 0.5)
        self.add(plane)
        self.play(Write(word), Write(right), Create(horizon))
        self.play(Create(cross), Create(underline))
        self.wait(1)

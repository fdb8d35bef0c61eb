from manim import *


class SquareToCircle(Scene):
    def construct(self):
        square = Square(color=BLUE).shift(LEFT)
        circle = Circle(color=RED, fill_opacity=0.5).shift(RIGHT)
        label = Text("manimatic", font_size=36).to_edge(UP)
        self.play(Create(square), Write(label))
        self.play(Transform(square, circle), run_time=1)
        self.wait(0.5)

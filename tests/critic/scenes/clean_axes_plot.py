# expect: clean
from manim import *


class Parabola(Scene):
    def construct(self):
        axes = Axes(
            x_range=[-3, 3, 1],
            y_range=[0, 9, 3],
            x_length=6,
            y_length=5,
            axis_config={"include_numbers": True},
        )
        graph = axes.plot(lambda x: x**2, color=YELLOW)
        labels = axes.get_axis_labels(x_label="x", y_label="y")
        title = MathTex(r"y = x^2").to_edge(UP)
        self.play(Create(axes), Write(labels), Write(title))
        self.play(Create(graph))
        self.wait(1)

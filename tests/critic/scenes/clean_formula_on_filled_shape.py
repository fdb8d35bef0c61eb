# expect: clean
from manim import *


class FormulaOnCard(Scene):
    def construct(self):
        card = RoundedRectangle(
            width=6,
            height=2,
            corner_radius=0.3,
            fill_color=WHITE,
            fill_opacity=1,
            stroke_color=GRAY,
        )
        formula = MathTex(r"E = mc^2", color=BLACK, font_size=60).move_to(card)
        disc = Circle(radius=1, fill_color=BLUE, fill_opacity=1).next_to(card, DOWN)
        sign = Text("+", color=WHITE, font_size=48).move_to(disc)
        self.play(FadeIn(card), Write(formula))
        self.play(FadeIn(disc), FadeIn(sign))
        self.wait(1)

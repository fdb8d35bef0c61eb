# expect: clean
from manim import *


class LabelInBox(Scene):
    def construct(self):
        label = Text("Input", font_size=36)
        box = SurroundingRectangle(label, color=BLUE, buff=0.3)
        node = VGroup(Rectangle(width=3, height=1.4, color=GREEN), Text("Output", font_size=32))
        node.next_to(box, RIGHT, buff=1.5)
        arrow = Arrow(box.get_right(), node.get_left(), buff=0.1)
        self.play(Write(label), Create(box))
        self.play(FadeIn(node), GrowArrow(arrow))
        self.wait(1)

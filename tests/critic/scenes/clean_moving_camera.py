# expect: clean
from manim import *


class ZoomIn(MovingCameraScene):
    def construct(self):
        dots = VGroup(*[Dot(RIGHT * x) for x in range(-6, 7, 2)])
        label = Text("zoom here", font_size=24).next_to(dots[3], UP)
        self.add(dots, label)
        self.play(self.camera.frame.animate.scale(0.4).move_to(dots[3]))
        self.wait(1)

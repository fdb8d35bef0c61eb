# expect: empty_frame
from manim import *


class Nothing(Scene):
    def construct(self):
        self.wait(2)

"""manimatic: text -> Manim CE code -> video, with the renderer in the loop."""

__version__ = "0.1.0"

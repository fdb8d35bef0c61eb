"""Synthetic Manim-like frames and tiny video/PNG writers for the metrics tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

W, H = 160, 90  # 16:9 like manim, small so the skimage reference stays quick

RED = (252, 98, 85)  # manim's RED, #FC6255
BLUE = (88, 196, 221)  # manim's BLUE, #58C4DD
WHITE = (255, 255, 255)
YELLOW = (255, 255, 0)


def canvas(w: int = W, h: int = H) -> np.ndarray:
    return np.zeros((h, w, 3), np.uint8)


def scene_frame(
    shift: tuple[int, int] = (0, 0),
    circle_colour: tuple[int, int, int] = RED,
    radius: int = 18,
    square: bool = True,
    progress: float = 1.0,
    w: int = W,
    h: int = H,
) -> np.ndarray:
    """A red circle left of centre and a white square right of it; `progress` draws the circle
    partially (like Create)."""
    img = canvas(w, h)
    dx, dy = shift
    cx, cy = w // 2 - w // 6 + dx, h // 2 + dy
    cv2.ellipse(img, (cx, cy), (radius, radius), 0, 0, 360 * progress, circle_colour, 2)
    if square:
        x0, y0 = w // 2 + w // 10 + dx, h // 2 - 14 + dy
        cv2.rectangle(img, (x0, y0), (x0 + 28, y0 + 28), WHITE, 2)
    return img


def other_frame(w: int = W, h: int = H) -> np.ndarray:
    """An unrelated scene: yellow text-like strokes at the top, a blue line at the bottom."""
    img = canvas(w, h)
    cv2.putText(img, "y=x^2", (w // 4, h // 3), cv2.FONT_HERSHEY_SIMPLEX, 0.6, YELLOW, 1)
    cv2.line(img, (10, h - 15), (w - 10, h - 25), BLUE, 2)
    return img


def write_video(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """Encode RGB frames as lossless H.264 in RGB (decoded pixels are exact) with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "rgb24"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_png(path: Path, img: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(img).save(path)
    return path

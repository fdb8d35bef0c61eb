"""Frame loading: a render (video or still image) -> a list of RGB frames sampled in time.

The study samples videos at 5 fps (every 3rd frame of manim's 15 fps `-ql` output) and treats a PNG
as one frame. We sample by timestamp rather than by a fixed stride so that any source rate works:
a frame is kept when its presentation time reaches the next sampling instant (with a small
tolerance for rounding of the container's time base). At 15 fps source and 5 fps sampling this is
exactly frames 0, 3, 6, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".mkv", ".avi", ".gif"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


@dataclass
class Frames:
    """Frames sampled from one render.

    Attributes:
        images: RGB uint8 arrays of shape (H, W, 3), in time order.
        times: Presentation time in seconds of each image (0.0 for a still image).
        source_fps: Frame rate of the source video; None for a still image.
        path: Where the frames came from, if loaded from a file.
    """

    images: list[np.ndarray]
    times: list[float] = field(default_factory=list)
    source_fps: float | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if not self.times:
            self.times = [0.0] * len(self.images)
        if len(self.times) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.times)} times")

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_arrays(cls, images: list[np.ndarray], fps: float = 5.0) -> Frames:
        """Frames from in-memory arrays (grayscale or RGB), spaced 1/fps apart."""
        rgb = [_as_rgb_uint8(np.asarray(im)) for im in images]
        return cls(images=rgb, times=[i / fps for i in range(len(rgb))], source_fps=fps)


def load_frames(path: str | Path, fps: float = 5.0, max_frames: int | None = None) -> Frames:
    """Load the frames of a render.

    Args:
        path: A video (.mp4, .mov, .webm, .mkv, .avi, .gif) or a still image (.png, .jpg, .jpeg).
        fps: Sampling rate for videos; the study uses 5.
        max_frames: Stop after this many sampled frames (None: the whole video).

    Returns:
        The sampled frames, RGB uint8.

    Raises:
        ValueError: The file is missing, unreadable, corrupt, empty or of an unsupported type.
    """
    p = Path(path)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return Frames(images=[_read_image(p)], times=[0.0], source_fps=None, path=str(p))
    if suffix in VIDEO_SUFFIXES:
        return _read_video(p, fps, max_frames)
    supported = ", ".join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
    raise ValueError(
        f"{p}: unsupported file type {suffix or '(none)'!r}; expected one of {supported}"
    )


def _read_image(p: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # Manim's transparent renders are meant to be seen over its (black) background.
                rgba = np.asarray(im.convert("RGBA"), dtype=np.float64)
                rgb = rgba[..., :3] * (rgba[..., 3:4] / 255.0)
                return np.round(rgb).astype(np.uint8)
            return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{p}: not a readable image ({exc})") from exc


def _read_video(p: Path, fps: float, max_frames: int | None) -> Frames:
    import av

    images: list[np.ndarray] = []
    times: list[float] = []
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise ValueError(f"{p}: not a readable video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise ValueError(f"{p}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        source_fps = float(rate) if rate else None
        # Half a source frame of slack absorbs time-base rounding without ever picking a frame
        # that belongs to the next sampling instant.
        tol = 0.5 / source_fps if source_fps else 1e-3
        step = 1.0 / fps
        start = None
        k = 0  # index of the next sampling instant, start + k * step
        index = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else index / (source_fps or fps)
                index += 1
                if start is None:
                    start = t  # sample relative to the first frame (pts may not start at 0)
                if t + tol < start + k * step:
                    continue
                images.append(frame.to_ndarray(format="rgb24"))
                times.append(t)
                while start + k * step <= t + tol:
                    k += 1
                if max_frames is not None and len(images) >= max_frames:
                    break
        except (av.error.FFmpegError, OSError) as exc:
            raise ValueError(f"{p}: corrupt video ({exc})") from exc
    if not images:
        raise ValueError(f"{p}: video has no decodable frames")
    return Frames(images=images, times=times, source_fps=source_fps, path=str(p))


def _as_rgb_uint8(im: np.ndarray) -> np.ndarray:
    if im.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {im.dtype}")
    if im.ndim == 2:
        return np.repeat(im[..., None], 3, axis=2)
    if im.ndim == 3 and im.shape[2] == 3:
        return im
    if im.ndim == 3 and im.shape[2] == 4:
        return im[..., :3]
    raise ValueError(f"frames must be (H, W), (H, W, 3) or (H, W, 4), got shape {im.shape}")

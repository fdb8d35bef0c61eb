"""Frame loading: timestamp sampling, stills, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from metrics_helpers import scene_frame, write_png, write_video

from manimatic.metrics.frames import Frames, load_frames


def test_video_sampled_every_third_frame_at_15fps(tmp_path):
    frames = [scene_frame(progress=k / 15) for k in range(16)]
    out = load_frames(write_video(tmp_path / "v.mp4", frames), fps=5.0)
    assert out.source_fps == pytest.approx(15.0)
    assert len(out) == 6  # frames 0, 3, ..., 15
    assert out.times == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    for k, img in enumerate(out.images):
        assert img.dtype == np.uint8 and img.shape == frames[0].shape
        assert np.array_equal(img, frames[3 * k])


def test_video_other_rates_and_max_frames(tmp_path):
    frames = [scene_frame(progress=k / 30) for k in range(30)]
    path = write_video(tmp_path / "v30.mp4", frames, fps=30)
    out = load_frames(path, fps=5.0)
    assert [round(t, 3) for t in out.times] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert np.array_equal(out.images[1], frames[6])
    assert len(load_frames(path, fps=5.0, max_frames=2)) == 2
    assert len(load_frames(path, fps=30.0)) == 30


def test_png_is_one_frame(tmp_path):
    img = scene_frame()
    out = load_frames(write_png(tmp_path / "s.png", img))
    assert len(out) == 1 and out.times == [0.0] and out.source_fps is None
    assert np.array_equal(out.images[0], img)


def test_transparent_png_is_composited_on_black(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[5:10, 5:10] = (200, 100, 50, 255)
    rgba[12:15, 12:15] = (200, 100, 50, 0)  # fully transparent: background
    out = load_frames(write_png(tmp_path / "t.png", rgba)).images[0]
    assert out.shape == (20, 30, 3)
    assert tuple(out[7, 7]) == (200, 100, 50) and tuple(out[13, 13]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mp4", None, "no such file"),
        ("broken.mp4", b"not a video at all", "not a readable video"),
        ("broken.png", b"\x89PNG garbage", "not a readable image"),
        ("notes.txt", b"hello", "unsupported file type"),
    ],
)
def test_bad_files_raise_value_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_frames(path)


def test_from_arrays_gray_and_rgb():
    f = Frames.from_arrays([np.zeros((9, 9), np.uint8), np.zeros((9, 9, 3), np.uint8)], fps=5)
    assert [im.shape for im in f.images] == [(9, 9, 3), (9, 9, 3)]
    assert f.times == [0.0, 0.2]
    with pytest.raises(ValueError, match="uint8"):
        Frames.from_arrays([np.zeros((9, 9), np.float32)])

"""Fidelity: identical > small perturbation > large perturbation > unrelated, with and without
scene traces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from metrics_helpers import BLUE, other_frame, scene_frame

from manimatic.metrics.fidelity import dtw_mean_similarity, fidelity, load_trace
from manimatic.metrics.frames import Frames


def video(**kwargs) -> Frames:
    # Create the circle over 6 frames, then hold the final picture.
    imgs = [scene_frame(progress=k / 6, **kwargs) for k in range(7)] + [scene_frame(**kwargs)] * 3
    return Frames.from_arrays(imgs)


def unrelated() -> Frames:
    return Frames.from_arrays([other_frame()] * 10)


def trace(shift=(0.0, 0.0), colour="#FC6255", square=True, extra_text=None, slow=1) -> dict:
    dx, dy = shift
    objects = [
        {
            "type": "Circle",
            "color": colour,
            "fill_opacity": 0.0,
            "bbox": [-3 + dx, -1 + dy, -1 + dx, 1 + dy],
            "text": None,
        }
    ]
    if square:
        objects.append(
            {
                "type": "Square",
                "color": "#FFFFFF",
                "fill_opacity": 0.0,
                "bbox": [1 + dx, -1 + dy, 3 + dx, 1 + dy],
                "text": None,
            }
        )
    if extra_text:
        objects = [
            {
                "type": "MathTex",
                "color": "#FFFF00",
                "fill_opacity": 1.0,
                "bbox": [-2, 1, 2, 2],
                "text": extra_text,
            },
            {
                "type": "Line",
                "color": "#58C4DD",
                "fill_opacity": 0.0,
                "bbox": [-6, -3, 6, -2.5],
                "text": None,
            },
        ]
    frames = [{"t": k * 0.2, "mobjects": objects} for k in range(10 * slow)]
    return {"fps": 5, "frame_width": 14.22, "frame_height": 8.0, "frames": frames}


def test_identical_is_one():
    v = video()
    res = fidelity(v, v)
    assert res.score == pytest.approx(1.0)
    assert res.components["trace"] is None
    assert fidelity(v, v, trace(), trace()).score == pytest.approx(1.0)


def test_pixel_ordering():
    ref = video()
    small = {
        "shift": fidelity(ref, video(shift=(3, 2))).score,
        "colour": fidelity(ref, video(circle_colour=BLUE)).score,
        # Twice as slow: every frame shown twice.
        "timing": fidelity(
            ref, Frames.from_arrays([im for im in ref.images for _ in (0, 1)])
        ).score,
    }
    big = fidelity(ref, video(shift=(-20, 12), circle_colour=BLUE, radius=12)).score
    other = fidelity(ref, unrelated()).score
    assert all(0.7 < s < 1.0 for s in small.values()), small
    assert min(small.values()) > big > other
    assert other < 0.35


def test_bigger_shift_scores_lower():
    ref = video()
    scores = [fidelity(ref, video(shift=(d, 0))).score for d in (0, 4, 12, 30)]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(1.0)


def test_stills_are_told_apart():
    # VS scores every pair of stills 1; fidelity does not.
    a = Frames.from_arrays([scene_frame()])
    same_task = fidelity(a, Frames.from_arrays([scene_frame(shift=(3, 0))])).score
    other_task = fidelity(a, Frames.from_arrays([other_frame()])).score
    assert same_task > 0.8 > 0.35 > other_task


def test_trace_ordering():
    ref_frames, ref_trace = video(), trace()
    small = fidelity(ref_frames, video(shift=(3, 2)), ref_trace, trace(shift=(0.3, 0.2))).score
    recolour = fidelity(
        ref_frames, video(circle_colour=BLUE), ref_trace, trace(colour="#58C4DD")
    ).score
    big = fidelity(
        ref_frames,
        video(shift=(-20, 12), circle_colour=BLUE, radius=12),
        ref_trace,
        trace(shift=(-2.0, 1.2), colour="#58C4DD"),
    ).score
    other = fidelity(ref_frames, unrelated(), ref_trace, trace(extra_text="y=x^2")).score
    assert min(small, recolour) > big > other
    assert min(small, recolour) > 0.75 and other < 0.3


def test_trace_components_and_one_sided_trace(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(trace()))
    res = fidelity(video(), video(), path, trace(slow=2))
    assert {"pixel", "trace", "trace_sequence", "trace_last", "trace_inventory"} <= set(
        res.components
    )
    assert res.components["trace"] == pytest.approx(1.0)
    # A trace on one side only cannot be compared: pixels alone.
    assert fidelity(video(), video(), trace(), None).components["trace"] is None


def test_empty_frames():
    blank = Frames.from_arrays([np.zeros((90, 160, 3), np.uint8)])
    assert fidelity(blank, blank).score == pytest.approx(1.0)
    assert fidelity(blank, Frames.from_arrays([scene_frame()])).score == 0.0


def test_bad_trace_is_an_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable trace"):
        load_trace(bad)
    with pytest.raises(ValueError, match="'frames' list"):
        load_trace({"fps": 5})


def test_dtw_mean_similarity_by_hand():
    sim = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    value, path = dtw_mean_similarity(sim)
    assert path == [(0, 0), (1, 1), (2, 1)] and value == pytest.approx(1.0)


def test_crowded_long_traces_are_thinned(monkeypatch):
    from manimatic.metrics import fidelity as fid

    def crowded(dx: float) -> dict:
        frames = []
        for k in range(30):
            mobs = [
                {
                    "type": "Dot",
                    "color": "#FFFFFF",
                    "bbox": [j / 5 + k / 30 + dx, 0, j / 5 + 0.1, 0.1],
                }
                for j in range(12)
            ]
            frames.append({"t": k / 5, "mobjects": mobs})
        return {"frame_width": 14.22, "frame_height": 8.0, "frames": frames}

    full = fid.trace_fidelity(crowded(0), crowded(0.2))
    monkeypatch.setattr(fid, "TRACE_PAIR_BUDGET", 10_000)
    thin = fid.trace_fidelity(crowded(0), crowded(0.2))
    assert fid.trace_fidelity(crowded(0), crowded(0))["trace"] == pytest.approx(1.0)
    assert thin["trace"] == pytest.approx(full["trace"], abs=0.05)

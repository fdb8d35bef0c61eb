"""The scene trace's stroke paths: where lines run, within a per-frame budget."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from manimatic.critic import load_timeline
from manimatic.render import trace


def test_paths_follow_strokes_and_stay_within_the_frame_budget() -> None:
    manim = pytest.importorskip("manim")
    line = manim.Line(manim.LEFT * 3, manim.RIGHT * 3)
    label = manim.Text("a", font_size=30)
    curves = [manim.Circle(radius=0.1 + i * 0.05) for i in range(150)]
    scene = SimpleNamespace(mobjects=[line, label, *curves])
    entries = trace.snapshot(scene, {})
    by_type = {e["type"]: e for e in entries}
    (path,) = by_type["Line"]["paths"]
    assert path[0] == [-3.0, 0.0] and path[-1] == [3.0, 0.0]
    assert "paths" not in by_type["Text"]  # text is judged by its box, not its glyph outlines
    assert all(len(p) <= trace.MAX_PATH_POINTS for e in entries for p in e.get("paths") or ())
    recorded = sum(len(p) for e in entries for p in e.get("paths") or ())
    assert recorded <= trace.MAX_FRAME_PATH_POINTS
    dropped = [e for e in entries if "paths" in e and e["paths"] is None]
    assert dropped, (
        "150 circles (17 points each) exceed the frame's budget: the last ones keep no course"
    )
    timeline = load_timeline({"frames": [{"t": 0, "mobjects": entries}]})
    kinds = {o.type: o.is_stroke for o in timeline.samples[0].objects}
    assert kinds["Line"] and kinds["Circle"] and not kinds["Text"]

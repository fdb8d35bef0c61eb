"""The checks on hand-built traces: what is held is a finding, what moves or fades is not."""

from __future__ import annotations

import pytest

from manimatic.critic import (
    Finding,
    count_by_kind,
    critique_timeline,
    format_findings,
    load_timeline,
)
from manimatic.critic.colors import contrast
from manimatic.critic.geometry import path_hits_box, segment_hits_box


def obj(id_, type_="Text", bbox=(-1, -0.25, 1, 0.25), **kw):
    data = {
        "id": id_,
        "type": type_,
        "bbox": list(bbox),
        "text": kw.pop("text", "hello" if type_ in ("Text", "MathTex") else None),
        "opacity": kw.pop("opacity", 1.0),
        "colors": kw.pop("colors", ["#FFFFFF"]),
        "fill_opacity": kw.pop("fill_opacity", 1.0 if type_ in ("Text", "MathTex") else 0.0),
        "font_size": kw.pop("font_size", 48.0 if type_ in ("Text", "MathTex") else None),
    }
    data.update(kw)
    return data


def trace(frames, **header):
    data = {
        "fps": 5.0,
        "frame_width": 14.2222,
        "frame_height": 8.0,
        "pixel_height": 480,
        "pixel_width": 854,
        "background": "#000000",
        "frames": [{"t": round(i * 0.2, 3), "mobjects": objs} for i, objs in enumerate(frames)],
    }
    data.update(header)
    return load_timeline(data, scene="S")


def kinds(timeline):
    return sorted({f.kind for f in critique_timeline(timeline)})


def test_held_overlap_of_two_texts_is_found_but_a_moving_pass_is_not():
    a = obj(0)
    held = [[a, obj(1, "MathTex", (-0.5, -0.2, 1.5, 0.3))]] * 4
    assert kinds(trace(held + [[a]])) == ["overlap"]
    passing = [[a, obj(1, bbox=(-3 + i, -0.25, -1 + i, 0.25))] for i in range(7)]
    passing.append([a])
    assert kinds(trace(passing)) == []


def test_cross_fade_at_one_place_is_not_an_overlap():
    frames = [[obj(0, opacity=1 - s), obj(1, opacity=s)] for s in (0.0, 0.2, 0.4, 0.5, 0.6, 0.8)]
    frames += [[obj(1)]] * 3
    assert kinds(trace(frames)) == []


def test_overlap_in_the_final_frame_counts_even_without_a_hold():
    frames = [[obj(0)]] * 3 + [[obj(0), obj(1, bbox=(-1, -0.2, 1, 0.3))]]
    assert kinds(trace(frames)) == ["overlap"]


def test_line_through_text_is_an_overlap_but_a_box_around_it_is_not():
    line = obj(5, "Line", (-3, 0, 3, 0), paths=[[[-3, 0], [3, 0]]], colors=["#FFFFFF"])
    assert kinds(trace([[obj(0), line]] * 3)) == ["overlap"]
    box_path = [[-1.2, -0.45], [1.2, -0.45], [1.2, 0.45], [-1.2, 0.45], [-1.2, -0.45]]
    box = obj(6, "SurroundingRectangle", (-1.2, -0.45, 1.2, 0.45), paths=[box_path])
    assert kinds(trace([[obj(0), box]] * 3)) == []
    cross = obj(7, "Cross", (-1, -0.25, 1, 0.25), paths=[[[-1, -0.25], [1, 0.25]]])
    assert kinds(trace([[obj(0), cross]] * 3)) == []


def test_off_frame_held_entering_and_never_in():
    cut = obj(0, bbox=(5, 0, 8, 0.5))
    assert kinds(trace([[cut]] * 3)) == ["off_frame"]
    entering = [[obj(0, bbox=(-12 + 2 * i, 0, -10 + 2 * i, 0.5))] for i in range(6)]
    entering += [[obj(0, bbox=(-1, 0, 1, 0.5))]] * 3
    assert kinds(trace(entering)) == []
    lost = obj(1, "Square", (9, -1, 11, 1), paths=[[[9, -1], [11, -1]]])
    assert kinds(trace([[obj(0), lost]] * 3)) == ["off_frame"]
    leaving = [[obj(0, bbox=(-1, 0, 1, 0.5))]] * 3 + [[obj(0, bbox=(9, 0, 11, 0.5))]] * 3
    assert kinds(trace(leaving)) == []


def test_a_line_across_the_frame_and_a_grid_are_not_off_frame():
    horizon = obj(0, "Line", (-8, 0, 8, 0), paths=[[[-8, 0], [8, 0]]])
    grid = obj(1, "NumberPlane", (-8, -5, 8, 5), paths=[[[-8, 0], [8, 0]]])
    assert kinds(trace([[horizon, grid]] * 3)) == []
    big = obj(2, "Circle", (-5, -5, 5, 5), paths=[[[5, 0], [0, 5], [-5, 0], [0, -5]]])
    assert kinds(trace([[big]] * 3)) == ["off_frame"]


def test_moving_camera_view_is_not_judged_as_off_frame():
    frames = [[obj(0, bbox=(5, 0, 8, 0.5))]] * 3
    data = {
        "fps": 5.0,
        "frame_width": 14.2222,
        "frame_height": 8.0,
        "pixel_height": 480,
        "frames": [
            {"t": i * 0.2, "camera": [3, -1, 6, 1], "mobjects": objs}
            for i, objs in enumerate(frames)
        ],
    }
    assert kinds(load_timeline(data)) == []


def test_tiny_text_depends_on_the_rendered_resolution():
    small = [[obj(0, font_size=9.0)]] * 3
    assert kinds(trace(small)) == ["tiny_text"]
    assert kinds(trace(small, pixel_height=1080)) == []
    finding = critique_timeline(trace(small))[0]
    assert "font_size=" in finding.suggestion


def test_invisible_text_colour_and_zero_opacity_but_not_on_a_light_card():
    black = [[obj(0, colors=["#000000"])]] * 3
    assert kinds(trace(black)) == ["invisible"]
    transparent = [[obj(0, opacity=0.0)]] * 3
    assert "zero opacity" in critique_timeline(trace(transparent))[0].message
    card = obj(1, "Rectangle", (-2, -1, 2, 1), fill_opacity=1.0, colors=["#FFFFFF"], text=None)
    on_card = [[card, obj(0, colors=["#000000"])]] * 3
    assert kinds(trace(on_card)) == []
    faded_in_later = [[obj(0, opacity=0.0)]] * 3 + [[obj(0, opacity=0.5)], [obj(0)], [obj(0)]]
    assert kinds(trace(faded_in_later)) == []
    white_on_white = [[obj(0)]] * 3
    assert kinds(trace(white_on_white, background="#FFFFFF")) == ["invisible"]


def test_three_d_scenes_skip_screen_geometry():
    frames = [[obj(0, bbox=(5, 0, 8, 0.5), font_size=5.0)]] * 3
    assert kinds(trace(frames, three_d=True)) == []


def test_format_one_traces_still_load():
    data = {
        "fps": 5,
        "frame_width": 14.22,
        "frame_height": 8.0,
        "frames": [
            {
                "t": 0.0,
                "mobjects": [
                    {
                        "type": "Circle",
                        "color": "#FC6255",
                        "fill_opacity": 0.0,
                        "bbox": [0, 0, 1, 1],
                        "text": None,
                    }
                ],
            }
        ],
    }
    timeline = load_timeline(data)
    assert timeline.samples[0].objects[0].colors == ["#FC6255"]
    assert critique_timeline(timeline) == []


def test_bad_trace_is_a_value_error(tmp_path):
    bad = tmp_path / "S.trace.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="not a readable scene trace"):
        load_timeline(bad)
    with pytest.raises(ValueError, match="frames"):
        load_timeline({"fps": 5})


@pytest.mark.parametrize(
    "trace",
    [
        {"frames": [1]},
        {"frames": [{"camera": 5}]},
        {"frames": [{"camera": [0, 0]}]},
        {"frames": [{"mobjects": [1]}]},
        {"frames": [{"mobjects": [{"bbox": [0, 1]}]}]},
        {"frames": [{"mobjects": [{"bbox": ["a", 0, 0, 0]}]}]},
        {"frames": [{"mobjects": [{"paths": [[1]]}]}]},
        {"frames": [], "pixel_height": "x"},
        {"frames": [{"t": [1]}]},
    ],
)
def test_a_hostile_trace_is_one_value_error(trace):
    """The job writes its trace inside the sandbox: any JSON is a ValueError, never a crash."""
    with pytest.raises(ValueError, match="not a readable scene trace"):
        load_timeline(trace)


def test_trace_fields_are_coerced_before_the_checks_use_them():
    trace = {"pixel_height": "480", "frames": [{"mobjects": [
        {"type": "Text", "text": 7, "font_size": "24", "colors": [1], "bbox": [0, 0, 1, 1]}]}]}  # fmt: skip
    timeline = load_timeline(trace)
    obj = timeline.samples[0].objects[0]
    assert timeline.pixel_height == 480 and obj.text == "7" and obj.font_size == 24.0
    assert obj.colors == ["1"] and obj.label() == "Text('7')"
    critique_timeline(timeline)  # runs to the end on the coerced values


def test_geometry_and_contrast():
    assert segment_hits_box((-2, 0), (2, 0), (-1, -1, 1, 1))
    assert not segment_hits_box((-2, 2), (2, 2), (-1, -1, 1, 1))
    assert path_hits_box([(-2, -2), (0, 0)], (-1, -1, 1, 1))
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#000000", "#000000") == pytest.approx(1.0)
    assert contrast("nope", "#000000") is None


def test_findings_model_and_feedback():
    with pytest.raises(ValueError, match="unknown finding kind"):
        Finding("ugly", 0.0, [], "m", "s")
    findings = [
        Finding("overlap", 1.234, ["Text('a')", "Text('b')"], "they overlap", "move one"),
        Finding("tiny_text", 2.0, ["Text('c')"], "too small", "use font_size=24"),
    ]
    assert findings[0].to_dict() == {
        "kind": "overlap",
        "time": 1.23,
        "objects": ["Text('a')", "Text('b')"],
        "message": "they overlap",
        "suggestion": "move one",
    }
    assert count_by_kind(findings)["overlap"] == 1
    text = format_findings(findings)
    assert "1. [overlap] at 1.2 s (Text('a'), Text('b')): they overlap. Fix: move one." in text
    assert "2. [tiny_text]" in text
    assert Finding.from_dict(findings[1].to_dict()) == findings[1]

"""The renderer on real manim renders (-ql): results, error mapping, cache, outputs, traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manimatic.render import CATEGORIES, STAGES, RenderResult

ANIMATED = """\
from manim import *

class Grow(Scene):
    def construct(self):
        c = Circle(color=RED)
        self.play(Create(c), run_time=0.4)
"""

STILL = """\
from manim import *

class Still(Scene):
    def construct(self):
        self.add(Square(color=BLUE))
"""

TWO_SCENES = (
    ANIMATED + "\n\nclass Second(Scene):\n    def construct(self):\n        self.add(Dot())\n"
)


def scene(body: str, name: str = "S") -> str:
    """A module with one scene whose construct() runs `body` (one statement per line)."""
    lines = "\n".join(f"        {line}" for line in body.splitlines())
    return f"from manim import *\n\nclass {name}(Scene):\n    def construct(self):\n{lines}\n"


def test_animated_scene_gives_mp4(render_pool):
    result = render_pool.render(ANIMATED)
    assert result.ok, result.error
    assert result.scenes == ["Grow"]
    assert result.stage is None and result.error is None
    assert len(result.outputs) == 1 and result.outputs[0].endswith("Grow.mp4")
    assert Path(result.outputs[0]).stat().st_size > 1000


def test_still_scene_gives_png(render_pool):
    result = render_pool.render(STILL)
    assert result.ok, result.error
    assert [Path(p).suffix for p in result.outputs] == [".png"]


def test_every_scene_by_default_and_one_by_name(render_pool):
    both = render_pool.render(TWO_SCENES)
    assert both.ok and both.scenes == ["Grow", "Second"]
    assert [Path(p).suffix for p in both.outputs] == [".mp4", ".png"]
    one = render_pool.render(TWO_SCENES, scene="Second")
    assert one.ok and one.scenes == ["Second"] and len(one.outputs) == 1


def test_unknown_scene_name_lists_the_real_ones(render_pool):
    result = render_pool.render(TWO_SCENES, scene="Nope", preflight=False)
    assert not result.ok and result.error.category == "no_scene"
    assert "Grow" in result.error.message and "Second" in result.error.message


def test_name_error_points_at_user_line_with_hint(render_pool):
    code = scene("tri = Triangle()\nself.play(ShowCreation(tri))")
    result = render_pool.render(code, preflight=False)
    assert not result.ok
    assert result.stage == "execute"
    err = result.error
    assert (err.category, err.type) == ("name", "NameError")
    assert err.message == "name 'ShowCreation' is not defined"
    assert err.line == 6
    assert err.excerpt == "        self.play(ShowCreation(tri))"
    assert "Create" in err.hint
    assert "scene.py" in err.traceback and "line 6" in err.traceback


def test_error_inside_manim_maps_to_user_line(render_pool):
    code = scene("c = Circle()\nself.play(c.animate.shift(UP), run_time='slow')")
    result = render_pool.render(code, preflight=False)
    assert not result.ok and result.stage == "execute"
    assert result.error.line == 6  # the user's call, not manim's internals
    assert result.error.category in {"type", "value"}


def test_attribute_error_suggests_close_name(render_pool):
    result = render_pool.render(scene("c = Circle()\nc.shfit(UP)"), preflight=False)
    assert result.error.category == "attribute"
    assert result.error.hint == "did you mean shift?"


@pytest.mark.parametrize(
    ("body", "category"),
    [
        ("x = 1 / 0", "zero_division"),
        ("x = [1][3]", "index"),
        ("x = {}['k']", "index"),
        ("x = int('abc')", "value"),
        ("x = len(5)", "type"),
        ("raise RuntimeError('boom')", "other_runtime"),
    ],
)
def test_runtime_error_categories(render_pool, body, category):
    result = render_pool.render(scene(body), preflight=False)
    assert not result.ok and result.error.category == category
    assert result.error.line == 5


def test_syntax_error_at_import(render_pool):
    code = "from manim import *\n\nclass S(Scene):\n    def construct(self)\n        pass\n"
    result = render_pool.render(code, preflight=False)
    assert (result.stage, result.error.category, result.error.line) == ("import", "syntax", 4)


def test_import_error(render_pool):
    code = "from manimlib import *\n\nclass S(Scene):\n    def construct(self):\n        pass\n"
    result = render_pool.render(code, preflight=False)
    assert (result.stage, result.error.category) == ("import", "import")
    assert "manim" in result.error.hint


def test_module_without_scene_is_a_failure(render_pool):
    result = render_pool.render("from manim import *\nx = Circle()\n", preflight=False)
    assert not result.ok
    assert (result.stage, result.error.category, result.scenes) == ("import", "no_scene", [])


def test_latex_error_is_categorized(render_pool):
    result = render_pool.render(scene(r"self.add(MathTex(r'\undefinedmacro{x}'))"), preflight=False)
    assert not result.ok and result.error.category == "latex"
    assert result.error.line == 5
    assert "Undefined control sequence" in result.error.message


def test_mathtex_renders(render_pool):
    result = render_pool.render(scene(r"self.play(Write(MathTex(r'\frac{a}{b}')), run_time=0.3)"))
    assert result.ok, result.error


def test_timeout_kills_the_job_and_names_the_line(render_pool):
    code = scene("x = 0\nwhile True:\n    x += 1")
    result = render_pool.render(code, timeout=2, preflight=False)
    assert (result.ok, result.stage, result.error.category) == (False, "timeout", "timeout")
    assert result.error.line in (6, 7)
    assert result.elapsed_s < 30
    assert result.scenes == ["S"]


def test_dry_run_executes_without_frames(render_pool):
    ok = render_pool.render(ANIMATED, dry_run=True)
    assert ok.ok and ok.outputs == []
    bad = render_pool.render(scene("self.play(Create(Circl()))"), dry_run=True, preflight=False)
    assert not bad.ok and bad.error.category == "name"


def test_cache_serves_second_render_and_no_cache_bypasses(render_pool):
    code = scene("self.add(Star(color=GOLD))", name="Cached")
    first = render_pool.render(code)
    second = render_pool.render(code)
    assert first.ok and not first.cached
    assert second.cached and second.outputs == first.outputs
    assert Path(second.outputs[0]).is_file()
    again = render_pool.render(code, use_cache=False)
    assert again.ok and not again.cached
    other_quality = render_pool.render(code, quality="m")
    assert not other_quality.cached


def test_preflight_runs_before_the_cache(render_pool):
    """A result does not depend on what is cached: the static check is not skipped on a hit."""
    code = scene("self.add(Circle(side_lenght=2))  # a typo'd keyword")
    unchecked = render_pool.render(code, preflight=False)
    assert not unchecked.ok and unchecked.stage != "preflight"  # a real failure, now cached
    assert render_pool.render(code, preflight=False).cached
    checked = render_pool.render(code)
    assert checked.stage == "preflight" and not checked.cached


def test_timeouts_are_not_cached(render_pool):
    code = scene("while True:\n    pass", name="Spin")
    assert render_pool.render(code, timeout=1, preflight=False).error.category == "timeout"
    assert not render_pool.render(code, timeout=1, preflight=False).cached


def test_out_dir_receives_copies(render_pool, tmp_path):
    result = render_pool.render(ANIMATED, out_dir=tmp_path / "out")
    assert result.outputs == [str((tmp_path / "out" / "Grow.mp4").resolve())]
    assert Path(result.outputs[0]).is_file()


def test_megabytes_of_output_are_truncated(render_pool):
    result = render_pool.render(scene("print('x' * 5_000_000)\nself.add(Dot())"))
    assert result.ok and result.truncated
    assert 0 < len(result.stdout) <= 20_000


def test_trace_records_objects_over_time(render_pool):
    result = render_pool.render(ANIMATED, trace=True)
    assert result.ok and len(result.traces) == 1
    trace = json.loads(Path(result.traces[0]).read_text())
    assert trace["fps"] == 5 and trace["frame_width"] > 0
    assert len(trace["frames"]) >= 2
    last = trace["frames"][-1]["mobjects"]
    assert last and last[0]["type"] == "Circle" and last[0]["color"].lower() == "#fc6255"


def test_result_contract_round_trips(render_pool):
    result = render_pool.render(scene("self.play(ShowCreation(Dot()))"), preflight=False)
    data = result.to_dict()
    assert set(data) == {"ok", "file", "scenes", "stage", "error", "outputs", "elapsed_s", "cached"}
    assert set(data["error"]) == {"category", "type", "message", "line", "excerpt", "hint"}
    assert data["stage"] in STAGES and data["error"]["category"] in CATEGORIES
    assert RenderResult.from_dict(json.loads(json.dumps(data))).to_dict() == data


@pytest.mark.parametrize(
    "body",
    [
        "t = ValueTracker(0)\nself.add(Dot())\nself.play(t.animate.set_value(1), run_time=0.3)",
        "self.add(PointCloudDot(color=BLUE))",
    ],
    ids=["value-tracker", "point-cloud"],
)
def test_tracing_never_changes_the_outcome(render_pool, body):
    traced = render_pool.render(scene(body, name="Traced"), trace=True)
    plain = render_pool.render(scene(body, name="Traced"))
    assert traced.ok and plain.ok, (traced.error, plain.error)
    assert len(traced.traces) == 1

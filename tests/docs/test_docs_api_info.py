"""api_info_for_code: the RITL-DOC <API_INFO> body."""

from __future__ import annotations

import inspect
import re
import textwrap

import manim

from manimatic.docs import api_info_for_code

SHOW_CREATION = """from manim import *

class Demo(Scene):
    def construct(self):
        circle = Circle(color=BLUE)
        self.play(ShowCreation(Circle()))
        self.wait()
"""


def test_unknown_legacy_name_gets_did_you_mean_and_real_signature(docs_home):
    info = api_info_for_code(SHOW_CREATION, error_message="name 'ShowCreation' is not defined")
    assert "ShowCreation does not exist in Manim CE" in info
    assert "Did you mean: Create" in info
    assert "Create" + str(inspect.signature(manim.Create)) in info
    assert "renamed Create" in info  # the legacy note
    # Error names come first, then their replacement, then the rest.
    assert info.startswith("### ShowCreation")
    assert (
        info.index("ShowCreation does not exist")
        < info.index("### Create")
        < info.index("### Circle")
    )


def test_missing_name_found_without_error_message(docs_home):
    info = api_info_for_code(SHOW_CREATION)
    assert "ShowCreation does not exist" in info and "Did you mean" in info


def test_variable_class_tracking_and_return_types(docs_home):
    code = """from manim import *

class Plot(Scene):
    def construct(self):
        ax = Axes(x_range=[0, 5, 1])
        graph = ax.plot(lambda x: x ** 2, color=RED)
        graph.set_stroke(width=2)
        self.add(ax, graph)
"""
    info = api_info_for_code(code)
    assert "### Axes.plot" in info
    assert "Axes.plot" + str(inspect.signature(manim.Axes.plot)) in info
    # ax.plot(...) returns a ParametricFunction: its methods resolve too.
    assert "### ParametricFunction.set_stroke" in info
    assert "does not exist" not in info


def test_missing_method_with_legacy_rename(docs_home):
    code = """from manim import *

class G(Scene):
    def construct(self):
        axes = Axes()
        graph = axes.get_graph(lambda x: x)
"""
    info = api_info_for_code(
        code, error_message="AttributeError: 'Axes' object has no attribute 'get_graph'"
    )
    assert info.startswith("### Axes.get_graph")
    assert "Did you mean: Axes.plot" in info
    assert "### Axes.plot" in info


def test_legacy_keyword_is_flagged(docs_home):
    code = "from manim import *\nax = Axes(x_min=0, x_max=4)\n"
    info = api_info_for_code(code)
    assert "`x_min` is not a parameter of Axes" in info and "x_range" in info
    assert "### Axes [class" in info


def test_self_camera_frame_in_moving_camera_scene(docs_home):
    code = """from manim import *

class Zoom(MovingCameraScene):
    def construct(self):
        sq = Square()
        self.add(sq)
        self.play(self.camera.frame.animate.scale(0.5).move_to(sq))
"""
    info = api_info_for_code(code)
    assert "### MovingCameraScene [class" in info
    assert "### MovingCamera [class" in info  # what self.camera is in this scene
    assert ".scale(" in info  # the frame's own method, through .animate
    assert "does not exist" not in info


def test_three_d_scene_methods_on_self(docs_home):
    code = """from manim import *

class Globe(ThreeDScene):
    def construct(self):
        self.set_camera_orientation(phi=75 * DEGREES, theta=30 * DEGREES)
        self.add(Sphere())
"""
    info = api_info_for_code(code)
    assert "### ThreeDScene.set_camera_orientation" in info
    assert "### Sphere [class" in info


def test_valid_code_is_not_flagged(docs_home):
    code = """import numpy as np
from manim import *

def helper(n):
    return VGroup(*[Dot() for _ in range(n)])

class Good(Scene):
    def setup(self):
        self.count = 3

    def make(self):
        return helper(self.count)

    def construct(self):
        dots = self.make().arrange(RIGHT)
        wave = FunctionGraph(lambda t: np.sin(t), x_range=[-3, 3])
        for i, dot in enumerate(dots):
            dot.set_color(interpolate_color(RED, BLUE, i / 3))
        self.play(Create(wave), rate_func=rate_functions.ease_in_sine)
        self.camera.background_color = WHITE
"""
    info = api_info_for_code(code)
    assert "does not exist" not in info and "not a parameter" not in info
    assert "### FunctionGraph" in info and "### rate_functions.ease_in_sine" in info


def test_import_forms(docs_home):
    code = """import manim as mn
from manim import Circle as Round, Square

class S(mn.Scene):
    def construct(self):
        self.add(Round(), Square(), mn.Triangle(), mn.ShowCreation(Square()))
"""
    info = api_info_for_code(code)
    heads = [b.split("\n")[0] for b in info.split("\n\n")]
    assert "### ShowCreation [not in Manim CE]" in heads
    assert {"### Circle [class", "### Square [class", "### Triangle [class"} <= {
        h.split(",")[0] for h in heads
    }
    assert "Round does not exist" not in info


def test_budget_is_respected_with_most_relevant_first(docs_home):
    for limit in (60, 200, 800, 3000, 6000):
        info = api_info_for_code(
            SHOW_CREATION, error_message="name 'ShowCreation' is not defined", max_chars=limit
        )
        assert len(info) <= limit
        assert "ShowCreation does not exist" in info.split("\n\n")[0]
    big = "from manim import *\n" + "\n".join(
        f"m{i} = {name}()" for i, name in enumerate(["Axes", "NumberPlane", "Table", "Graph"] * 3)
    )
    assert len(api_info_for_code(big, max_chars=1500)) <= 1500


def test_code_with_syntax_error_falls_back_to_regex(docs_home):
    code = """from manim import *
class Broken(Scene):
    def construct(self)
        ax = Axes()
        self.play(ShowCreation(Circle()))
        ax.get_graph(lambda x: x)
"""
    info = api_info_for_code(code, error_message="SyntaxError: expected ':'")
    assert "ShowCreation does not exist" in info
    assert "Create" + str(inspect.signature(manim.Create)) in info
    assert "### Axes.get_graph" in info and "Axes.plot" in info


def test_error_names_existing_but_unimported(docs_home):
    info = api_info_for_code("x = 1\n", error_message="NameError: name 'Circle' is not defined")
    assert info.startswith("### Circle [class")
    assert "from manim import *" in info


def test_no_manim_usage_gives_empty_text(docs_home):
    assert api_info_for_code("print('hello')\n") == ""


def _manim_doc_examples() -> list[str]:
    """The example scenes in the installed manim's docstrings: valid Manim CE by definition."""
    namespace: dict = {}
    exec("from manim import *", namespace)
    objects = []
    for obj in namespace.values():
        if inspect.isclass(obj) and (obj.__module__ or "").startswith("manim"):
            objects.append(obj)
            objects += [v for v in vars(obj).values() if inspect.isfunction(v)]
    pattern = re.compile(
        r"\.\. manim:: \w+[^\n]*\n(?:[ \t]+:[^\n]*\n)*\n((?:(?:[ \t]+[^\n]*)?\n)+)"
    )
    codes = {}
    for obj in objects:
        for match in pattern.finditer((inspect.getdoc(obj) or "") + "\n"):
            code = "from manim import *\n" + textwrap.dedent(match.group(1))
            try:
                compile(code, "example", "exec")
            except SyntaxError:
                continue
            codes[code] = None
    return list(codes)


def test_no_false_alarms_on_manims_own_examples(docs_home):
    examples = _manim_doc_examples()
    assert len(examples) > 100
    flagged = {}
    for code in examples:
        info = api_info_for_code(code, max_chars=100_000)
        bad = [b.split("\n")[0] for b in info.split("\n\n") if "[not" in b or "[keyword" in b]
        if bad:
            flagged[code.splitlines()[1]] = bad
    assert not flagged


def test_getter_error_points_at_the_get_call(docs_home):
    code = "from manim import *\nax = Axes()\ng = ax.get_graph(lambda x: x)\n"
    # Mobject.__getattr__ turns get_graph() into a lookup of `graph`, which then fails.
    info = api_info_for_code(
        code, error_message="AttributeError: Axes object has no attribute 'graph'"
    )
    assert info.startswith("### Axes.get_graph")


def test_manimgl_program_lists_all_verdicts_before_replacement_docs(docs_home):
    code = """from manimlib.imports import *

class Old(GraphScene):
    def construct(self):
        t = TextMobject("Hello")
        self.play(ShowCreation(t), FadeInFrom(t, UP))
"""
    info = api_info_for_code(code, max_chars=2500)
    heads = [b.split("\n")[0] for b in info.split("\n\n")]
    verdicts = [h for h in heads if "[not" in h]
    assert [h.split()[1] for h in verdicts] == [
        "manimlib.imports",
        "GraphScene",
        "TextMobject",
        "ShowCreation",
        "FadeInFrom",
    ]
    assert heads.index(verdicts[-1]) < heads.index(
        "### Axes [class, manim.mobject.graphing.coordinate_systems]"
    )

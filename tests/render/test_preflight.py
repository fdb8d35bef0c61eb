"""The static preflight: every finding code, conservative silence on valid code, ManimBench."""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
import time
from pathlib import Path

import pytest

from manimatic.manim_api import namespace as preflight_namespace
from manimatic.render.preflight import (
    FINDING_CATEGORY,
    CheckReport,
    Finding,
    check_code,
    check_file,
    manim_namespace,
)
from manimatic.render.result import CATEGORIES

MANIMBENCH = Path("/work/shared/data/manimbench/manim_sft_dataset_v2.parquet")

# ManimBench references that really fail at run time (row index and sha1 of the code; we never
# copy rows), found by running all 416 with `dry_run=True` (manim 0.22.0, TeX Live without
# xelatex). None fails for a reason the preflight can see statically (LaTeX, images, a missing
# third-party module, a runtime TypeError), so these too must get zero findings.
RUNTIME_FAILURES: dict[str, str] = {
    "bde1ce46ac33": "row 70: LaTeX error converting to dvi",
    "64821c59a4ed": "row 101: PIL, invalid mode for data type (image array)",
    "0b067916d732": "row 111: LaTeX error converting to dvi",
    "0ccf0c0ad947": "row 139: ModuleNotFoundError: requests",
    "2374982455f0": "row 150: PIL, invalid mode for data type (image array)",
    "712890efe01a": "row 158: TypeError, list indices must be integers or slices, not tuple",
    "10c00f1598ed": "row 279: KeyError 'lanczos' (image resampling)",
    "d85137d50467": "row 294: xelatex not installed",
    "c67a3d198ffa": "row 304: LaTeX error converting to dvi",
    "0c7fa274db4b": "row 377: PIL, invalid mode for data type (image array)",
    "3326a037319a": "row 381: PIL, invalid mode for data type (image array)",
}


@pytest.fixture(scope="module", autouse=True)
def _manimatic_home(tmp_path_factory: pytest.TempPathFactory):
    """One temp MANIMATIC_HOME per session, so the introspection is built once for all tests."""
    home = tmp_path_factory.getbasetemp() / "manimatic-home"
    old = os.environ.get("MANIMATIC_HOME")
    os.environ["MANIMATIC_HOME"] = str(home)
    manim_namespace.cache_clear()
    yield home
    manim_namespace.cache_clear()
    if old is None:
        os.environ.pop("MANIMATIC_HOME", None)
    else:
        os.environ["MANIMATIC_HOME"] = old


def check(code: str) -> CheckReport:
    return check_code(textwrap.dedent(code))


def codes(code: str) -> list[str]:
    return [f.code for f in check(code).findings]


def scene(body: str, header: str = "from manim import *\n", base: str = "Scene") -> str:
    """A module with one scene whose construct() runs `body`."""
    return (
        header
        + f"\nclass S({base}):\n    def construct(self):\n"
        + textwrap.indent(textwrap.dedent(body), "        ")
    )


# -- the public contract ----------------------------------------------------------------------
def test_finding_categories_match_the_render_contract():
    assert FINDING_CATEGORY == {
        "syntax": "syntax",
        "no_scene": "no_scene",
        "unknown_name": "name",
        "legacy_api": "name",
        "missing_import": "name",
        "unknown_attribute": "attribute",
        "unknown_kwarg": "type",
        "manimgl_import": "import",
    }
    assert set(FINDING_CATEGORY.values()) <= set(CATEGORIES)
    with pytest.raises(ValueError, match="unknown finding code"):
        Finding(1, 1, "bogus", "m", None)


def test_report_to_dict_shape():
    report = check(scene("self.play(ShowCreation(Circle()))"))
    data = report.to_dict()
    assert list(data) == ["file", "ok", "scenes", "findings"]
    assert data["ok"] is False and data["scenes"] == ["S"] and data["file"] is None
    assert data["findings"] == [
        {
            "line": 5,
            "col": 19,
            "code": "legacy_api",
            "message": "name 'ShowCreation' is not defined: ShowCreation is not in Manim CE "
            f"{manim_namespace().version}",
            "suggestion": "use Create (ShowCreation was renamed Create in Manim CE.)",
            "error_type": "NameError",
        }
    ]


def test_clean_module_is_ok_and_lists_scenes_in_order():
    code = """
    from manim import *

    class Base(Scene):
        pass

    class B(Base):
        def construct(self):
            self.play(Create(Circle()))

    class Helper(VGroup):
        pass

    class A(ThreeDScene):
        def construct(self):
            self.set_camera_orientation(phi=75 * DEGREES, theta=30 * DEGREES)

    class C(MovingCameraScene):
        def construct(self):
            self.play(self.camera.frame.animate.scale(0.5))
    """
    report = check(code)
    assert report.ok and report.findings == []
    assert report.scenes == ["Base", "B", "A", "C"]


# -- each finding code ------------------------------------------------------------------------
def test_syntax_error_position():
    report = check("from manim import *\nclass A(Scene)\n    pass\n")
    assert [(f.code, f.line, f.col) for f in report.findings] == [("syntax", 2, 15)]
    assert codes("return 1\n") == ["syntax"]  # caught by compile(), not by the parser
    assert codes("x = 1\x00\n") == ["syntax"]


def test_no_scene():
    assert codes("from manim import *\nclass A(VGroup):\n    pass\n") == ["no_scene"]
    assert codes("from manim import *\nx = Circle()\n") == ["no_scene"]
    assert codes("") == ["no_scene"]


def test_unknown_name_with_suggestions():
    findings = check(scene("self.add(Circl())\nself.add(cirle)\ncirle2 = 1")).findings
    assert [(f.code, f.line, f.col, f.suggestion) for f in findings] == [
        ("unknown_name", 5, 18, "did you mean Circle?"),
        ("unknown_name", 6, 18, "did you mean cirle2?"),
    ]


def test_method_cannot_see_class_attributes_or_other_methods_locals():
    code = """
    from manim import *
    class S(Scene):
        radius = 2
        def construct(self):
            c = Circle(radius=radius)
            self.helper()
        def helper(self):
            self.add(c)
    """
    findings = check(code).findings
    assert [(f.code, f.line) for f in findings] == [("unknown_name", 6), ("unknown_name", 9)]
    assert findings[0].suggestion == (
        "use self.radius (class attributes are not visible inside methods)"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("self.play(ShowCreation(Circle()))", "use Create"),
        ("self.add(TextMobject('a'), TexMobject('x'))", "use Text"),
        ("self.play(FadeInFrom(Dot(), UP))", "use FadeIn"),
        ("ax = Axes(x_min=0, x_max=4)", "use x_range"),
        ("ax = Axes()\ng = ax.get_graph(lambda x: x)", "use plot"),
        ("self.frame.scale(2)", "use camera.frame"),
    ],
)
def test_legacy_api(body: str, expected: str):
    findings = check(scene(body)).findings
    assert findings and {f.code for f in findings} == {"legacy_api"}
    assert findings[0].suggestion.startswith(expected)


@pytest.mark.parametrize(
    ("body", "error_type", "category", "message"),
    [
        (
            "self.play(ShowCreation(Circle()))",
            "NameError",
            "name",
            "name 'ShowCreation' is not defined: ShowCreation is not in Manim CE",
        ),
        (
            "ax = Axes()\ng = ax.get_graph(lambda x: x)",
            "AttributeError",
            "attribute",
            "'Axes' object has no attribute 'get_graph'",
        ),
        (
            "ax = Axes(x_min=0, x_max=4)",
            "TypeError",
            "type",
            "Axes() got an unexpected keyword argument 'x_min'",
        ),
    ],
)
def test_a_legacy_finding_reports_the_error_the_runtime_would_raise(
    body: str, error_type: str, category: str, message: str, render_pool
):
    """A removed name, method and keyword fail differently at run time; the preflight says so."""
    finding = check(scene(body)).findings[0]
    assert (finding.code, finding.error_type, finding.category) == (
        "legacy_api",
        error_type,
        category,
    )
    assert finding.message.startswith(message)
    result = render_pool.render(scene(body))  # the pool's preflight failure carries the same
    assert result.stage == "preflight"
    assert (result.error.type, result.error.category) == (error_type, category)
    assert result.error.message.startswith(message)


def test_legacy_import_from_manim_and_module_attribute():
    assert codes("from manim import Scene, ShowCreation\nclass A(Scene):\n    pass\n") == [
        "legacy_api"
    ]
    code = "import manim as mn\nclass A(mn.Scene):\n    def construct(self):\n"
    code += "        self.play(mn.ShowCreation(mn.Circle()))\n"
    assert codes(code) == ["legacy_api"]


def test_manimgl_import():
    report = check("from manimlib import *\nclass A(Scene):\n    def construct(self):\n"
                   "        self.play(ShowCreation(Circle()))\n")  # fmt: skip
    assert [f.code for f in report.findings] == ["manimgl_import"]  # names are unknowable
    assert report.scenes == ["A"]
    assert codes("import manimlib.imports\nfrom manim import *\nclass A(Scene):\n    pass\n") == [
        "manimgl_import"
    ]


def test_missing_import():
    findings = check("class A(Scene):\n    def construct(self):\n        self.add(Circle())\n")
    assert [(f.code, f.line) for f in findings.findings] == [
        ("missing_import", 1),
        ("missing_import", 3),
    ]
    assert findings.findings[0].suggestion == "add `from manim import *`"
    assert findings.scenes == ["A"]
    partial = check("from manim import Scene\nclass A(Scene):\n"
                    "    def construct(self):\n        self.add(Square())\n")  # fmt: skip
    assert [f.code for f in partial.findings] == ["missing_import"]


def test_unknown_attribute_on_constructed_objects_and_self():
    body = """
    c = Circle()
    c.foo_bar()
    c.get_nothing()
    self.set_camera_orientation(phi=1)
    """
    findings = check(scene(body)).findings
    assert [(f.code, f.line, f.col) for f in findings] == [
        ("unknown_attribute", 7, 11),
        ("unknown_attribute", 8, 11),
        ("unknown_attribute", 9, 14),
    ]
    assert findings[0].message == "'Circle' object has no attribute 'foo_bar'"


def test_unknown_attribute_on_module_classes():
    code = """
    from manim import *
    class Helper:
        def __init__(self):
            self.items = []
        def count(self):
            return len(self.itemz)
    class Badge(VGroup):
        def grow(self):
            return self.get_centre()
    class S(Scene):
        def construct(self):
            Badge().grow()
            self.add(Integer(Helper().count()))
    """
    findings = check(code).findings
    assert [(f.code, f.line, f.suggestion) for f in findings] == [
        ("unknown_attribute", 7, "did you mean items?"),
        ("unknown_attribute", 10, "did you mean get_center?"),
    ]


def test_unknown_kwarg_follows_kwargs_through_the_init_chain():
    findings = check(scene("c = Circle(radius=1, fill_opacity=1, color=RED, colour=BLUE)")).findings
    assert [(f.code, f.col) for f in findings] == [("unknown_kwarg", 57)]
    assert findings[0].suggestion == "did you mean color?"
    assert codes(scene("Square(side=2)")) == ["unknown_kwarg"]
    assert codes(scene("Dot().move_to(ORIGIN, align=UP)")) == []  # receiver class unknown
    assert codes(scene("d = Dot()\nd.move_to(ORIGIN, align=UP)")) == ["unknown_kwarg"]


# -- valid code must never be flagged ---------------------------------------------------------
VALID = {
    "local names shadow manim classes": """
        from manim import *
        def Circle(**kw):
            return Square(side_length=2)
        class S(Scene):
            def construct(self):
                c = Circle(anything=1)
                c.side_length
                Text = lambda s, **kw: Dot()
                self.add(c, Text("x", bogus=2).radius and c)
    """,
    "aliases, helpers, updaters, class attributes": """
        from manim import *
        import numpy as np
        import random as rnd

        def helper(mob, *args, **kwargs):
            return mob.copy().shift(*args, **kwargs)

        class Marker(VGroup):
            SIZE = 0.2
            def __init__(self, color=RED, **kwargs):
                super().__init__(**kwargs)
                self.dot = Dot(color=color, radius=self.SIZE)
                self.add(self.dot)
            def pulse(self):
                return self.dot.animate.scale(2)

        class S(Scene):
            speed = 2
            def construct(self):
                c = Circle().set_colour(BLUE)
                c.set_color(RED).set_fill(opacity=0.5)
                m = Marker(color=BLUE)
                m.pulse()
                m.dot.set_x(1)
                t = ValueTracker(0)
                c.add_updater(lambda mob, dt: mob.rotate(dt * self.speed))
                label = always_redraw(lambda: DecimalNumber(t.get_value()).next_to(c, UP))
                pts = [np.array([x, rnd.random(), 0]) for x in range(3)]
                dots = VGroup(*[Dot(p) for p in pts])
                self.add(c, m, label, dots, helper(c, RIGHT))
                self.play(t.animate.set_value(3), run_time=2)
                c.get_center(); c.get_radius(); c.get_width(); c.get_stroke_width()
                c.set_whatever(3)
    """,
    "3D and moving camera": """
        from manim import *
        class S3(ThreeDScene):
            def construct(self):
                axes = ThreeDAxes()
                surf = Surface(lambda u, v: axes.c2p(u, v, u * v), u_range=[-1, 1],
                               v_range=[-1, 1], resolution=(8, 8))
                self.set_camera_orientation(phi=75 * DEGREES, theta=-45 * DEGREES)
                self.begin_ambient_camera_rotation(rate=0.1)
                self.add_fixed_in_frame_mobjects(Text("3D"))
                self.add(axes, surf)
        class M(MovingCameraScene):
            def construct(self):
                frame = self.camera.frame
                frame.save_state()
                self.play(frame.animate.scale(0.5).move_to(RIGHT))
                self.play(Restore(frame))
    """,
    "star args, decorators, try/except imports, partial imports": """
        import functools
        try:
            from manim import Circle, Scene, Create
            from manim import *
        except ImportError:
            raise SystemExit("manim missing")

        def logged(fn):
            @functools.wraps(fn)
            def wrap(*a, **k):
                return fn(*a, **k)
            return wrap

        class S(Scene):
            @logged
            def construct(self):
                args = [Circle(), Square()]
                kw = {"run_time": 1}
                self.play(*[Create(a) for a in args], **kw)
                c = Circle(**{"radius": 2})
                self.add(*args, c)
    """,
    "nested functions, closures, global and nonlocal": """
        from manim import *
        COUNT = 0
        def bump():
            global COUNT, LATER
            COUNT += 1
            LATER = COUNT
        class S(Scene):
            def construct(self):
                total = 0
                def add(x):
                    nonlocal total
                    total += x
                    return total
                def outer():
                    inner_value = 1
                    def inner():
                        return inner_value + total
                    return inner()
                bump()
                self.add(Integer(add(outer()) + LATER))
                if (n := len(self.mobjects)) > 0:
                    self.add(Integer(n))
                for i, (a, b) in enumerate([(1, 2)]):
                    pass
                with open(__file__) as handle, open(__file__) as other:
                    pass
                try:
                    pass
                except Exception as err:
                    print(err, i, a, b, handle, other)
                squares = {k: v for k, v in zip("ab", [1, 2]) if v}
                print(squares, [y for y in range(3) if (z := y)], z)
    """,
    "re-assigned variables have no known class": """
        from manim import *
        class S(Scene):
            def construct(self):
                c = Circle()
                c = Square().to_edge(UP)
                c.side_length
                d = Square()
                for d in [Dot()]:
                    pass
                d.radius
                e = Line()
                del e
                e = Arc(angle=PI)
                e.angle
    """,
    "guards and dynamic code are left alone": """
        from manim import *
        try:
            Grid = ShowCreation
        except NameError:
            Grid = Create
        class S(Scene):
            def construct(self):
                c = Circle()
                try:
                    c.old_method()
                except AttributeError:
                    pass
                if hasattr(c, "magic"):
                    c.magic()
                setattr(c, "extra", 1)
                c.extra
                c.set(shade=2)
                print(c.shade)
                try:
                    Circle(bogus=1)
                except TypeError:
                    pass
    """,
    "mixins see the attributes of the classes they are mixed into": """
        from manim import *
        class Glow:
            def glow(self):
                return self.get_center() + self.radius
        class Helper:
            def __init__(self):
                self.items = []
            def count(self):
                return len(self.items)
        class GlowDot(Glow, Dot):
            pass
        class S(Scene):
            def construct(self):
                d = GlowDot()
                d.glow()
                self.add(d, Integer(Helper().count()))
                def later():
                    class Late(Glow, Square):
                        pass
                    return Late()
                self.add(later())
    """,
    "set_default, properties and own class attributes": """
        from manim import *
        Text.set_default(font_size=30)
        class Box(Square):
            label = "box"
            @property
            def area(self):
                return self.side_length ** 2
        class S(Scene):
            def construct(self):
                b = Box(side_length=2)
                self.add(b, Text(b.label + str(b.area)))
                self.marker = Dot()
                self.add(self.marker)
    """,
    "module attribute access and submodule imports": """
        import manim
        import manim.utils.rate_functions as rf
        from manim.mobject.geometry.tips import ArrowSquareTip
        class S(manim.Scene):
            def construct(self):
                a = manim.Arrow(manim.LEFT, manim.RIGHT, tip_shape=ArrowSquareTip)
                self.play(manim.Create(a), rate_func=rf.linear)
                manim.config.frame_width
    """,
    "main guard and config": """
        from manim import *
        config.background_color = WHITE
        class S(Scene):
            def construct(self):
                self.add(Circle(color=BLACK))
        if __name__ == "__main__":
            with tempconfig({"quality": "low_quality"}):
                S().render()
    """,
    "graphs and tables": """
        from manim import *
        class S(Scene):
            def construct(self):
                g = Graph([1, 2], [(1, 2)], layout="circular", labels=True)
                ax = Axes(x_range=[0, 5, 1], y_range=[0, 5], tips=False,
                          axis_config={"include_numbers": True})
                curve = ax.plot(lambda x: x, color=YELLOW)
                area = ax.get_area(curve, x_range=(0, 2))
                t = Table([["1", "2"]], include_outer_lines=True)
                self.play(Create(g), Create(t), FadeIn(area, shift=UP))
                self.play(g[1].animate.move_to(UP), t.get_entries((1, 1)).animate.set_color(RED))
    """,
}


@pytest.mark.parametrize("name", list(VALID))
def test_valid_code_has_no_findings(name: str):
    report = check(VALID[name])
    assert report.findings == [], report.findings
    assert report.ok and report.scenes


@pytest.mark.parametrize(
    "code",
    [
        "from manim import *\nfrom mystery import *\nclass A(Scene):\n    def construct(self):"
        "\n        self.add(Anything())\n",
        "from manim import *\nexec('X = 1')\nclass A(Scene):\n    def construct(self):"
        "\n        self.add(X)\n",
        "from manim import *\nfrom base import Foo\nclass A(Foo):\n    pass\n",
        "from manim import *\nS = type('S', (Scene,), {})\n",
        "from manim import *\nconfig.renderer = 'opengl'\nclass A(Scene):\n"
        "    def construct(self):\n        c = Circle()\n        c.opengl_only()\n",
    ],
)
def test_what_cannot_be_known_is_not_reported(code: str):
    assert check_code(code).findings == []


def test_fallback_imports_are_not_reported():
    code = "try:\n    from manim import *\nexcept ImportError:\n    from manimlib import *\n"
    code += "class A(Scene):\n    def construct(self):\n        import manimlib\n"
    assert check_code(code).findings == []


def test_known_star_imports_resolve_names():
    code = "from manim import *\nfrom math import *\nclass A(Scene):\n"
    code += "    def construct(self):\n        self.add(Integer(floor(pi)), Integr(1))\n"
    findings = check_code(code).findings
    assert [(f.code, f.suggestion) for f in findings] == [("unknown_name", "did you mean Integer?")]


def test_deep_nesting_never_crashes():
    report = check_code("from manim import *\nx = " + "+".join(["1"] * 3000) + "\n")
    assert report.findings == []  # too deep for the checker: nothing is certain
    assert [f.code for f in check_code("x = " + "(" * 300 + ")" * 300).findings] == ["syntax"]


# -- files --------------------------------------------------------------------------------------
def test_check_file_reads_and_names_the_file(tmp_path: Path):
    path = tmp_path / "scene.py"
    path.write_text(scene("self.add(Circle())"), encoding="utf-8")
    report = check_file(path)
    assert report.ok and report.file == str(path) and report.scenes == ["S"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b"\x89PNG\x00\x01"), p)[1], "binary"),
        (lambda p: (p.write_bytes(b"x = '\xff\xfe'\n"), p)[1], "not UTF-8"),
        (lambda p: (p.write_text("  \n\n"), p)[1], "empty"),
    ],
)
def test_check_file_bad_input_raises_a_clear_value_error(tmp_path: Path, make, message: str):
    path = make(tmp_path / "x.py")
    with pytest.raises(ValueError, match=message):
        check_file(path)


# -- introspection ------------------------------------------------------------------------------
def test_namespace_comes_from_the_installed_manim_and_is_cached():
    ns = manim_namespace()
    assert {"Create", "Circle", "MathTex", "config", "np"} <= ns.names
    assert "ShowCreation" not in ns.names
    assert ns.is_scene_name("ThreeDScene") and ns.is_scene_name("LinearTransformationScene")
    assert not ns.is_scene_name("Circle")
    circle = ns.exported_class("Circle")
    assert {"radius", "arc_center", "color", "fill_opacity", "stroke_width"} <= circle.kwargs
    assert ns.exported_class("VGroup").kwargs >= {"color", "stroke_width"}
    path = preflight_namespace.cache_path()
    assert path.exists() and path.parent.name == "preflight"
    manim_namespace.cache_clear()
    start = time.perf_counter()
    again = manim_namespace()
    assert time.perf_counter() - start < 1.0  # read back from disk, no introspection
    assert again.exports == ns.exports


def test_introspected_attributes_cover_real_instances():
    """Every attribute a real object has must be known (else valid code could be flagged)."""
    import manim

    ns = manim_namespace()
    for name in ("Circle", "Square", "Dot", "Line", "VGroup", "ValueTracker", "Axes", "Text"):
        obj = getattr(manim, name)("a") if name == "Text" else getattr(manim, name)()
        known = ns.attributes(ns.exported_class(name))
        assert set(vars(obj)) | set(dir(obj)) <= known, name


# -- ManimBench -------------------------------------------------------------------------------
def _references() -> list[str]:
    if not MANIMBENCH.exists():
        pytest.skip(f"ManimBench data not found at {MANIMBENCH}")
    pandas = pytest.importorskip("pandas")
    return list(pandas.read_parquet(MANIMBENCH, columns=["Code"])["Code"])


def test_manimbench_references_have_no_findings():
    references = _references()
    digests = {hashlib.sha1(code.encode()).hexdigest()[:12] for code in references}
    assert set(RUNTIME_FAILURES) <= digests  # the list names real rows
    flagged = {}
    start = time.perf_counter()
    for index, code in enumerate(references):
        report = check_code(code)
        if report.findings:
            flagged[index] = [(f.line, f.code, f.message) for f in report.findings]
        assert report.scenes, index
    per_file_ms = (time.perf_counter() - start) / len(references) * 1000
    assert flagged == {}
    assert per_file_ms < 50, f"{per_file_ms:.1f} ms per file on a warm cache"


# -- manim's own documentation examples -----------------------------------------------------------
def _doc_examples() -> list[tuple[str, str]]:
    """Every `.. manim:: Name` example in the installed manim's docstrings, as a module."""
    import manim

    examples = []
    for path in sorted(Path(manim.__file__).parent.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            match = re.match(r"^(\s*)\.\. manim:: (\w+)", lines[index])
            index += 1
            if not match:
                continue
            indent = len(match.group(1))
            while index < len(lines) and (
                not lines[index].strip() or lines[index].strip().startswith(":")
            ):
                index += 1  # directive options
            block = []
            while index < len(lines) and (
                not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            ):
                block.append(lines[index])
                index += 1
            code = "from manim import *\n\n" + textwrap.dedent("\n".join(block)) + "\n"
            examples.append((f"{path.name}:{match.group(2)}", code))
    return examples


def test_manim_documentation_examples_have_no_findings():
    """Hundreds of valid scenes written by manim's authors; the only findings allowed are real
    failures outside the docs build: OpenGL classes `from manim import *` does not export
    (NameError at run time) and doctest snippets that are not Python modules."""
    examples = _doc_examples()
    assert len(examples) > 300
    unexpected = {}
    for name, code in examples:
        for f in check_code(code).findings:
            opengl = f.code == "unknown_name" and "'OpenGL" in f.message
            doctest = f.code == "syntax" and ">>>" in code
            if not (opengl or doctest):
                unexpected.setdefault(name, []).append((f.line, f.code, f.message))
    assert unexpected == {}

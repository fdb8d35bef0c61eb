"""One model of the installed manim: one introspection for both views, one "did you mean"."""

from __future__ import annotations

import pytest

from manimatic.manim_api import build, namespace
from manimatic.manim_api.suggest import CUTOFF, close_names, closest_name


def test_one_suggestion_rule() -> None:
    pool = ["Circle", "Create", "Square", "cirle2", "shoelace_direction"]
    assert closest_name("Circl", pool) == "Circle"
    assert closest_name("circle", pool) == "Circle"  # a case-only difference wins
    assert closest_name("cirle", pool) == "cirle2"  # otherwise case counts
    assert close_names("ShowCreation", pool)[0] == "Create"  # shared word part, not spelling
    assert closest_name("Zebra", pool) is None
    assert "Circle" not in close_names("Circle", pool)  # never the name itself
    assert 0.5 < CUTOFF < 1.0


def test_preflight_hints_and_docs_suggest_the_same_name() -> None:
    from manimatic.docs import ApiIndex
    from manimatic.render.errors import hint_for
    from manimatic.render.preflight import check_code

    code = "from manim import *\nclass S(Scene):\n    def construct(self):\n"
    finding = check_code(code + "        self.add(Sqare())\n").findings[0]
    assert finding.suggestion == "did you mean Square?"
    try:
        exec("Sqare", {})  # noqa: S102 - a NameError as manim code would raise it
    except NameError as exc:
        assert hint_for(exc) == "did you mean Square?"
    assert ApiIndex.load().closest("Sqare")[0] == "Square"


@pytest.mark.slow
def test_one_introspection_writes_both_views(tmp_path, monkeypatch) -> None:
    """Asking for the preflight's namespace in a fresh cache also writes the docs index data."""
    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path))
    namespace.manim_namespace.cache_clear()
    try:
        assert not build.docs_cache_path().exists()
        ns = namespace.manim_namespace()
        assert "Circle" in ns.names
        assert namespace.cache_path().is_file() and build.docs_cache_path().is_file()
    finally:
        namespace.manim_namespace.cache_clear()

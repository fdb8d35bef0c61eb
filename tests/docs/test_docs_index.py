"""ApiIndex: built from the installed manim, cached per version, looked up and searched."""

from __future__ import annotations

import inspect
import time

import manim
import pytest

from manimatic.docs import ApiIndex
from manimatic.docs import index as index_module
from manimatic.manim_api import docs_introspect as introspect


def _names(hits) -> list[str]:
    return [h.name for h in hits]


def test_get_class_function_method_constant(index: ApiIndex):
    create = index.get("Create")
    assert create is not None and create.kind == "class"
    assert "mobject" in create.signature
    assert create.signature == "Create" + str(inspect.signature(manim.Create))
    assert create.summary == "Incrementally show a VMobject."
    assert create.module == "manim.animation.creation"

    shift = index.get("Mobject.shift")
    assert shift is not None and shift.kind == "method" and "vectors" in shift.signature

    up = index.get("UP")
    assert up is not None and up.kind == "constant" and "array([0., 1., 0.])" in up.signature
    assert index.get("BLUE").kind == "constant"
    assert index.get("rate_functions").kind == "module"
    assert index.get("smooth").kind == "function"
    assert index.get("NoSuchThing") is None


def test_inherited_methods_are_attributed_once_and_reachable_from_subclasses(index: ApiIndex):
    # Axes.plot is defined on CoordinateSystem: stored once, found through Axes' MRO.
    assert [e.name for e in index.entries if e.qualname == "CoordinateSystem.plot"] == [
        "CoordinateSystem.plot"
    ]
    plot = index.get("Axes.plot")
    assert plot is not None
    assert plot.name == "Axes.plot" and plot.qualname == "CoordinateSystem.plot"
    assert plot.signature == "Axes.plot" + str(inspect.signature(manim.Axes.plot))
    assert index.get("Square.shift").qualname == "Mobject.shift"


def test_docs_are_cut_before_examples(index: ApiIndex):
    raw = inspect.getdoc(manim.Axes.plot)
    assert "Examples\n--------" in raw  # the installed docstring has examples...
    doc = index.get("Axes.plot").doc
    assert "Parameters" in doc and "x_range" in doc
    assert "Examples" not in doc and ".. manim::" not in doc  # ...the index does not
    assert "Examples" not in index.get("Create").doc


def test_cache_is_reused_without_introspection(docs_home, monkeypatch: pytest.MonkeyPatch):
    def boom():
        raise AssertionError("introspected again although the cache is valid")

    monkeypatch.setattr(index_module, "_MEMO", {})  # force a read of the JSON cache
    monkeypatch.setattr(introspect, "build_index_data", boom)
    start = time.perf_counter()
    loaded = ApiIndex.load()
    elapsed = time.perf_counter() - start
    assert loaded.get("Create") is not None
    assert index_module.index_path().is_file()
    assert index_module.index_path().parent == docs_home / "cache" / "docs"
    assert elapsed < 2.0, f"cached load took {elapsed:.2f} s"


def test_damaged_cache_is_rebuilt(docs_home, tmp_path, monkeypatch: pytest.MonkeyPatch):
    data = {"calls": 0}
    good = index_module.index_path().read_text(encoding="utf-8")

    def fake_build():
        import json

        data["calls"] += 1
        return json.loads(good)

    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path))
    monkeypatch.setattr(index_module, "_MEMO", {})
    monkeypatch.setattr(introspect, "build_index_data", fake_build)
    path = index_module.index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert ApiIndex.load().get("Create") is not None
    assert data["calls"] == 1
    index_module._MEMO.clear()
    ApiIndex.load()
    assert data["calls"] == 1  # the rewritten cache is read, not rebuilt


def test_search_error_message_nameerror_legacy(index: ApiIndex):
    hits = index.search("NameError: name 'ShowCreation' is not defined", k=5)
    assert "Create" in _names(hits)[:3]


def test_search_missing_attribute_maps_to_member(index: ApiIndex):
    hits = index.search("AttributeError: 'Axes' object has no attribute 'get_graph'", k=5)
    assert "Axes.plot" in _names(hits)[:3]
    top = next(h for h in hits if h.name == "Axes.plot")
    assert top.qualname == "CoordinateSystem.plot" and top.kind == "method"


def test_search_unexpected_kwarg_surfaces_x_range_takers(index: ApiIndex):
    hits = index.search("TypeError: __init__() got an unexpected keyword argument 'x_min'", k=10)
    assert {"Axes", "NumberLine"} & set(_names(hits)[:5])
    assert all("x_range" in h.signature for h in hits[:3])


def test_search_by_name_and_words(index: ApiIndex):
    assert _names(index.search("Create", k=3))[0] == "Create"
    assert _names(index.search("MathTeX", k=3))[0] == "MathTex"  # case slip
    assert "Text" in _names(index.search("TextMobject", k=3))  # legacy name as a plain query
    assert "Axes.plot" in _names(index.search("Axes plot", k=3))
    assert "Arrow" in _names(index.search("arrow between two points", k=3))
    hits = index.search("Create", k=4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_closest_names(index: ApiIndex):
    assert index.closest("ShowCreation")[0] == "Create"  # known rename first
    assert "Circle" in index.closest("Cirle")
    assert index.closest("Axes.get_graph")[0] == "Axes.plot"
    assert "Circle.set_color" in index.closest("Circle.set_colour")
    assert "rate_functions.ease_in_sine" in index.closest("rate_functions.ease_in_sin")
    assert len(index.closest("TexMobject", n=2)) <= 2

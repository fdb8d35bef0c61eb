"""Pure text helpers: tokenizing identifiers, reading error messages, cutting docstrings."""

from __future__ import annotations

from manimatic.manim_api.text import (
    cut_examples,
    first_paragraph,
    identifier_parts,
    parse_error,
    simplify_rst,
    tokenize,
    truncate_text,
)


def test_identifier_parts_split_camel_and_snake_and_keep_whole():
    assert identifier_parts("ShowCreation") == ["showcreation", "show", "creation"]
    assert identifier_parts("get_graph") == ["get_graph", "get", "graph"]
    assert identifier_parts("SVGMobject") == ["svgmobject", "svg", "mobject"]


def test_tokenize_drops_error_boilerplate_and_stems():
    tokens = tokenize("NameError: name 'ShowCreation' is not defined")
    assert tokens == ["showcreat", "show", "creat"]
    assert tokenize("Create") == ["creat"]  # meets "ShowCreation" through the stem


def test_parse_error_reads_names_attributes_keywords_and_line():
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/tmp/job/scene.py", line 7, in construct\n'
        '  File "/venv/lib/python3.12/site-packages/manim/x.py", line 70, in f\n'
        "AttributeError: 'Axes' object has no attribute 'get_graph'"
    )
    refs = parse_error(traceback)
    assert refs.attributes == [("Axes", "get_graph")]
    assert refs.line == 7
    assert parse_error("NameError: name 'ShowCreation' is not defined").names == ["ShowCreation"]
    kw = parse_error("TypeError: Axes.__init__() got an unexpected keyword argument 'x_min'")
    assert kw.kwargs == [("Axes", "x_min")]
    assert parse_error("unexpected keyword argument 'x_min'").kwargs == [(None, "x_min")]
    assert parse_error("ImportError: cannot import name 'Foo' from 'manim'").names == ["Foo"]


def test_cut_examples_and_cleanup():
    doc = (
        "Summary line\ncontinues.\n\nParameters\n----------\nx\n    An x.\n\n"
        "Examples\n--------\n.. manim:: S\n"
    )
    cut = cut_examples(doc)
    assert cut.endswith("An x.") and "Examples" not in cut
    assert "manim::" not in cut_examples("Text.\n\n.. manim:: Demo\n\n    class Demo(Scene): ...")
    assert first_paragraph(doc) == "Summary line continues."
    assert simplify_rst("See :class:`~.VMobject` and :meth:`move <.Mobject.move_to>`.") == (
        "See VMobject and move."
    )


def test_truncate_text_marks_the_cut_and_respects_the_limit():
    text = "\n".join(f"line {i} " + "x" * 30 for i in range(50))
    cut = truncate_text(text, 300)
    assert len(cut) <= 300 and cut.endswith("[...]")
    assert truncate_text("short", 300) == "short"

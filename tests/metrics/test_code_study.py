"""Code metrics under `--protocol study`: the authors' AST tree, empty-generation rule, pooling."""

from __future__ import annotations

import math

import pytest

from manimatic.metrics.code import (
    _study_flat_tree,
    code_metrics,
    codebleu_score,
    study_ast_distance,
    study_ast_tree,
    study_codebert_similarity,
    tiny_code_embedder,
)

REF = """from manim import *

class Demo(Scene):
    def construct(self):
        c = Circle(color=RED)
        self.play(Create(c))
"""
GEN = REF.replace("Circle(color=RED)", "Square(color=BLUE)")


def test_the_study_tree_has_scalar_fields_and_contexts_as_nodes():
    labels, children = _study_flat_tree("c = Circle()")
    assert labels == [
        "Module",
        "Assign",
        "Name",
        "id: c",
        "Store",
        "Call",
        "Name",
        "id: Circle",
        "Load",
        "type_comment: None",
    ]
    assert children[0] == [1] and children[1] == [2, 5, 9] and children[2] == [3, 4]


def test_circle_vs_square_is_one_edit_in_ten_nodes():
    assert study_ast_distance("c = Circle()", "c = Square()") == pytest.approx(0.1)
    assert code_metrics("c = Circle()", "c = Square()", protocol="study").ast_distance == (
        pytest.approx(0.1)
    )
    # ours labels nodes with their names and drops contexts: 1 edit in 5 nodes
    assert code_metrics("c = Circle()", "c = Square()").ast_distance == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (REF, GEN),
        ("x = 1", "y = [1, 2]\nglobal z"),
        ("def f(a, *b, **c):\n    return a", "lambda: None"),
        ("", "x = 1"),
    ],
)
def test_study_distance_equals_zss_on_the_study_tree(a, b):
    from zss import simple_distance

    ta, tb = study_ast_tree(a), study_ast_tree(b)
    n = max(len(_study_flat_tree(a)[0]), len(_study_flat_tree(b)[0]))
    assert study_ast_distance(a, b) == pytest.approx(simple_distance(tb, ta) / n)


def test_empty_generation_scores_zero_with_a_syntax_error():
    for empty in ("", "  \n\t\n"):
        m = code_metrics(REF, empty, protocol="study")
        assert m.codebleu == 0.0 and m.syntax_error is True and m.ast_distance is None
        assert set(m.codebleu_components.values()) == {0.0}
    ours = code_metrics(REF, "")
    assert ours.codebleu == pytest.approx(0.25) and ours.syntax_error is False


def test_study_metrics_otherwise_use_codebleu_defaults():
    m = code_metrics(REF, GEN, protocol="study")
    total, parts = codebleu_score(REF, GEN)
    assert m.codebleu == total and m.codebleu_components == parts
    assert m.syntax_error is False and 0 < m.ast_distance < 1
    broken = code_metrics(REF, "def (:", protocol="study")
    assert broken.syntax_error is True and broken.ast_distance is None
    bad_ref = code_metrics("def (:", GEN, protocol="study")
    assert bad_ref.ref_syntax_error is True and bad_ref.syntax_error is False


def test_study_codebert_pools_over_the_padded_batch():
    embedder = tiny_code_embedder()
    long_gen = GEN + "\n".join(f"        self.wait({i})" for i in range(10))
    study = code_metrics(REF, long_gen, embedder, protocol="study")
    assert study.codebert == pytest.approx(study_codebert_similarity(embedder, REF, long_gen))
    assert study.cbb == pytest.approx(math.sqrt(study.codebleu * max(study.codebert, 0.0)))
    # padding is averaged in, so the value differs from our per-program pooling
    ours = code_metrics(REF, long_gen, embedder)
    assert study.codebert != pytest.approx(ours.codebert, abs=1e-9)
    # same length, no padding: the two poolings agree
    same = code_metrics(REF, REF, embedder, protocol="study")
    assert same.codebert == pytest.approx(1.0)
    assert code_metrics(REF, "", embedder, protocol="study").cbb == 0.0


def test_unknown_protocol():
    with pytest.raises(ValueError, match="manimatic or study"):
        code_metrics(REF, GEN, protocol="paper")

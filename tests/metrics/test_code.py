"""Code metrics: CodeBLEU, CodeBERT (tiny random encoder), CBB, AST distance, syntax errors."""

from __future__ import annotations

import math

import pytest

from manimatic.metrics.code import ast_distance, code_metrics, codebleu_score

REF = """from manim import *

class Demo(Scene):
    def construct(self):
        c = Circle(color=RED)
        self.play(Create(c))
"""
GEN = REF.replace("Circle(color=RED)", "Square(color=BLUE)")


def test_identical_code():
    m = code_metrics(REF, REF)
    assert m.codebleu == pytest.approx(1.0)
    assert m.ast_distance == 0.0 and m.syntax_error is False


def test_codebleu_quirk_kept_for_fidelity_to_the_study():
    # codebleu 0.7 counts a data-flow score of 0 as 1: an empty generation still gets 0.25.
    total, parts = codebleu_score(REF, "")
    assert parts["ngram_match_score"] == 0 and parts["dataflow_match_score"] == 0
    assert total == pytest.approx(0.25)


def test_codebleu_components_combine_with_default_weights():
    total, parts = codebleu_score(REF, GEN)
    expected = 0.25 * (
        parts["ngram_match_score"]
        + parts["weighted_ngram_match_score"]
        + parts["syntax_match_score"]
        + (parts["dataflow_match_score"] or 1)
    )
    assert total == pytest.approx(expected) and 0 < total < 1


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Module > Assign > (Name:x, Constant:1): 4 nodes; renaming x is one relabel.
        ("x = 1", "y = 1", 1 / 4),
        # A second statement adds Assign, Name:y, Constant:2: 3 inserts over 7 nodes.
        ("x = 1", "x = 1\ny = 2", 3 / 7),
        ("x = 1", "x = 1", 0.0),
        # Circle -> Square (Name label) and RED -> BLUE: 2 relabels.
        (REF, GEN, None),
    ],
)
def test_ast_distance_by_hand(a, b, expected):
    d = ast_distance(a, b)
    if expected is None:
        from manimatic.metrics.code import _count, ast_tree

        assert d == pytest.approx(2 / max(_count(ast_tree(a)), _count(ast_tree(b))))
    else:
        assert d == pytest.approx(expected)


def test_cbb_is_null_without_codebert():
    m = code_metrics(REF, GEN)
    assert m.codebert is None and m.cbb is None and m.codebleu > 0


def test_syntax_error_flag():
    m = code_metrics(REF, "def broken(:\n    pass")
    assert m.syntax_error is True and m.ast_distance is None and m.codebleu >= 0
    assert code_metrics("x = (", REF).ref_syntax_error is True


def test_cbb_with_a_tiny_random_encoder():
    from manimatic.metrics.code import tiny_code_embedder

    emb = tiny_code_embedder()
    same = code_metrics(REF, REF, emb)
    assert same.codebert == pytest.approx(1.0) and same.cbb == pytest.approx(1.0)
    m = code_metrics(REF, GEN, emb)
    assert m.codebert is not None and -1 <= m.codebert <= 1
    assert m.cbb == pytest.approx(math.sqrt(m.codebleu * max(m.codebert, 0)))


def test_fast_ast_distance_equals_zss_reference():
    from manimatic.metrics.code import ast_distance, ast_distance_reference

    programs = [
        "from manim import *\nclass A(Scene):\n    def construct(self):\n        self.add(Circle())\n",
        "from manim import *\nclass B(Scene):\n    def construct(self):\n        s = Square(color=RED)\n        self.play(Create(s))\n",
        "x = [i * i for i in range(3)]\nprint(x)\n",
        "def f(a, b=2):\n    return a + b\n",
    ]
    for a in programs:
        for b in programs:
            assert ast_distance(a, b) == pytest.approx(ast_distance_reference(a, b), abs=1e-12)


def test_default_code_embedder_never_downloads_unless_asked(monkeypatch, tmp_path):
    from manimatic.metrics import code

    def no_hub(source, *args, **kwargs):
        raise AssertionError(f"tried to load {source} without a local copy")

    monkeypatch.setattr(code.HFCodeEmbedder, "from_pretrained", staticmethod(no_hub))
    monkeypatch.setattr(code, "_default_cache", {})
    monkeypatch.delenv("MANIMATIC_DOWNLOAD_MODELS", raising=False)
    monkeypatch.setenv("MANIMATIC_CODEBERT_PATH", str(tmp_path / "absent"))
    assert code.default_code_embedder() is None
    monkeypatch.setattr(code, "_default_cache", {})
    monkeypatch.setenv("MANIMATIC_CODEBERT_PATH", "someone/not-cached-model")
    assert code.default_code_embedder() is None

"""Reward functions on fixed completions, with real renders through the shared test pool."""

from __future__ import annotations

import math

import pytest
from train_helpers import BROKEN, CIRCLE, SQUARE

from manimatic.agent.prompts import answer_text
from manimatic.train.reward_code import CodeReward
from manimatic.train.reward_format import format_reward, format_score
from manimatic.train.reward_render import RenderReward
from manimatic.train.reward_unified import UnifiedReward, combine
from manimatic.train.reward_visual import VisualReward
from manimatic.train.scoring import RolloutScorer, completion_text

GOOD = answer_text(CIRCLE)  # the reference itself, in the trained format
OTHER = answer_text(SQUARE)  # renders, but another picture
BROKEN_REPLY = answer_text(BROKEN)  # ShowCreation: fails (preflight or at run time)
EMPTY = ""
PROSE = "I would draw a blue circle and animate it being created."  # no code at all
FENCED = f"```python\n{CIRCLE}```"
RAW = CIRCLE  # code without any block


def chat(text: str) -> list[dict[str, str]]:
    """A completion as TRL passes it for conversational data."""
    return [{"role": "assistant", "content": text}]


@pytest.fixture(scope="module")
def scorer(render_pool):
    s = RolloutScorer(render_pool, visual="vs", render_timeout=60)
    yield s
    s.close()


def test_format_term_on_fixed_replies():
    assert format_score(GOOD) == 1.0
    assert format_score(FENCED) == 0.5
    assert format_score(RAW) == 0.0
    assert format_score(EMPTY) == 0.0
    assert format_score(PROSE) == 0.0
    assert format_score(GOOD[: len(GOOD) // 2]) == 0.0  # cut off: never closed
    assert format_score(f"<think>{GOOD}</think>") == 0.0  # code only while thinking
    assert format_reward(None, [chat(GOOD), FENCED]) == [1.0, 0.5]


def test_completion_text_accepts_both_forms():
    assert completion_text(chat("x")) == "x"
    assert completion_text("y") == "y"
    assert completion_text(None) == ""


def test_reward_functions_on_fixed_completions(scorer, render_pool):
    completions = [chat(c) for c in (GOOD, OTHER, BROKEN_REPLY, EMPTY, PROSE, FENCED)]
    refs = [CIRCLE] * len(completions)
    submitted = render_pool.stats.submitted

    code = CodeReward(scorer)(None, completions, reference_code=refs)
    visual = VisualReward(scorer)(None, completions, reference_code=refs)
    render = RenderReward(scorer)(None, completions, reference_code=refs)

    good, other, broken, empty, prose, fenced = range(6)
    assert render == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    # The reference itself: identical render and code.
    assert visual[good] == pytest.approx(1.0)
    assert code[good] == pytest.approx(1.0)
    assert visual[fenced] == pytest.approx(1.0) and code[fenced] == pytest.approx(1.0)
    # Another scene renders but scores lower on code.
    assert 0.0 <= visual[other] <= 1.0 and code[other] < code[good]
    # A failed render gives R_visual = 0 (not an exception); no code gives 0 everywhere.
    for i in (broken, empty, prose):
        assert visual[i] == 0.0
    assert code[empty] == 0.0 and code[prose] == 0.0
    assert code[broken] > 0.0  # the code term still sees how close the program is
    # Three callables over one batch rendered it once: the scorer memoises the batch, and the
    # two identical programs (GOOD and FENCED) plus the reference are one render.
    assert render_pool.stats.submitted - submitted <= 3 + 1
    scores = scorer.score(completions, refs)
    assert scores[broken].error_category == "name"  # ShowCreation is not Manim CE
    assert scores[empty].error_category == "no_code" and not scores[prose].found


def test_reference_rendered_once_per_task(scorer, render_pool):
    scorer.reference(SQUARE)
    before = scorer.stats["reference_renders"]
    scorer.score([chat(OTHER), chat(GOOD)], [SQUARE, SQUARE])
    scorer.score([chat(GOOD), chat(OTHER)], [SQUARE, SQUARE])
    assert scorer.stats["reference_renders"] == before
    assert scorer.reference(SQUARE).ok and len(scorer.reference(SQUARE).frames) >= 1


def test_unified_reward_combines_and_logs_components(scorer):
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    reward = UnifiedReward(scorer, {"code": 0.2, "visual": 0.8}, "arithmetic")
    completions = [chat(GOOD), chat(BROKEN_REPLY), chat(PROSE)]
    values = reward(
        None,
        completions,
        reference_code=[CIRCLE] * 3,
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    scores = scorer.score(completions, [CIRCLE] * 3)
    assert values[0] == pytest.approx(0.2 * scores[0].r_code + 0.8 * scores[0].r_visual)
    assert values[0] == pytest.approx(1.0)
    assert values[1] == pytest.approx(0.2 * scores[1].r_code)  # failed render: R_visual 0
    assert values[2] == 0.0
    for name in ("code", "visual", "render", "format", "has_code", "reference_failed"):
        assert f"reward_components/{name}" in metrics
    assert metrics["reward_components/render"] == pytest.approx(1 / 3)
    assert extra["r_render"] == [1.0, 0.0, 0.0]


def test_broken_reference_leaves_the_visual_term_out(scorer):
    reward = UnifiedReward(scorer, {"code": 0.2, "visual": 0.8})
    values = reward(None, [chat(GOOD)], reference_code=[BROKEN])
    score = scorer.score([chat(GOOD)], [BROKEN])[0]
    assert score.r_visual is None and score.rendered
    # Only the code term is left, scaled to the full weight.
    assert values[0] == pytest.approx(score.r_code)


def test_combine_arithmetic_and_geometric():
    w = {"code": 0.2, "visual": 0.8}
    assert combine({"code": 0.5, "visual": 1.0}, w) == pytest.approx(0.9)
    assert combine({"code": 0.5, "visual": 1.0}, w, "geometric") == pytest.approx(0.5**0.2)
    assert combine({"code": 0.9, "visual": 0.0}, w, "geometric") == 0.0
    assert combine({"code": 0.5, "visual": None}, w) == pytest.approx(0.5)
    assert combine({"code": None, "visual": None}, w) is None
    # Zero-weight terms are ignored; weights need not sum to 1 in the geometric mean.
    g = combine(
        {"code": 0.25, "visual": 1.0, "format": 0.0},
        {"code": 1, "visual": 1, "format": 0},
        "geometric",
    )
    assert g == pytest.approx(math.sqrt(0.25))


def test_cbb_with_a_code_embedder(render_pool):
    from manimatic.metrics.code import tiny_code_embedder

    s = RolloutScorer(render_pool, code_embedder=tiny_code_embedder())
    try:
        scores = s.score([chat(GOOD), chat(OTHER)], [CIRCLE, CIRCLE])
    finally:
        s.close()
    assert s.code_kind == "cbb" and scores[0].code_kind == "cbb"
    assert scores[0].r_code == pytest.approx(1.0, abs=1e-6)
    assert 0.0 <= scores[1].r_code < 1.0


def test_fidelity_visual_reward(render_pool):
    s = RolloutScorer(render_pool, visual="fidelity")
    try:
        good, other, broken = s.score([chat(GOOD), chat(OTHER), chat(BROKEN_REPLY)], [CIRCLE] * 3)
    finally:
        s.close()
    assert good.r_visual == pytest.approx(1.0)
    assert other.r_visual < good.r_visual
    assert broken.r_visual == 0.0 and good.visual_kind == "fidelity"

"""The scoring core: one main-output rule, one empty-code rule, one metric-failure rule.

The bench's `Scorer` and the reward's `RolloutScorer` are adapters over it; the last tests check
that both apply the same rules to the same input.
"""

from __future__ import annotations

import numpy as np
import pytest

from manimatic.bench.scoring import Scorer
from manimatic.metrics.frames import Frames
from manimatic.render import RenderResult
from manimatic.scoring import (
    MetricFailure,
    code_scores,
    has_code,
    main_output,
    pick_main,
    visual_scores,
)

REF = (
    "from manim import *\n\nclass A(Scene):\n    def construct(self):\n        self.add(Circle())\n"
)


class BrokenEmbedder:
    """A code embedder that always raises, as a metric bug would."""

    name = "broken"

    def embed(self, texts):
        raise RuntimeError("embedder exploded")


def test_main_output_prefers_the_first_video_and_its_trace() -> None:
    outputs = ["/x/A.png", "/x/B.mp4", "/x/C.mp4"]
    traces = ["/x/A.trace.json", "/x/B.trace.json", "/x/C.trace.json"]
    assert pick_main(outputs, traces) == ("/x/B.mp4", "/x/B.trace.json")
    assert pick_main(["/x/A.png", "/x/B.png"]) == ("/x/A.png", None)
    assert pick_main([], traces) == (None, None)
    # One trace for several outputs: only usable when there is exactly one.
    assert pick_main(["/x/A.png", "/x/B.mp4"], ["/x/t.json"]) == ("/x/B.mp4", "/x/t.json")
    result = RenderResult(ok=True, outputs=outputs, traces=traces)
    assert main_output(result) == ("/x/B.mp4", "/x/B.trace.json")


def test_empty_code_scores_zero_everywhere() -> None:
    assert not has_code("") and not has_code("  \n\t") and not has_code(None)
    for code in ("", "   \n"):
        m = code_scores(REF, code).metrics
        assert m.codebleu == 0.0 and m.codebert is None and m.cbb is None
        assert m.ast_distance is None and m.syntax_error is False
    m = code_scores(REF, "", BrokenEmbedder()).metrics  # the embedder is never called
    assert m.codebert == 0.0 and m.cbb == 0.0


def test_a_metric_failure_is_recorded_not_raised() -> None:
    scores = code_scores(REF, REF.replace("Circle", "Square"), BrokenEmbedder())
    assert scores.metrics is None
    assert scores.failure == MetricFailure("code", scores.failure.error)
    assert scores.failure.error == "RuntimeError: embedder exploded"
    assert scores.failure.note().startswith("code metrics failed: ")
    frames = Frames(images=[np.zeros((8, 8, 3), np.uint8)], times=[0.0])
    out = visual_scores(frames, "not frames", kinds=("vs", "fidelity"))
    assert out.vs is None and out.fidelity is None
    assert [f.metric for f in out.failures] == ["vs", "fidelity"]


def test_the_bench_adapter_applies_the_core_rules() -> None:
    ref = RenderResult(ok=True, outputs=[])
    failed = RenderResult(ok=False, stage="run")
    row = Scorer().score(REF, ref, "", failed)
    assert row["codebleu"] == 0.0 and row["vs"] == 0.0  # empty code, failed render
    row = Scorer(code_embedder=BrokenEmbedder()).score(REF, ref, REF + "\n# x\n", failed)
    assert "codebleu" not in row  # None in the stored row
    assert any(n.startswith("code metrics failed: ") for n in row["notes"])


def test_the_reward_adapter_applies_the_core_rules() -> None:
    from manimatic.train.scoring import RolloutScorer

    class NoPool:
        size = 1

    scorer = RolloutScorer(NoPool(), code_embedder=BrokenEmbedder())  # type: ignore[arg-type]
    try:
        assert scorer._code_score("", REF) == 0.0  # empty code: 0, no metric call
        assert scorer.stats["metric_errors"] == 0
        assert scorer._code_score(REF + "\n# x\n", REF) == 0.0  # failure: the term scores 0
        assert scorer.stats["metric_errors"] == 1
        assert scorer.stats["metric_failures"][0]["metric"] == "code"
    finally:
        scorer.close()


@pytest.mark.parametrize("code", ["", "   "])
def test_empty_code_agrees_between_adapters(code: str) -> None:
    from manimatic.train.scoring import RolloutScorer

    class NoPool:
        size = 1

    scorer = RolloutScorer(NoPool())  # type: ignore[arg-type]
    try:
        bench = Scorer().score(REF, RenderResult(ok=True), code, RenderResult(ok=False))
        assert scorer._code_score(code.strip(), REF) == bench["codebleu"] == 0.0
    finally:
        scorer.close()

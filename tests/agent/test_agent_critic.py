"""RITL with the layout critic: a render that succeeds with findings earns critic rounds."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_scenes import code_reply

from manimatic.agent import RITL, RITLDoc, Vanilla, generate, strategy_from_dict
from manimatic.agent.strategies import strategy_from_name
from manimatic.agent.transcript import Transcript

DESCRIPTION = "Show the title 'Pythagoras' and the formula a^2 + b^2 = c^2 below it."

OVERLAPPING = """\
from manim import *


class Pythagoras(Scene):
    def construct(self):
        title = Text("Pythagoras", font_size=48)
        formula = MathTex(r"a^2 + b^2 = c^2", font_size=60)
        self.play(Write(title))
        self.play(Write(formula))
        self.wait(1)
"""

FIXED = OVERLAPPING.replace(
    'formula = MathTex(r"a^2 + b^2 = c^2", font_size=60)',
    'formula = MathTex(r"a^2 + b^2 = c^2", font_size=60).next_to(title, DOWN, buff=0.5)',
)

WORSE = OVERLAPPING.replace(
    'title = Text("Pythagoras", font_size=48)',
    'title = Text("Pythagoras", font_size=48)\n'
    '        note = Text("tiny", font_size=6).to_edge(DOWN)\n'
    "        self.add(note)",
)


@pytest.mark.slow
def test_critic_round_fixes_a_layout_defect(scripted, render_pool, tmp_path: Path) -> None:
    backend = scripted(code_reply(OVERLAPPING), code_reply(FIXED))
    saved = tmp_path / "run.json"
    out = generate(
        DESCRIPTION,
        backend,
        RITL(rounds=1, critic=2),
        pool=render_pool,
        out_dir=tmp_path / "out",
        transcript_path=saved,
    )
    assert out.success and out.rounds == 2 and out.kept_attempt == 2
    assert out.code.strip() == FIXED.strip() and out.findings == []
    assert out.video and Path(out.video).parent == (tmp_path / "out").resolve()
    first, second = out.transcript.rounds
    assert (first.kind, second.kind) == ("initial", "critic")
    assert [f["kind"] for f in first.result["critique"]["findings"]] == ["overlap"]
    assert second.result["critique"]["findings"] == []
    prompt = backend.calls[1][-1].content
    assert "<LAYOUT_FEEDBACK>" in prompt and "[overlap]" in prompt and "Pythagoras" in prompt
    assert "failed when rendered" not in prompt  # it rendered: the model is told so
    record = Transcript.load(saved)
    assert record.strategy == {"name": "ritl", "rounds": 1, "critic": 2}
    assert record.final["kept_attempt"] == 2 and record.final["findings"] == []


@pytest.mark.slow
def test_the_best_attempt_is_kept_when_a_critic_round_makes_it_worse(scripted, render_pool) -> None:
    backend = scripted(code_reply(OVERLAPPING), code_reply(WORSE))
    out = generate(
        DESCRIPTION, backend, RITLDoc(rounds=0, doc_pass=False, critic=1), pool=render_pool
    )
    assert out.rounds == 2 and out.kept_attempt == 1
    assert out.code.strip() == OVERLAPPING.strip()
    assert [f["kind"] for f in out.findings] == ["overlap"]
    assert out.transcript.final["kept_attempt"] == 1


@pytest.mark.slow
def test_no_critic_rounds_without_the_flag(scripted, render_pool) -> None:
    backend = scripted(code_reply(OVERLAPPING), code_reply(FIXED))
    out = generate(DESCRIPTION, backend, RITL(rounds=1), pool=render_pool)
    assert out.rounds == 1 and out.code.strip() == OVERLAPPING.strip() and out.findings is None
    assert "critique" not in out.transcript.rounds[0].result


def test_critic_is_a_recorded_strategy_argument() -> None:
    assert RITL().to_dict() == {"name": "ritl", "rounds": 3}  # records without it read the same
    ritl = strategy_from_name("ritl", critic=2)
    assert ritl.to_dict() == {"name": "ritl", "rounds": 3, "critic": 2}
    assert strategy_from_dict(ritl.to_dict()) == ritl
    assert ritl.max_attempts == 6
    assert strategy_from_name("ritl-doc", critic=1).critic == 1
    assert Vanilla().critic == 0
    with pytest.raises(ValueError, match="vanilla"):
        strategy_from_name("vanilla", critic=1)
    with pytest.raises(ValueError, match="critic must be an int"):
        RITL(critic=-1)

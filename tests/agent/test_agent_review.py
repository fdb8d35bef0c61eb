"""`round_views`: a stored transcript's rounds with prompts, code diffs, errors and findings."""

from __future__ import annotations

from manimatic.agent.review import code_diff, round_views

OLD = "from manim import *\nclass A(Scene):\n    def construct(self):\n        self.play(ShowCreation(Circle()))\n"
NEW = OLD.replace("ShowCreation", "Create")


def _round(attempt, kind, code, ok, **extra):
    result = {"ok": ok, "stage": "done" if ok else "execute", "outputs": []}
    if not ok:
        result["error"] = {"category": "name", "type": "NameError",
                           "message": "name 'ShowCreation' is not defined", "line": 4}  # fmt: skip
    return {
        "attempt": attempt, "kind": kind,
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": f"ask {attempt}"}],
        "reply": f"<CODE>{code}</CODE>",
        "extraction": {"code": code, "found": True, "method": "code_tag"},
        "result": result, "llm_s": 0.5, "render_s": 0.2, "usage": {"total_tokens": 12},
        **extra,
    }  # fmt: skip


def test_rounds_with_diffs_errors_and_findings() -> None:
    finding = {"kind": "off_frame", "time": 1.0, "message": "the circle leaves the frame"}
    transcript = {
        "rounds": [
            _round(1, "initial", OLD, False, feedback="use Create"),
            _round(2, "feedback", NEW, True, findings=[finding]),
        ]
    }
    first, second = round_views(transcript, reference_code=NEW)
    assert (first.index, first.attempt, first.kind, first.prompt) == (1, 1, "initial", "ask 1")
    assert first.system == "sys" and first.ok is False and first.feedback == "use Create"
    assert "NameError" in first.error and "line 4" in first.error
    assert first.diff_previous is None  # nothing before it
    assert "+        self.play(ShowCreation(Circle()))" in first.diff_reference  # ref -> round
    assert second.ok and second.error is None and second.findings == [finding]
    assert "+        self.play(Create(Circle()))" in second.diff_previous
    assert second.diff_reference == ""  # identical to the reference
    assert second.tokens == {"total_tokens": 12}


def test_findings_inside_the_critics_report() -> None:
    finding = {"kind": "overlap", "time": 0.5, "objects": ["Text('a')"], "message": "m"}
    rnd = _round(1, "critic", NEW, True)
    rnd["result"]["critique"] = {"findings": [finding]}
    (view,) = round_views({"rounds": [rnd]})
    assert view.findings == [finding] and view.kind == "critic"


def test_odd_records_give_what_they_have() -> None:
    assert round_views(None) == [] and round_views({"rounds": "x"}) == []
    (view,) = round_views({"rounds": [{"attempt": 1, "kind": "initial", "messages": [],
                                       "reply": None, "error": "LLMTimeoutError: slow"}]})  # fmt: skip
    assert view.code is None and view.rendered is False and view.llm_error.startswith("LLM")
    assert code_diff(None, "x", "a", "b") is None and code_diff("x", "x", "a", "b") == ""

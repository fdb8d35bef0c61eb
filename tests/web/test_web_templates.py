"""The viewer's templates escape LLM-written text everywhere and show critic findings."""

from __future__ import annotations

import pytest
from web_helpers import HOSTILE

pytest.importorskip("jinja2")


def test_round_fragment_escapes_everything_and_lists_findings() -> None:
    from manimatic.agent.review import round_views
    from manimatic.web.app import templates

    transcript = {
        "rounds": [
            {
                "attempt": 1, "kind": "initial",
                "messages": [{"role": "user", "content": HOSTILE}],
                "reply": HOSTILE, "feedback": HOSTILE, "api_info": HOSTILE, "notes": [HOSTILE],
                "extraction": {"code": HOSTILE, "found": True, "reason": HOSTILE},
                "result": {"ok": True, "stage": "done", "outputs": []},
                "findings": [{"kind": "overlap", "time": 0.5, "message": HOSTILE,
                              "suggestion": HOSTILE}],
            }
        ]
    }  # fmt: skip
    (view,) = round_views(transcript, reference_code="x = 1")
    html = templates().get_template("_round_event.html").render(r=view)
    assert "<script>" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") >= 6  # prompt, reply, code, feedback, API info, note...
    assert "<b>overlap</b> at 0.5s" in html  # the finding, its text escaped too


def test_autoescape_is_on_for_every_template() -> None:
    from manimatic.web.app import templates

    env = templates()
    for name in env.list_templates():
        assert env.from_string("{{ x }}").render(x=HOSTILE) != HOSTILE, name
        assert env.get_template(name).environment.autoescape is True

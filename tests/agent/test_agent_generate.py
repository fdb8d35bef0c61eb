"""`generate` end to end: scripted replies through the real registry, the real render pool."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from agent_scenes import (
    FIXED_SCENE,
    GOOD_SCENE,
    NAME_ERROR_SCENE,
    SHOW_CREATION_SCENE,
    code_reply,
)

from manimatic.agent import RITL, RITLDoc, Vanilla, build_messages, generate
from manimatic.agent.feedback import NO_CODE_FEEDBACK
from manimatic.agent.run import MAX_CODE_BYTES
from manimatic.agent.transcript import Transcript
from manimatic.llm import GenerationOptions, LLMTimeoutError, get_backend

DESCRIPTION = "A red circle is drawn in the centre."


def user_prompt(backend, call: int) -> str:
    return backend.calls[call][-1].content


def test_vanilla_success(scripted, render_pool, tmp_path: Path) -> None:
    backend = scripted(code_reply(GOOD_SCENE, prose="Here is the scene:\n"))
    seen = []
    out = generate(
        DESCRIPTION,
        backend,
        Vanilla(),
        pool=render_pool,
        out_dir=tmp_path / "out",
        transcript_path=tmp_path / "t.json",
        on_round=seen.append,
    )
    assert out.success and out.error is None and out.rounds == 1
    assert out.code == GOOD_SCENE.rstrip("\n")
    assert out.video == str(tmp_path / "out" / "GoodCircle.mp4") and Path(out.video).is_file()
    assert Path(out.code_path).read_text() == GOOD_SCENE
    assert backend.calls == [build_messages(DESCRIPTION)]
    saved = Transcript.load(tmp_path / "t.json")
    assert saved == out.transcript and saved.status == "success"
    (only,) = saved.rounds
    assert seen == [only]
    assert (only.kind, only.attempt, only.rendered_code) == ("initial", 1, out.code)
    assert only.result["ok"] and only.render_s > 0 and only.llm_s >= 0
    assert only.extraction["method"] == "code_tag"
    assert saved.final == {
        "success": True,
        "attempts": 1,
        "code": out.code,
        "video": out.video,
        "code_path": out.code_path,
    }


def test_ritl_fixes_a_name_error_in_round_two(scripted, render_pool) -> None:
    backend = scripted(code_reply(NAME_ERROR_SCENE), code_reply(FIXED_SCENE))
    out = generate(DESCRIPTION, backend, RITL(), pool=render_pool)
    assert out.success and out.rounds == 2 and out.code == FIXED_SCENE.rstrip("\n")
    assert len(backend.calls) == 2  # stopped at the first success
    second = user_prompt(backend, 1)
    assert f"<TEXT_SCRIPT>\n{DESCRIPTION}\n</TEXT_SCRIPT>" in second
    assert "name 'radius_value' is not defined" in second  # the error text
    assert "Failing line 6" in second  # the line number...
    assert ">> 6 |         circle = Circle(radius=radius_value)" in second  # ...and the line
    assert "<CODE>```python\n" + NAME_ERROR_SCENE.rstrip("\n") in second  # the previous code
    assert "<API_INFO>" not in second
    first = out.transcript.rounds[0]
    assert first.result["stage"] == "preflight" and first.result["error"]["category"] == "name"
    assert first.feedback and first.feedback in second


def test_ritl_gives_up_after_k_rounds_with_the_last_code(scripted, render_pool) -> None:
    broken = [NAME_ERROR_SCENE.replace("radius_value", f"radius_{n}") for n in range(3)]
    backend = scripted(*[code_reply(code) for code in broken], code_reply(FIXED_SCENE))
    seen = []
    out = generate(DESCRIPTION, backend, RITL(rounds=2), pool=render_pool, on_round=seen.append)
    assert not out.success and out.video is None and out.rounds == 3
    assert out.code == broken[-1].rstrip("\n")
    assert "radius_2" in out.error and "NameError" in out.error
    assert len(backend.calls) == 3 and backend.remaining == 1
    assert [r.attempt for r in seen] == [1, 2, 3]
    assert out.transcript.status == "failed" and out.transcript.error == out.error


def test_ritl_doc_puts_creates_real_signature_in_the_prompts(scripted, render_pool) -> None:
    import manim

    signature = "Create" + str(inspect.signature(manim.Create))
    fixed = SHOW_CREATION_SCENE.replace("ShowCreation", "Create")
    backend = scripted(
        code_reply(SHOW_CREATION_SCENE),  # first generation
        code_reply(SHOW_CREATION_SCENE),  # the doc pass changes nothing
        code_reply(fixed),  # the feedback round fixes it
    )
    out = generate(DESCRIPTION, backend, RITLDoc(rounds=2), pool=render_pool)
    assert out.success and out.rounds == 2 and "Create(tri)" in out.code
    doc_pass, feedback = user_prompt(backend, 1), user_prompt(backend, 2)
    for prompt in (doc_pass, feedback):
        assert "<API_INFO>" in prompt and signature in prompt
        assert "ShowCreation" in prompt
    assert "<ERROR>" not in doc_pass  # before any render
    assert "name 'ShowCreation' is not defined" in feedback  # the preflight's finding
    kinds = [(r.attempt, r.kind) for r in out.transcript.rounds]
    assert kinds == [(1, "initial"), (1, "doc_pass"), (2, "feedback")]
    initial, checked, _ = out.transcript.rounds
    assert initial.result is None and checked.result["stage"] == "preflight"
    assert checked.api_info and signature in checked.api_info


def test_ritl_doc_without_doc_pass(scripted, render_pool) -> None:
    fixed = SHOW_CREATION_SCENE.replace("ShowCreation", "Create")
    backend = scripted(code_reply(SHOW_CREATION_SCENE), code_reply(fixed))
    out = generate(DESCRIPTION, backend, RITLDoc(doc_pass=False), pool=render_pool)
    assert out.success and len(backend.calls) == 2
    assert "<API_INFO>" not in user_prompt(backend, 0)
    assert "<API_INFO>" in user_prompt(backend, 1)


def test_reply_without_code_is_a_failed_round(scripted, render_pool) -> None:
    backend = scripted(
        "I'm sorry, I can only describe animations in words.", code_reply(GOOD_SCENE)
    )
    out = generate(DESCRIPTION, backend, RITL(), pool=render_pool)
    assert out.success and out.rounds == 2
    second = user_prompt(backend, 1)
    assert NO_CODE_FEEDBACK in second and "no usable code" in second
    first = out.transcript.rounds[0]
    assert first.rendered_code is None and first.render_s == 0
    assert first.result["error"]["type"] == "NoCodeError"
    assert first.extraction["found"] is False


def test_last_reply_without_code_keeps_the_last_code(scripted, render_pool) -> None:
    backend = scripted(code_reply(NAME_ERROR_SCENE), "No.")
    out = generate(DESCRIPTION, backend, RITL(rounds=1), pool=render_pool)
    assert not out.success and out.code == NAME_ERROR_SCENE.rstrip("\n")
    assert out.result.error.type == "NoCodeError" and "no code" in out.error


def test_huge_code_is_a_failed_round_and_stays_out_of_the_next_prompt(
    scripted, render_pool
) -> None:
    huge = GOOD_SCENE + "\n".join(f"PADDING_{n} = {n}" for n in range(20_000))
    assert len(huge) > MAX_CODE_BYTES
    backend = scripted(code_reply(huge), code_reply(GOOD_SCENE))
    out = generate(DESCRIPTION, backend, RITL(rounds=1), pool=render_pool)
    assert out.success and out.rounds == 2
    first = out.transcript.rounds[0]
    assert first.result["error"]["type"] == "CodeTooLargeError" and first.rendered_code is None
    second = user_prompt(backend, 1)
    assert "bytes" in second and "PADDING_" not in second and len(second) < 10_000


def test_llm_error_propagates_with_the_transcript(tmp_path: Path, render_pool) -> None:
    script = tmp_path / "script.jsonl"
    lines = [{"content": code_reply(NAME_ERROR_SCENE)}, {"error": "timeout", "message": "slow"}]
    script.write_text("".join(json.dumps(line) + "\n" for line in lines))
    saved = tmp_path / "t.json"
    with pytest.raises(LLMTimeoutError, match="slow") as info:
        generate(DESCRIPTION, f"scripted:{script}", RITL(), pool=render_pool, transcript_path=saved)
    transcript = info.value.transcript
    assert transcript.status == "error" and "LLMTimeoutError: slow" in transcript.error
    assert [r.attempt for r in transcript.rounds] == [1, 2]
    assert transcript.rounds[0].result["error"]["category"] == "name"
    assert (
        transcript.rounds[1].error.startswith("LLMTimeoutError") and transcript.rounds[1].messages
    )
    assert Transcript.load(saved) == transcript  # written before the error surfaced


def test_settings_are_recorded(scripted, render_pool) -> None:
    backend = scripted(code_reply(GOOD_SCENE))
    options = GenerationOptions(temperature=0.2, seed=7, max_tokens=300)
    out = generate(DESCRIPTION, backend, Vanilla(), pool=render_pool, options=options)
    record = out.transcript.to_dict()
    assert record["model"] == backend.spec and record["strategy"] == {"name": "vanilla"}
    assert record["options"] == options.to_dict() and backend.options == [options]
    assert record["render"] == {"quality": "l", "timeout": 60.0}
    assert record["versions"]["manim"] == __import__("manim").__version__


@pytest.mark.parametrize("description", ["", "   \n"])
def test_empty_description(description: str, scripted) -> None:
    with pytest.raises(ValueError, match="empty description"):
        generate(description, scripted(), Vanilla())


def test_hf_tiny_model_end_to_end(tiny_model_dir, render_pool) -> None:
    backend = get_backend(f"hf:{tiny_model_dir}", device="cpu")
    options = GenerationOptions(temperature=0.0, max_tokens=24)
    with backend:
        out = generate(DESCRIPTION, backend, RITL(rounds=1), pool=render_pool, options=options)
    # A random model writes garbage: the run must finish as a failure with a full record.
    assert not out.success and out.rounds == 2 and out.error
    rounds = out.transcript.rounds
    assert len(rounds) == 2 and all(isinstance(r.reply, str) for r in rounds)
    assert all(r.result and not r.result["ok"] for r in rounds)
    assert rounds[0].usage["completion_tokens"] and out.transcript.status == "failed"
    json.dumps(out.transcript.to_dict())

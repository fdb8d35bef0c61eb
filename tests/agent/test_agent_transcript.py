"""Transcripts: JSON-serialisable, saved atomically, loaded back equal."""

from __future__ import annotations

import json

import pytest

from manimatic.agent.extract import extract_code
from manimatic.agent.strategies import RITL
from manimatic.agent.transcript import FORMAT_VERSION, Round, Transcript
from manimatic.llm import GenerationOptions
from manimatic.render import RenderError, RenderResult


def sample() -> Transcript:
    transcript = Transcript(
        description="A circle — ünïcode too",
        model="scripted:x.jsonl",
        strategy=RITL(rounds=2).to_dict(),
        options=GenerationOptions(seed=3).to_dict(),
        render={"quality": "l", "timeout": 60.0},
    )
    failed = RenderResult(
        ok=False,
        scenes=["A"],
        stage="execute",
        error=RenderError("name", "NameError", "name 'x' is not defined", 3, "  x", None, "tb"),
        stderr="log",
    )
    transcript.rounds.append(
        Round(
            attempt=1,
            kind="initial",
            messages=[{"role": "user", "content": "hi"}],
            reply="```python\nx\n```",
            extraction=extract_code("```python\nx\n```").to_dict(),
            rendered_code="x",
            result=failed.to_dict(logs=True),
            feedback="Stage: execute",
            llm_s=0.5,
            render_s=0.25,
            usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            model="m",
            notes=["a note"],
        )
    )
    transcript.rounds.append(
        Round(attempt=2, kind="feedback", messages=[], error="LLMTimeoutError")
    )
    transcript.status = "error"
    return transcript


def test_round_trip(tmp_path) -> None:
    transcript = sample()
    path = transcript.save(tmp_path / "sub" / "t.json")
    loaded = Transcript.load(path)
    assert loaded == transcript
    assert loaded.to_dict() == json.loads(path.read_text(encoding="utf-8"))
    assert not list(path.parent.glob(".t.json.*"))  # no temp file left behind


def test_record_contents() -> None:
    transcript = sample()
    data = transcript.to_dict()
    assert data["format_version"] == FORMAT_VERSION
    assert set(data["versions"]) == {"manimatic", "manim", "python"}
    assert data["versions"]["manim"]  # read from package metadata, without importing manim
    assert data["strategy"] == {"name": "ritl", "rounds": 2}
    assert data["options"]["seed"] == 3
    first = transcript.rounds[0]
    assert first.code == "x" and first.render_result.error.traceback == "tb"
    assert first.render_result.stderr == "log"
    assert first.extraction_obj().method == "fence"
    assert transcript.attempts == 2 and transcript.total_tokens == 7
    assert transcript.replies() == ["```python\nx\n```"]
    json.dumps(data)


def test_load_rejects_other_files(tmp_path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        Transcript.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a transcript"):
        Transcript.load(tmp_path / "other.json")
    newer = sample().to_dict() | {"format_version": FORMAT_VERSION + 1}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="newer"):
        Transcript.load(tmp_path / "newer.json")

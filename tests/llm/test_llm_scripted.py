"""`scripted:`: a real backend through the real registry, replaying a JSONL file."""

from __future__ import annotations

import json
import threading

import pytest

from manimatic.llm import (
    GenerationOptions,
    LLMError,
    LLMNotFoundError,
    LLMTimeoutError,
    Message,
    ScriptExhaustedError,
    get_backend,
)
from manimatic.llm.scripted import ScriptedBackend, write_script


def _script(tmp_path, *objects, raw_lines=()):
    path = tmp_path / "replies.jsonl"
    lines = [json.dumps(o) for o in objects] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replays_in_order_and_records_calls(tmp_path):
    path = _script(
        tmp_path,
        {"content": "first"},
        {"content": "second", "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
    )
    backend = get_backend(f"scripted:{path}", base_url="http://ignored", timeout=5)
    assert isinstance(backend, ScriptedBackend)
    assert backend.spec == f"scripted:{path}"
    round1 = [Message("system", "be brief"), Message("user", "draw a circle")]
    options = GenerationOptions(temperature=0, max_tokens=64)

    first = backend.complete(round1, options)
    round1.append(Message("assistant", first.text))  # mutating afterwards must not alter calls
    second = backend.complete([*round1, Message("user", "NameError: ShowCreation")], options)

    assert (first.text, second.text) == ("first", "second")
    assert first.usage.total_tokens is None
    assert (second.usage.prompt_tokens, second.usage.total_tokens) == (7, 10)
    assert second.latency_s >= 0 and second.model == backend.spec
    assert len(backend.calls) == 2
    assert [m.role for m in backend.calls[0]] == ["system", "user"]
    assert "ShowCreation" in backend.calls[1][-1].content
    assert backend.options[1].max_tokens == 64
    assert backend.remaining == 0


def test_exhausted_script_says_how_many_and_what_to_do(tmp_path):
    path = write_script(tmp_path / "one.jsonl", ["only"])
    backend = get_backend(f"scripted:{path}")
    backend.complete([Message("user", "a")], GenerationOptions())
    with pytest.raises(ScriptExhaustedError) as info:
        backend.complete([Message("user", "b")], GenerationOptions())
    message = str(info.value)
    assert str(path) in message and "has 1 reply and all were used" in message
    assert "add more lines" in message
    assert len(backend.calls) == 2  # the failed call is still recorded


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": "wrong key"}', '"content" must be a string'),
        ('{"content": "x", "usage": {"prompt_tokens": "7"}}', '"usage" must be'),
        ('{"error": "explode"}', "unknown error kind"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, expected):
    path = _script(tmp_path, {"content": "ok"}, raw_lines=["", bad_line])
    with pytest.raises(LLMError) as info:
        get_backend(f"scripted:{path}")
    assert f"{path} line 3" in str(info.value)
    assert expected in str(info.value)


def test_missing_file():
    with pytest.raises(LLMNotFoundError, match="no such file"):
        get_backend("scripted:/nonexistent/replies.jsonl")


def test_scripted_errors_simulate_backend_failures(tmp_path):
    path = _script(tmp_path, {"error": "timeout", "message": "slow"}, {"content": "ok"})
    backend = get_backend(f"scripted:{path}")
    with pytest.raises(LLMTimeoutError, match="slow"):
        backend.complete([Message("user", "a")], GenerationOptions())
    assert backend.complete([Message("user", "a")], GenerationOptions()).text == "ok"


def test_thread_safe_replay(tmp_path):
    path = write_script(tmp_path / "many.jsonl", [f"reply {i}" for i in range(40)])
    backend = get_backend(f"scripted:{path}")
    texts: list[str] = []

    def worker():
        for _ in range(10):
            texts.append(backend.complete([Message("user", "x")], GenerationOptions()).text)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(texts) == sorted(f"reply {i}" for i in range(40))
    assert len(backend.calls) == 40

"""The interface itself: strict options, messages, and the registry."""

from __future__ import annotations

import pytest

from manimatic.llm import (
    Backend,
    Completion,
    GenerationOptions,
    LLMError,
    Message,
    Usage,
    backend_prefixes,
    get_backend,
    register_backend,
)


def test_default_options_are_valid_and_serialise():
    options = GenerationOptions()
    assert options.to_dict() == {
        "temperature": 0.7,
        "top_p": 0.95,
        "max_tokens": 2048,
        "seed": None,
        "min_p": None,
        "stop": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"temperature": -0.1}, "temperature must be a number in [0, 2]"),
        ({"temperature": 2.5}, "temperature must be a number in [0, 2]"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0.0}, "top_p must be a number in (0, 1]"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens must be an int >= 1"),
        ({"max_tokens": 10.0}, "max_tokens"),
        ({"seed": -1}, "seed must be an int >= 0"),
        ({"seed": True}, "seed"),
        ({"min_p": 1.5}, "min_p must be a number in [0, 1]"),
        ({"stop": "</CODE>"}, "use stop=['</CODE>']"),
        ({"stop": [""]}, "non-empty strings"),
    ],
)
def test_options_reject_bad_values_naming_the_rule(kwargs, rule):
    with pytest.raises(ValueError, match="Invalid GenerationOptions") as info:
        GenerationOptions(**kwargs)
    assert rule in str(info.value)


def test_options_report_every_problem_at_once():
    with pytest.raises(ValueError) as info:
        GenerationOptions(temperature=-1, max_tokens=0)
    assert "temperature" in str(info.value) and "max_tokens" in str(info.value)


def test_message_role_is_checked():
    assert Message("user", "hi").to_dict() == {"role": "user", "content": "hi"}
    with pytest.raises(ValueError, match="role must be one of system, user, assistant"):
        Message("human", "hi")


@pytest.mark.parametrize("spec", ["gpt-4", "claude:opus", "HF:model", "foo:bar"])
def test_unknown_prefix_lists_valid_prefixes(spec):
    with pytest.raises(LLMError) as info:
        get_backend(spec)
    message = str(info.value)
    assert repr(spec) in message
    for prefix in ("openai:", "ollama:", "hf:", "scripted:"):
        assert prefix in message


def test_reference_spec_points_to_bench():
    with pytest.raises(LLMError, match="only valid for `manimatic bench`"):
        get_backend("reference")


@pytest.mark.parametrize("spec", ["", "   ", "openai:", "scripted:"])
def test_empty_spec_or_model_is_explained(spec):
    with pytest.raises(LLMError, match="e\\.g\\.|use one of"):
        get_backend(spec)


def test_register_backend_through_the_real_registry():
    class Echo(Backend):
        def __init__(self, rest: str, spec: str) -> None:
            self.rest, self.spec = rest, spec

        def complete(self, messages, options):
            return Completion(messages[-1].content.upper(), Usage(), 0.0, self.rest)

    register_backend("echo", lambda rest, *, spec, **_: Echo(rest, spec))
    try:
        backend = get_backend("echo:loud", base_url="ignored")
        assert "echo" in backend_prefixes()
        assert backend.spec == "echo:loud"
        reply = backend.complete([Message("user", "hi")], GenerationOptions())
        assert reply.text == "HI" and reply.model == "loud"
    finally:
        from manimatic.llm import base

        base._REGISTRY.pop("echo", None)

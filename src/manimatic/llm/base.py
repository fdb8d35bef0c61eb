"""The LLM interface: messages and options in, a `Completion` out, whatever the backend.

Every backend implements one method, `Backend.complete(messages, options)`, and is reached through
one registry, `get_backend(spec)`, keyed by the spec's prefix (`openai:`, `ollama:`, `hf:`,
`gguf:`, `scripted:`). Backend modules are imported only when their prefix is used, so `hf:`
pulls in torch and transformers only for people who ask for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class LLMError(Exception):
    """A model backend failed; the message names the problem and the fix, ready to show a user."""


class LLMConnectionError(LLMError):
    """The server could not be reached (refused, DNS, reset), even after retries."""


class LLMAuthError(LLMError):
    """The server rejected the API key, or a key is needed and none was given."""


class LLMNotFoundError(LLMError):
    """The model (or the file or directory it names) does not exist where we looked."""


class LLMTimeoutError(LLMError):
    """The request did not finish within the timeout, even after retries."""


class LLMResponseError(LLMError):
    """The server answered, but not usably (bad request, empty reply, bad JSON)."""


class ScriptExhaustedError(LLMError):
    """A `scripted:` backend was asked for more replies than its file holds."""


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass
class Message:
    """One chat turn.

    Attributes:
        role: "system", "user" or "assistant".
        content: The text of the turn.
    """

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"Message role must be one of {', '.join(ROLES)}; got {self.role!r}. "
                "Use 'user' for the task and feedback, 'system' for instructions."
            )
        if not isinstance(self.content, str):
            raise TypeError(
                f"Message content must be a str; got {type(self.content).__name__}. "
                "Join or format it into one string first."
            )

    def to_dict(self) -> dict[str, str]:
        """The OpenAI / chat-template form, `{"role": ..., "content": ...}`."""
        return {"role": self.role, "content": self.content}


@dataclass
class GenerationOptions:
    """Sampling settings, validated on creation so a bad value fails before any request.

    Attributes:
        temperature: Sampling temperature in [0, 2]; 0 means greedy decoding.
        top_p: Nucleus sampling mass in (0, 1].
        max_tokens: Most tokens to generate, >= 1.
        seed: Random seed for reproducible sampling (servers may ignore it), >= 0, or None.
        min_p: Min-p sampling threshold in [0, 1], or None to leave it off. Not every server
            accepts it (vLLM, llama.cpp and transformers do; the OpenAI API does not).
        stop: Strings that end generation (not included in the text), or None.
    """

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 2048
    seed: int | None = None
    min_p: float | None = None
    stop: list[str] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _is_number(self.temperature) or not 0.0 <= self.temperature <= 2.0:
            problems.append(
                f"temperature must be a number in [0, 2] (0 = greedy); got {self.temperature!r}"
            )
        if not _is_number(self.top_p) or not 0.0 < self.top_p <= 1.0:
            problems.append(
                f"top_p must be a number in (0, 1] (1 = no nucleus cut); got {self.top_p!r}"
            )
        if not _is_int(self.max_tokens) or self.max_tokens < 1:
            problems.append(f"max_tokens must be an int >= 1; got {self.max_tokens!r}")
        if self.seed is not None and (not _is_int(self.seed) or self.seed < 0):
            problems.append(f"seed must be an int >= 0 or None; got {self.seed!r}")
        if self.min_p is not None and (not _is_number(self.min_p) or not 0.0 <= self.min_p <= 1.0):
            problems.append(f"min_p must be a number in [0, 1] or None; got {self.min_p!r}")
        if self.stop is not None:
            if isinstance(self.stop, str):
                problems.append(
                    f"stop must be a list of strings; got the string {self.stop!r}: "
                    f"use stop=[{self.stop!r}]"
                )
            elif not all(isinstance(s, str) and s for s in self.stop):
                problems.append(f"stop must hold non-empty strings only; got {self.stop!r}")
        if problems:
            raise ValueError("Invalid GenerationOptions: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (for transcripts and run records)."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "min_p": self.min_p,
            "stop": list(self.stop) if self.stop is not None else None,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Usage:
    """Token counts for one completion; None where the backend cannot tell."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        """Plain-dict form for transcripts."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass
class Completion:
    """One model reply.

    Attributes:
        text: The generated text (stop strings removed).
        usage: Token counts.
        latency_s: Wall time of the `complete` call, retries included.
        model: The model that answered (as the server names it, else as requested).
        raw: The backend's raw response or details (JSON-serialisable), if any.
    """

    text: str
    usage: Usage
    latency_s: float
    model: str
    raw: dict | None = field(default=None, repr=False)


# What a request is for (the benchmark task and run), for backends that answer per task: the
# scripted backend replays the replies keyed by task id. Set by the caller's thread.
_REQUEST: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "manimatic_llm_request", default=None
)


@contextlib.contextmanager
def request_context(**values: Any) -> Iterator[None]:
    """Label the model requests made inside the block (e.g. `task_id=..., run_id=...`)."""
    token = _REQUEST.set({**(_REQUEST.get() or {}), **values})
    try:
        yield
    finally:
        _REQUEST.reset(token)


def current_request() -> dict[str, Any]:
    """The labels set by the innermost `request_context` (empty outside one)."""
    return dict(_REQUEST.get() or {})


class Backend(ABC):
    """A model behind one method. Subclasses set `spec` and implement `complete`.

    Backends are reused across many calls (a loaded model, a pooled HTTP client) and should be
    safe to call from several threads. `close()` releases what they hold; they are also
    context managers.
    """

    spec: str

    @abstractmethod
    def complete(self, messages: list[Message], options: GenerationOptions) -> Completion:
        """Generate the next assistant turn.

        Args:
            messages: The conversation so far.
            options: Sampling settings.

        Returns:
            The reply with token usage and latency.

        Raises:
            LLMError: A subclass saying what went wrong and how to fix it.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections or memory held by the backend."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'spec', '?')!r})"


def check_messages(messages: list[Message]) -> None:
    """Fail early, with a clear message, on an empty or mistyped conversation."""
    if not messages:
        raise LLMError("no messages to send: pass at least one Message(role='user', ...).")
    for i, message in enumerate(messages):
        if not isinstance(message, Message):
            raise LLMError(
                f"messages[{i}] is a {type(message).__name__}, not a Message: "
                "wrap it as Message(role=..., content=...)."
            )


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

BackendFactory = Callable[..., Backend]
"""`factory(rest_of_spec, *, spec, base_url, api_key, timeout, **kwargs) -> Backend`."""

# prefix -> factory, or "module:function" for built-ins, imported on first use.
_REGISTRY: dict[str, BackendFactory | str] = {
    "openai": "manimatic.llm.openai_compat:openai_factory",
    "ollama": "manimatic.llm.openai_compat:ollama_factory",
    "hf": "manimatic.llm.hf:hf_factory",
    "gguf": "manimatic.llm.gguf:gguf_factory",
    "scripted": "manimatic.llm.scripted:scripted_factory",
}

_SPEC_EXAMPLES = {
    "openai": "openai:gpt-4.1 (any OpenAI-compatible server with --base-url)",
    "ollama": "ollama:qwen2.5-coder:7b",
    "hf": "hf:/path/to/model[@/path/to/adapter]",
    "gguf": "gguf:smollm2-135m or gguf:/path/to/model.gguf[@/path/to/adapter]",
    "scripted": "scripted:replies.jsonl",
}


HTTP_SETTINGS = ("base_url", "api_key", "timeout", "base_url_source", "on_retry")
"""Settings `get_backend` passes every factory that only a model server uses."""


def drop_http_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` without the server-only settings: for backends that run in-process."""
    return {k: v for k, v in kwargs.items() if k not in HTTP_SETTINGS}


def register_backend(prefix: str, factory: BackendFactory) -> None:
    """Add (or replace) the backend for specs starting with `prefix:`.

    Args:
        prefix: The spec prefix, without the colon.
        factory: Called as `factory(rest, *, spec, base_url, api_key, timeout, **kwargs)`.
    """
    if not prefix or ":" in prefix:
        raise ValueError(f"backend prefix must be non-empty and contain no ':'; got {prefix!r}")
    _REGISTRY[prefix] = factory


def backend_prefixes() -> list[str]:
    """The registered spec prefixes, e.g. `["hf", "ollama", "openai", "scripted"]`."""
    return sorted(_REGISTRY)


def _valid_prefixes_text() -> str:
    return "; ".join(_SPEC_EXAMPLES.get(p, f"{p}:...") for p in backend_prefixes())


def _resolve_factory(prefix: str) -> BackendFactory:
    factory = _REGISTRY[prefix]
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        _REGISTRY[prefix] = factory
    return factory


def get_backend(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 120.0,
    **kwargs: Any,
) -> Backend:
    """Build the backend a model spec names.

    Args:
        spec: `prefix:rest`, e.g. `openai:gpt-4.1`, `ollama:qwen2.5-coder:7b`,
            `hf:/models/qwen@/adapters/sft`, `scripted:replies.jsonl`.
        base_url: Server URL for HTTP backends (ignored by the others).
        api_key: API key for HTTP backends (ignored by the others).
        timeout: Per-request timeout in seconds for HTTP backends.
        **kwargs: Backend-specific settings (e.g. `max_retries` for `openai:`, `device` for `hf:`).

    Returns:
        A ready backend; its `spec` attribute is `spec`.

    Raises:
        LLMError: The prefix is unknown (the message lists the valid ones) or the backend could
            not be set up.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise LLMError(f"empty model spec; use one of: {_valid_prefixes_text()}.")
    spec = spec.strip()
    prefix, sep, rest = spec.partition(":")
    if spec == "reference":
        raise LLMError(
            "model spec 'reference' is only valid for `manimatic bench` (it answers with the "
            f"task's reference code); for generation use one of: {_valid_prefixes_text()}."
        )
    if not sep or prefix not in _REGISTRY:
        raise LLMError(
            f"unknown model spec {spec!r}: it must start with one of "
            f"{', '.join(p + ':' for p in backend_prefixes())} (e.g. {_valid_prefixes_text()})."
        )
    if not rest:
        raise LLMError(
            f"model spec {spec!r} names no model after '{prefix}:'; "
            f"e.g. {_SPEC_EXAMPLES.get(prefix, prefix + ':NAME')}."
        )
    if not _is_number(timeout) or timeout <= 0:
        raise LLMError(f"timeout must be a positive number of seconds; got {timeout!r}.")
    factory = _resolve_factory(prefix)
    return factory(
        rest, spec=spec, base_url=base_url, api_key=api_key, timeout=float(timeout), **kwargs
    )

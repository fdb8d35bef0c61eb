"""Model backends behind one small interface.

    backend = get_backend("openai:gpt-4.1")          # or ollama:, hf:, gguf:, scripted:
    reply = backend.complete([Message("user", "Draw a circle")], GenerationOptions(max_tokens=512))
    reply.text, reply.usage.total_tokens, reply.latency_s

Backends live in their own modules and are imported on first use of their prefix, so heavy
dependencies (torch, transformers, llama.cpp) load only for `hf:` and `gguf:`.
"""

from manimatic.llm.base import (
    Backend,
    BackendFactory,
    Completion,
    GenerationOptions,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMNotFoundError,
    LLMResponseError,
    LLMTimeoutError,
    Message,
    ScriptExhaustedError,
    Usage,
    backend_prefixes,
    current_request,
    get_backend,
    register_backend,
    request_context,
)

__all__ = [
    "Backend",
    "BackendFactory",
    "Completion",
    "GenerationOptions",
    "LLMAuthError",
    "LLMConnectionError",
    "LLMError",
    "LLMNotFoundError",
    "LLMResponseError",
    "LLMTimeoutError",
    "Message",
    "ScriptExhaustedError",
    "Usage",
    "backend_prefixes",
    "current_request",
    "get_backend",
    "register_backend",
    "request_context",
]

"""`openai:MODEL` and `ollama:MODEL`: any OpenAI-compatible chat-completions server over httpx.

Works with OpenAI itself, vLLM, Ollama (`/v1`), llama.cpp's server and LM Studio. Transient
failures (429, 5xx, connection errors, timeouts) are retried with exponential backoff and jitter,
honouring `Retry-After`; everything else becomes one `LLMError` that says what to do.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from manimatic.llm.base import (
    Backend,
    Completion,
    GenerationOptions,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMNotFoundError,
    LLMResponseError,
    LLMTimeoutError,
    Message,
    Usage,
    check_messages,
)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_HOST = "http://localhost:11434"
BASE_URL_ENV_VARS = ("MANIMATIC_BASE_URL", "OPENAI_BASE_URL")
API_KEY_ENV_VARS = ("MANIMATIC_API_KEY", "OPENAI_API_KEY")

# Statuses worth another try: rate limits and server-side trouble.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIBackend(Backend):
    """Chat completions against an OpenAI-compatible server.

    Attributes:
        spec: The spec it was built from.
        model: The model name sent to the server.
        base_url: Server URL up to and including the API version (e.g. `.../v1`).
        max_retries: Extra attempts after the first on transient failures.
    """

    def __init__(
        self,
        model: str,
        *,
        spec: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        headers: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        key_env_vars: tuple[str, ...] = API_KEY_ENV_VARS,
        base_url_source: str | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        """Set up the client; nothing is sent until `complete`.

        Args:
            model: Model name as the server knows it.
            spec: Spec string it came from (default `openai:MODEL`).
            base_url: Server URL; else `MANIMATIC_BASE_URL`, `OPENAI_BASE_URL`, then OpenAI's.
            api_key: Bearer key; else `MANIMATIC_API_KEY`, then `OPENAI_API_KEY`. Local servers
                need none.
            timeout: Seconds per request attempt.
            max_retries: Extra attempts on 429 / 5xx / connection errors / timeouts.
            backoff_base: First retry delay in seconds; doubles each retry (with jitter).
            backoff_max: Cap on one delay, `Retry-After` included.
            headers: Extra HTTP headers.
            extra_body: Extra JSON fields merged into every request (server-specific options).
            sleep: Called with each retry delay (tests pass a recorder).
            transport: httpx transport override (tests).
            key_env_vars: Env vars searched for the key, in order.
            base_url_source: Where an explicit `base_url` came from, as the user knows it
                (e.g. "--base-url"); it is named in connection errors.
            on_retry: Called with one line before each retry ("no answer in 30 s, retrying
                2/5"); default: a warning on the `manimatic.llm` logger.

        Raises:
            LLMAuthError: The OpenAI API is the target and no key was found.
        """
        if not isinstance(max_retries, int) or max_retries < 0:
            raise LLMError(f"max_retries must be an int >= 0; got {max_retries!r}.")
        self.model = model
        self.spec = spec or f"openai:{model}"
        self.base_url, self._base_url_source = _resolve_base_url(base_url, base_url_source)
        self.on_retry = on_retry
        self._api_key, self._key_source = _resolve_api_key(api_key, key_env_vars)
        self._key_env_vars = key_env_vars
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.extra_body = dict(extra_body or {})
        self._sleep = sleep
        self._rng = random.Random()
        self._lock = threading.Lock()
        if self._api_key is None and self.base_url == OPENAI_DEFAULT_BASE_URL:
            raise LLMAuthError(
                f"no API key for {self.base_url}: set {' or '.join(reversed(key_env_vars))} "
                "(or pass --api-key), or point --base-url at a local server (vLLM, Ollama, "
                "llama.cpp), which needs none."
            )
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self._api_key:
            all_headers["Authorization"] = f"Bearer {self._api_key}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout), headers=all_headers, transport=transport
        )

    @property
    def url(self) -> str:
        """The chat-completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self._client.close()

    def build_payload(self, messages: list[Message], options: GenerationOptions) -> dict[str, Any]:
        """The JSON body for one request (only options that are set are sent)."""
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            payload["seed"] = options.seed
        if options.min_p is not None:
            payload["min_p"] = options.min_p
        if options.stop:
            payload["stop"] = list(options.stop)
        payload.update(self.extra_body)
        return payload

    def complete(self, messages: list[Message], options: GenerationOptions) -> Completion:
        """POST to `BASE/chat/completions`, retrying transient failures.

        Raises:
            LLMAuthError: 401/403.
            LLMNotFoundError: 404 (model not served, or a wrong base URL).
            LLMConnectionError: Could not connect, after retries.
            LLMTimeoutError: Timed out, after retries.
            LLMResponseError: Another HTTP error, bad JSON, no choices or empty content.
        """
        check_messages(messages)
        payload = self.build_payload(messages, options)
        start = time.perf_counter()
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.post(self.url, json=payload)
            except httpx.TimeoutException as exc:
                if last:
                    raise LLMTimeoutError(
                        f"request to {self.url} timed out after {self.timeout:g} s "
                        f"({attempts} attempt{'s' if attempts > 1 else ''}; "
                        f"{type(exc).__name__}): the server is overloaded or the reply is long; "
                        "raise --llm-timeout, lower max_tokens, or check the server."
                    ) from exc
                self._retry(f"no answer in {self.timeout:g} s", attempt, attempts, None)
                continue
            except httpx.TransportError as exc:
                # Connection refused/reset, DNS failure, protocol errors: all worth a retry.
                if last:
                    raise LLMConnectionError(
                        f"could not connect to {self.base_url}: is the server running? "
                        f"({type(exc).__name__}: {exc}; {attempts} attempt"
                        f"{'s' if attempts > 1 else ''}; base URL from "
                        f"{self._base_url_source})"
                    ) from exc
                self._retry(f"could not connect to {self.base_url}", attempt, attempts, None)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._retry(
                    f"HTTP {response.status_code} from {self.base_url}",
                    attempt,
                    attempts,
                    response.headers.get("retry-after"),
                )
                continue
            if response.status_code >= 400:
                raise self._http_error(response, attempts=attempt + 1)
            return self._parse(response, start)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry(self, what: str, attempt: int, attempts: int, retry_after: str | None) -> None:
        """Say that attempt `attempt + 2` of `attempts` is coming, then wait the backoff."""
        delay = self._backoff(attempt, retry_after)
        line = f"{what}, retrying {attempt + 2}/{attempts} in {delay:.0f} s"
        if self.on_retry is not None:
            self.on_retry(line)
        else:
            logging.getLogger("manimatic.llm").warning("%s: %s", self.spec, line)
        self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """Delay before retry `attempt + 1`: Retry-After if given, else 2^n backoff with jitter."""
        server_delay = _parse_retry_after(retry_after)
        if server_delay is not None:
            return min(server_delay, self.backoff_max)
        delay = min(self.backoff_base * (2**attempt), self.backoff_max)
        with self._lock:  # random.Random is not documented as thread-safe
            return delay * self._rng.uniform(0.5, 1.0)

    def _http_error(self, response: httpx.Response, *, attempts: int) -> LLMError:
        status = response.status_code
        detail = _error_detail(response)
        if status in (401, 403):
            if self._key_source:
                key_hint = (
                    f"the key from {self._key_source} was rejected; set a valid one in "
                    f"{self._key_env_vars[0]} or pass --api-key"
                )
            else:
                key_hint = f"no API key was sent; set {' or '.join(self._key_env_vars)}"
            return LLMAuthError(
                f"{self.base_url} refused the request (HTTP {status}: {detail}): {key_hint}."
            )
        if status == 404:
            return LLMNotFoundError(
                f"model {self.model!r} not found at {self.base_url} (HTTP 404: {detail}): is the "
                f"model pulled/served? list models at {self.base_url}/models; if the base URL "
                "lacks its API version, add it (e.g. .../v1)."
            )
        if status == 429 or status >= 500:
            return LLMResponseError(
                f"{self.base_url} kept failing with HTTP {status} ({detail}) after {attempts} "
                "attempts; wait and retry, lower the request rate, or raise max_retries."
            )
        return LLMResponseError(
            f"{self.base_url} rejected the request for model {self.model!r} (HTTP {status}: "
            f"{detail}); check the model name and options (not every server accepts "
            "min_p or seed)."
        )

    def _parse(self, response: httpx.Response, start: float) -> Completion:
        try:
            data = response.json()
        except ValueError:
            raise LLMResponseError(
                f"{self.url} answered HTTP {response.status_code} with non-JSON "
                f"({_snippet(response.text)}); is the base URL an OpenAI-compatible API "
                "(usually ending in /v1)?"
            ) from None
        if not isinstance(data, dict):
            raise LLMResponseError(f"{self.url} answered with JSON that is not an object.")
        choices = data.get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise LLMResponseError(
                f"{self.url} returned no choices for model {self.model!r} "
                f"({_snippet(str(data))}); the server may have filtered or dropped the reply."
            )
        message = choices[0].get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text:
            reason = choices[0].get("finish_reason")
            raise LLMResponseError(
                f"{self.url} returned an empty reply from model {self.model!r} "
                f"(finish_reason={reason!r}); retry, raise max_tokens, or check the prompt."
            )
        usage = data["usage"] if isinstance(data.get("usage"), dict) else {}
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
                completion_tokens=_int_or_none(usage.get("completion_tokens")),
                total_tokens=_int_or_none(usage.get("total_tokens")),
            ),
            latency_s=time.perf_counter() - start,
            model=str(data.get("model") or self.model),
            raw=data,
        )


def openai_factory(
    rest: str,
    *,
    spec: str,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 120.0,
    **kwargs: Any,
) -> OpenAIBackend:
    """Registry hook for `openai:MODEL`."""
    return OpenAIBackend(
        rest, spec=spec, base_url=base_url, api_key=api_key, timeout=timeout, **kwargs
    )


def ollama_factory(
    rest: str,
    *,
    spec: str,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 120.0,
    **kwargs: Any,
) -> OpenAIBackend:
    """Registry hook for `ollama:MODEL`: the OpenAI backend at Ollama's `/v1` endpoint.

    The URL is `base_url`, else `OLLAMA_HOST` (as Ollama reads it: `host`, `host:port` or a URL),
    else http://localhost:11434; `/v1` is appended when missing. Only `api_key` or
    `MANIMATIC_API_KEY` is sent: an OpenAI key has no business going to a local server.
    """
    if base_url:
        source = kwargs.pop("base_url_source", None) or "the base_url argument"
    elif os.environ.get("OLLAMA_HOST"):
        source = "OLLAMA_HOST"
    else:
        source = f"Ollama's default ({OLLAMA_DEFAULT_HOST}; no --base-url or OLLAMA_HOST given)"
    kwargs.pop("base_url_source", None)
    return OpenAIBackend(
        rest,
        spec=spec,
        base_url=ollama_base_url(base_url),
        api_key=api_key,
        timeout=timeout,
        key_env_vars=("MANIMATIC_API_KEY",),
        base_url_source=source,
        **kwargs,
    )


def ollama_base_url(base_url: str | None = None) -> str:
    """Ollama's OpenAI-compatible URL from an explicit URL, `OLLAMA_HOST`, or the default."""
    host = base_url or os.environ.get("OLLAMA_HOST") or OLLAMA_DEFAULT_HOST
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    scheme, _, hostport = host.partition("://")
    netloc, slash, path = hostport.partition("/")
    if ":" not in netloc.rsplit("]", 1)[-1]:  # no port given (IPv6-safe); Ollama's default
        netloc = f"{netloc}:11434"
    if netloc.startswith("0.0.0.0"):  # a bind-all address, as in OLLAMA_HOST=0.0.0.0
        netloc = netloc.replace("0.0.0.0", "127.0.0.1", 1)
    path = f"/{path}" if slash else ""
    if not path.endswith("/v1"):
        path = f"{path}/v1"
    return f"{scheme}://{netloc}{path}"


def _resolve_base_url(base_url: str | None, source: str | None = None) -> tuple[str, str]:
    """(URL, where it came from); trailing slashes and a pasted `/chat/completions` removed.

    `source` names where an explicit `base_url` came from ("--base-url", "OLLAMA_HOST"...).
    """
    if base_url:
        value, source = base_url, source or "the base_url argument"
    else:
        for var in BASE_URL_ENV_VARS:
            if os.environ.get(var):
                value, source = os.environ[var], var
                break
        else:
            value = OPENAI_DEFAULT_BASE_URL
            source = f"the default (no --base-url, {' or '.join(BASE_URL_ENV_VARS)} given)"
    value = value.strip().rstrip("/")
    if value.endswith("/chat/completions"):
        value = value[: -len("/chat/completions")]
    if "://" not in value:
        raise LLMError(
            f"base URL {value!r} (from {source}) has no scheme; use e.g. http://localhost:8000/v1."
        )
    return value, source


def _resolve_api_key(api_key: str | None, env_vars: tuple[str, ...]) -> tuple[str | None, str]:
    """(key, where it came from; empty when no key)."""
    if api_key:
        return api_key, "the api_key argument"
    for var in env_vars:
        if os.environ.get(var):
            return os.environ[var], var
    return None, ""


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_detail(response: httpx.Response) -> str:
    """The server's own error message, if it sent one in the usual places."""
    try:
        data = response.json()
    except ValueError:
        return _snippet(response.text) or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return _snippet(str(error["message"]))
        if isinstance(error, str):
            return _snippet(error)
        if data.get("detail"):
            return _snippet(str(data["detail"]))
        if data.get("message"):
            return _snippet(str(data["message"]))
    return _snippet(str(data))


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

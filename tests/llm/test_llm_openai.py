"""`openai:` / `ollama:` against a real local HTTP server (stdlib, in a thread, port 0)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from manimatic.llm import (
    GenerationOptions,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMNotFoundError,
    LLMResponseError,
    LLMTimeoutError,
    Message,
    get_backend,
)
from manimatic.llm.openai_compat import OpenAIBackend, ollama_base_url

MESSAGES = [Message("system", "You write Manim."), Message("user", "Draw a circle.")]


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def ok_body(text: str = "<CODE>```python\nprint(1)\n```</CODE>", model: str = "served-model"):
    return {
        "id": "cmpl-1",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


class FakeServer:
    """Answers POSTs with queued replies (the last one repeats) and records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply(body=ok_body())]
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": body}
                )
                reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                data = data.encode() if isinstance(data, str) else data
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (
        "MANIMATIC_BASE_URL",
        "OPENAI_BASE_URL",
        "MANIMATIC_API_KEY",
        "OPENAI_API_KEY",
        "OLLAMA_HOST",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def serve():
    servers: list[FakeServer] = []

    def start(*replies: Reply) -> FakeServer:
        servers.append(FakeServer(*replies))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def backend_for(server_url: str, **kwargs) -> OpenAIBackend:
    kwargs = {"timeout": 5.0, "max_retries": 2, "backoff_base": 0.001, **kwargs}
    return get_backend("openai:test-model", base_url=server_url, **kwargs)


def test_success_records_usage_latency_and_sends_options(serve):
    server = serve(Reply(body=ok_body("hello")))
    backend = backend_for(server.url, api_key="sk-test")
    options = GenerationOptions(
        temperature=0.2, top_p=0.9, max_tokens=99, seed=7, min_p=0.1, stop=["</CODE>"]
    )
    reply = backend.complete(MESSAGES, options)

    assert reply.text == "hello"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 5)
    assert reply.usage.total_tokens == 17
    assert reply.model == "served-model" and reply.latency_s > 0
    assert reply.raw["id"] == "cmpl-1"
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["json"] == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "You write Manim."},
            {"role": "user", "content": "Draw a circle."},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 99,
        "seed": 7,
        "min_p": 0.1,
        "stop": ["</CODE>"],
    }


def test_unset_options_are_not_sent_and_no_key_is_fine_locally(serve):
    server = serve()
    backend_for(server.url).complete(MESSAGES, GenerationOptions())
    request = server.requests[0]
    assert "Authorization" not in request["headers"]
    assert not {"seed", "min_p", "stop"} & set(request["json"])


def test_500_then_success_retries(serve):
    server = serve(Reply(500, {"error": {"message": "boom"}}), Reply(body=ok_body("second try")))
    reply = backend_for(server.url).complete(MESSAGES, GenerationOptions())
    assert reply.text == "second try"
    assert len(server.requests) == 2


def test_429_honours_retry_after(serve):
    server = serve(Reply(429, {"error": "slow down"}, {"Retry-After": "2"}), Reply(body=ok_body()))
    sleep = SleepRecorder()
    reply = backend_for(server.url, sleep=sleep).complete(MESSAGES, GenerationOptions())
    assert reply.text.startswith("<CODE>")
    assert sleep.delays == [2.0]


def test_backoff_grows_exponentially_with_jitter(serve):
    server = serve(Reply(503, {}), Reply(503, {}), Reply(503, {}), Reply(body=ok_body()))
    sleep = SleepRecorder()
    backend = backend_for(server.url, sleep=sleep, max_retries=3, backoff_base=1.0)
    backend.complete(MESSAGES, GenerationOptions())
    assert len(sleep.delays) == 3
    for attempt, delay in enumerate(sleep.delays):
        assert 0.5 * 2**attempt <= delay <= 2**attempt


def test_persistent_5xx_gives_up_after_max_retries(serve):
    server = serve(Reply(502, {"error": {"message": "bad gateway"}}))
    with pytest.raises(LLMResponseError, match="HTTP 502.*after 3 attempts"):
        backend_for(server.url).complete(MESSAGES, GenerationOptions())
    assert len(server.requests) == 3


def test_401_is_an_auth_error_naming_the_env_var(serve, monkeypatch):
    server = serve(Reply(401, {"error": {"message": "Incorrect API key provided"}}))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with pytest.raises(LLMAuthError) as info:
        backend_for(server.url).complete(MESSAGES, GenerationOptions())
    message = str(info.value)
    assert "HTTP 401" in message and "Incorrect API key provided" in message
    assert "key from OPENAI_API_KEY was rejected" in message
    assert "MANIMATIC_API_KEY" in message
    assert len(server.requests) == 1  # never retried
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-wrong"


def test_401_without_key_says_which_var_to_set(serve):
    server = serve(Reply(401, {"error": {"message": "missing key"}}))
    with pytest.raises(LLMAuthError, match="set MANIMATIC_API_KEY or OPENAI_API_KEY"):
        backend_for(server.url).complete(MESSAGES, GenerationOptions())


def test_openai_default_url_without_key_fails_before_any_request():
    with pytest.raises(
        LLMAuthError,
        match="no API key for https://api.openai.com/v1: set OPENAI_API_KEY or MANIMATIC",
    ):
        get_backend("openai:gpt-4.1")


def test_404_names_model_and_base_url(serve):
    server = serve(Reply(404, {"error": {"message": "model 'test-model' not found"}}))
    with pytest.raises(LLMNotFoundError) as info:
        backend_for(server.url).complete(MESSAGES, GenerationOptions())
    message = str(info.value)
    assert "'test-model'" in message and server.url in message
    assert "is the model pulled/served?" in message
    assert f"list models at {server.url}/models" in message


def test_400_is_a_response_error_with_the_server_message(serve):
    server = serve(Reply(400, {"error": {"message": "Unrecognized request argument: min_p"}}))
    with pytest.raises(LLMResponseError, match="Unrecognized request argument: min_p"):
        backend_for(server.url).complete(MESSAGES, GenerationOptions(min_p=0.1))
    assert len(server.requests) == 1


def test_server_down_is_a_connection_error():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    sleep = SleepRecorder()
    with pytest.raises(LLMConnectionError) as info:
        backend_for(url, sleep=sleep).complete(MESSAGES, GenerationOptions())
    assert f"could not connect to {url}: is the server running?" in str(info.value)
    assert len(sleep.delays) == 2  # retried max_retries times


def test_slow_server_times_out_after_retries(serve):
    server = serve(Reply(body=ok_body(), delay=1.0))
    backend = backend_for(server.url, timeout=0.2, max_retries=1)
    start = time.perf_counter()
    with pytest.raises(LLMTimeoutError) as info:
        backend.complete(MESSAGES, GenerationOptions())
    assert time.perf_counter() - start < 0.9
    assert "timed out after 0.2 s (2 attempts" in str(info.value)
    assert "raise --llm-timeout" in str(info.value)  # the flag that exists for it


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"choices": [], "usage": {}}, "returned no choices"),
        ({"choices": [{"message": {"role": "assistant", "content": ""}}]}, "empty reply"),
        ({"choices": [{"message": {"content": None}, "finish_reason": "length"}]}, "length"),
        (b"<html>not json</html>", "non-JSON"),
    ],
)
def test_unusable_response_is_a_response_error(serve, body, expected):
    server = serve(Reply(body=body))
    with pytest.raises(LLMResponseError, match=expected):
        backend_for(server.url).complete(MESSAGES, GenerationOptions())


def test_base_url_and_key_resolution(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-env/v1")
    assert get_backend("openai:m").base_url == "http://openai-env/v1"
    monkeypatch.setenv("MANIMATIC_BASE_URL", "http://manimatic-env/v1/")
    assert get_backend("openai:m").base_url == "http://manimatic-env/v1"
    backend = get_backend("openai:m", base_url="http://arg:8000/v1/chat/completions")
    assert backend.base_url == "http://arg:8000/v1"
    assert backend.url == "http://arg:8000/v1/chat/completions"
    with pytest.raises(LLMError, match="has no scheme"):
        get_backend("openai:m", base_url="localhost:8000/v1")


def test_ollama_base_url_resolution(monkeypatch):
    assert ollama_base_url() == "http://localhost:11434/v1"
    assert ollama_base_url("http://gpu-box:11434") == "http://gpu-box:11434/v1"
    assert ollama_base_url("http://gpu-box:11434/v1/") == "http://gpu-box:11434/v1"
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    assert ollama_base_url() == "http://127.0.0.1:11434/v1"
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.example:8443")
    backend = get_backend("ollama:qwen2.5-coder:7b")
    assert backend.base_url == "https://ollama.example:8443/v1"
    assert backend.model == "qwen2.5-coder:7b"
    assert backend.spec == "ollama:qwen2.5-coder:7b"


def test_ollama_end_to_end_and_no_openai_key_leak(serve, monkeypatch):
    server = serve(Reply(body=ok_body("from ollama")))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("OLLAMA_HOST", server.root)
    reply = get_backend("ollama:llama3").complete(MESSAGES, GenerationOptions())
    assert reply.text == "from ollama"
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["json"]["model"] == "llama3"
    assert "Authorization" not in server.requests[0]["headers"]

"""`manimatic generate`: scripted replies and a local OpenAI-compatible server, real renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from manimatic.agent import build_messages
from manimatic.cli import app
from manimatic.llm import GenerationOptions
from manimatic.llm.scripted import write_script

GOOD = (
    "from manim import *\n\n\nclass CliCircle(Scene):\n    def construct(self):\n"
    "        self.play(Create(Circle(color=BLUE)), run_time=0.3)\n"
)
BROKEN = GOOD.replace("Circle(color=BLUE)", "Circle(color=not_a_colour)")
PROMPT = "A blue circle is drawn!"
JSON_KEYS = {"ok", "video", "code_path", "rounds", "strategy", "model", "error", "transcript"}


def reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


def invoke(*args: str):
    return CliRunner().invoke(app, ["generate", *args], catch_exceptions=False)


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_success_as_a_user_runs_it(tmp_path: Path) -> None:
    script = write_script(tmp_path / "replies.jsonl", ["No code here, sorry.", reply(GOOD)])
    exe = Path(sys.executable).with_name("manimatic")
    proc = subprocess.run(
        [str(exe), "generate", PROMPT, "--model", f"scripted:{script}", "--strategy", "ritl"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=os.environ.copy(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out_dir = tmp_path / "manimatic_out" / "a-blue-circle-is-drawn"  # default: slug of prompt
    video = out_dir / "CliCircle.mp4"
    assert (out_dir / "scene.py").read_text() == GOOD  # the code next to the video
    assert video.is_file() and video.stat().st_size > 0
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == str(video.resolve())  # ends with the path of the video
    text = one_line(proc.stdout)
    assert "round 1/4: reply had no code" in text and "round 2/4: generated 6 lines" in text
    assert "render ok" in text


def test_json_shape_and_transcript(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.jsonl", [reply(BROKEN), reply(GOOD)])
    transcript = tmp_path / "run.json"
    result = invoke(
        PROMPT,
        "-m",
        f"scripted:{script}",
        "--strategy",
        "ritl",
        "-k",
        "2",
        "-o",
        str(tmp_path / "out"),
        "--transcript",
        str(transcript),
        "--json",
        "--seed",
        "5",
        "--temperature",
        "0",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # one object, nothing else on stdout
    assert set(data) == JSON_KEYS
    assert data["ok"] is True and data["error"] is None and data["rounds"] == 2
    assert data["strategy"] == "ritl" and data["model"] == f"scripted:{script}"
    assert data["transcript"] == str(transcript)
    assert Path(data["video"]).parent == Path(data["code_path"]).parent == (tmp_path / "out")
    record = json.loads(transcript.read_text())
    assert record["status"] == "success" and len(record["rounds"]) == 2
    assert record["options"]["seed"] == 5 and record["options"]["temperature"] == 0
    assert record["strategy"] == {"name": "ritl", "rounds": 2}
    assert "not_a_colour" in record["rounds"][1]["messages"][1]["content"]


def test_failure_names_what_failed_in_the_last_round(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.jsonl", [reply(BROKEN)])
    args = [PROMPT, "-m", f"scripted:{script}", "--strategy", "vanilla", "-o", str(tmp_path / "o")]
    result = invoke(*args)
    assert result.exit_code == 1
    err = one_line(result.stderr)
    assert "no working scene after 1 round(s)" in err
    assert "NameError: name 'not_a_colour' is not defined" in err and "scene.py" in err
    data = json.loads(invoke(*args, "--json").stdout)
    assert data["ok"] is False and data["video"] is None and "not_a_colour" in data["error"]
    assert Path(data["code_path"]).read_text() == BROKEN  # the last code is kept for the user


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "-m", "scripted:x.jsonl"], "empty prompt"),
        (["  ", "-m", "scripted:x.jsonl"], "empty prompt"),
        (["x", "-m", "scripted:x.jsonl", "--strategy", "vanilla", "-k", "2"], "takes no rounds"),
        (["x", "-m", "scripted:x.jsonl", "--strategy", "beam"], "unknown strategy"),
        (["x", "-m", "scripted:x.jsonl", "--temperature", "5"], "temperature"),
        (["x", "-m", "scripted:x.jsonl", "-q", "z"], "--quality"),
    ],
)
def test_bad_input_is_one_clear_error(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("error:") == 1
    data = json.loads(invoke(*args, "--json").stdout)
    assert data["ok"] is False and message in data["error"]


def test_llm_error_exits_3_and_keeps_the_transcript(tmp_path: Path) -> None:
    script = tmp_path / "r.jsonl"
    lines = [{"content": reply(BROKEN)}, {"error": "connection", "message": "server down"}]
    script.write_text("".join(json.dumps(line) + "\n" for line in lines))
    transcript = tmp_path / "t.json"
    result = invoke(
        PROMPT, "-m", f"scripted:{script}", "--strategy", "ritl", "--transcript", str(transcript)
    )
    assert result.exit_code == 3
    assert "the model call failed in round 2: server down" in one_line(result.stderr)
    record = json.loads(transcript.read_text())
    assert record["status"] == "error" and len(record["rounds"]) == 2


def test_unknown_model_spec_exits_3() -> None:
    result = invoke(PROMPT, "-m", "nosuch:model")
    assert result.exit_code == 3 and "unknown model spec" in result.stderr


# ---------------------------------------------------------------- openai: over real HTTP


class ChatServer:
    """A local OpenAI-compatible server: answers queued (status, body) pairs, records requests."""

    def __init__(self, *replies: tuple) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(
                    {"path": self.path, "json": body, "auth": self.headers.get("Authorization")}
                )
                status, payload, *delay = (
                    outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                )
                if delay:  # a server that accepts and does not answer (for a while)
                    time.sleep(delay[0])
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Retry-After", "0")  # retry at once: keeps the test fast
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def completion(text: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "model": "served-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140},
    }


@pytest.fixture
def no_key_env(monkeypatch) -> Iterator[None]:
    for var in ("OPENAI_API_KEY", "MANIMATIC_API_KEY", "OPENAI_BASE_URL", "MANIMATIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    yield


def test_openai_backend_end_to_end(tmp_path: Path, no_key_env) -> None:
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    with ChatServer((500, error), (200, completion(reply(GOOD)))) as server:
        result = invoke(
            PROMPT,
            "-m",
            "openai:test-model",
            "--base-url",
            server.url,
            "--strategy",
            "vanilla",
            "-o",
            str(tmp_path / "out"),
            "--max-tokens",
            "512",
            "--json",
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and Path(data["video"]).is_file() and data["model"] == "openai:test-model"
    assert len(server.requests) == 2  # the 500 was retried
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["json"]["model"] == "test-model"
    assert sent["json"]["max_tokens"] == 512
    assert sent["json"]["messages"] == [m.to_dict() for m in build_messages(PROMPT)]


def test_openai_auth_error_is_one_line(tmp_path: Path, no_key_env) -> None:
    denied = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    with ChatServer((401, denied)) as server:
        result = invoke(PROMPT, "-m", "openai:test-model", "--base-url", server.url)
    assert result.exit_code == 3
    err = one_line(result.stderr)
    assert err.count("error:") == 1 and "the model call failed in round 1" in err
    assert "401" in err or "API key" in err


def test_default_strategy_is_ritl_doc_with_its_doc_pass(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.jsonl", [reply(BROKEN), reply(GOOD)])
    result = invoke(PROMPT, "-m", f"scripted:{script}", "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    text = one_line(result.stdout)
    assert "ritl-doc" in text
    assert "round 1/4: generated 6 lines" in text and "checking the API usage" in text
    assert "round 1/4 doc pass: revised 6 lines" in text and "render ok" in text
    assert "done in 1 round(s)" in text


def test_output_file_puts_the_code_beside_it_and_preview_says_no_display(
    tmp_path: Path, monkeypatch
) -> None:
    """`generate -o out.gif`: the video is out.gif (not a folder), the code out.py."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    script = write_script(tmp_path / "r.jsonl", [reply(GOOD)])
    target = tmp_path / "clips" / "circle.gif"
    result = invoke(
        PROMPT, "-m", f"scripted:{script}", "--strategy", "vanilla", "-o", str(target), "-p"
    )
    assert result.exit_code == 0, result.stderr
    assert target.is_file() and target.read_bytes()[:3] == b"GIF"
    assert (tmp_path / "clips" / "circle.py").read_text() == GOOD
    assert sorted(p.name for p in target.parent.iterdir()) == ["circle.gif", "circle.py"]
    assert str(target.resolve()) in result.stdout
    assert "no display" in result.stderr

    script = write_script(tmp_path / "r2.jsonl", [reply(GOOD)])
    data = json.loads(
        invoke(
            PROMPT,
            "-m",
            f"scripted:{script}",
            "--strategy",
            "vanilla",
            "-s",
            "-o",
            str(tmp_path / "f"),
            "--json",
        ).stdout
    )
    assert data["ok"] and data["video"].endswith(".png")


def test_generation_result_repr_is_short_and_html_inlines_the_video(tmp_path: Path) -> None:
    from manimatic.agent import Vanilla, generate

    script = write_script(tmp_path / "r.jsonl", [reply(GOOD)])
    out = generate(PROMPT, f"scripted:{script}", Vanilla(), out_file=tmp_path / "c.mp4")
    text = repr(out)
    assert len(text) < 400 and "success=True" in text and "rounds=1" in text, text
    assert "c.mp4" in text and "<6 lines>" in text
    page = out._repr_html_()
    assert "<video" in page and "data:video/mp4;base64," in page and "CliCircle" in page
    page = out.result._repr_html_()
    assert "<video" in page and "ok" in page


def test_llm_timeout_and_each_retry_is_announced(tmp_path: Path, no_key_env) -> None:
    """A server that accepts and does not answer: --llm-timeout bounds the wait, retries say so."""
    with ChatServer((200, completion("late"), 3.0), (200, completion(reply(GOOD)))) as server:
        result = invoke(
            PROMPT, "-m", "openai:m", "--base-url", server.url, "--strategy", "vanilla",
            "--llm-timeout", "0.5", "--api-key", "sk-test", "-o", str(tmp_path / "o"),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no answer in 0.5 s, retrying 2/5" in one_line(result.stderr)
    assert server.requests[-1]["auth"] == "Bearer sk-test"  # --api-key is sent
    bad = invoke(PROMPT, "-m", "openai:m", "--llm-timeout", "0")
    assert bad.exit_code == 2 and "--llm-timeout" in bad.stderr


def test_missing_key_and_base_url_sources_are_named(no_key_env, monkeypatch) -> None:
    from manimatic.commands.generate import llm_settings
    from manimatic.llm import LLMError, Message, get_backend

    result = invoke(PROMPT, "-m", "openai:m")
    assert result.exit_code == 3 and "--api-key" in result.stderr

    def source_named(spec: str, **settings) -> str:
        backend = get_backend(spec, max_retries=0, **settings)
        with pytest.raises(LLMError) as info:
            backend.complete([Message("user", "hi")], GenerationOptions())
        return str(info.value)

    # nothing listens on port 9: each error names where the URL came from
    flags = llm_settings("http://127.0.0.1:9/v1", "k", None)
    assert "base URL from --base-url" in source_named("openai:m", **flags)
    monkeypatch.setenv("MANIMATIC_BASE_URL", "http://127.0.0.1:9/v1")
    assert "base URL from MANIMATIC_BASE_URL" in source_named("openai:m", api_key="k")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    assert "base URL from OLLAMA_HOST" in source_named("ollama:m")
    monkeypatch.delenv("OLLAMA_HOST")
    backend = get_backend("ollama:m")
    assert "Ollama's default" in backend._base_url_source


def test_protocol_and_prompts_flags(tmp_path: Path) -> None:
    # The study's extraction takes no ```py fence: under --protocol study this reply has no code.
    script = write_script(tmp_path / "replies.jsonl", ["```py\n" + GOOD + "```"] * 2)
    t = tmp_path / "t.json"
    res = CliRunner().invoke(
        app,
        ["generate", PROMPT, "--model", f"scripted:{script}", "--strategy", "vanilla",
         "--protocol", "study", "--transcript", str(t), "--out", str(tmp_path / "o"), "--json"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    record = json.loads(t.read_text())
    assert record["protocol"]["name"] == "study" and record["render"]["timeout"] == 300.0
    assert record["rounds"][0]["extraction"]["found"] is False
    prompts = tmp_path / "p.yaml"
    prompts.write_text(
        "system: CLI SYSTEM\nuser: '{{ description }}'\nfeedback_user: F\ndoc_user: D\n"
        "doc_feedback_user: DF\n"
    )
    res = invoke(PROMPT, "--model", f"scripted:{script}", "--strategy", "vanilla",
                 "--prompts", str(prompts), "--transcript", str(t), "--out", str(tmp_path / "p"))  # fmt: skip
    assert res.exit_code == 0, res.output
    record = json.loads(t.read_text())
    assert record["rounds"][0]["messages"][0]["content"] == "CLI SYSTEM"
    assert record["protocol"]["name"] == "manimatic" and record["render"]["timeout"] == 60.0
    for bad, needle in ((["--protocol", "paper"], "unknown protocol"),
                        (["--prompts", str(tmp_path / "none.yaml")], "not found")):  # fmt: skip
        res = CliRunner().invoke(app, ["generate", PROMPT, "--model", f"scripted:{script}", *bad])
        assert res.exit_code == 2 and needle in one_line(res.output)

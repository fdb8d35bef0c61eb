"""`manimatic generate`: scripted replies and a local OpenAI-compatible server, real renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from manimatic.agent import build_messages
from manimatic.cli import app
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
        "-s",
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
    args = [PROMPT, "-m", f"scripted:{script}", "-s", "vanilla", "-o", str(tmp_path / "o")]
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
        (["x", "-m", "scripted:x.jsonl", "-s", "vanilla", "-k", "2"], "takes no rounds"),
        (["x", "-m", "scripted:x.jsonl", "-s", "beam"], "unknown strategy"),
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
        PROMPT, "-m", f"scripted:{script}", "-s", "ritl", "--transcript", str(transcript)
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

    def __init__(self, *replies: tuple[int, dict]) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "json": body})
                status, payload = (
                    outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                )
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
            "-s",
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

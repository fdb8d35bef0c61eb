"""The generation log: every `generate` is recorded by default, opt-outs work, a broken log never
fails a generation, and `manimatic logs` lists entries newest first."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from agent_scenes import GOOD_SCENE as GOOD
from agent_scenes import NAME_ERROR_SCENE as BROKEN
from agent_scenes import code_reply as reply
from typer.testing import CliRunner

from manimatic.agent import RITL, Vanilla, generate
from manimatic.agent.genlog import (
    MIGRATIONS,
    NO_LOG_ENV,
    GenerationLog,
    LogError,
    default_log_path,
    logging_enabled,
)
from manimatic.cli import app
from manimatic.commands._common import UserError
from manimatic.llm.scripted import write_script


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "generations.sqlite"


def test_generate_logs_prompt_model_rounds_tokens_and_transcript(
    render_pool, log_file, tmp_path
) -> None:
    from manimatic.llm import get_backend

    script = tmp_path / "usage.jsonl"
    lines = [
        {"content": reply(BROKEN), "usage": {"prompt_tokens": 100, "completion_tokens": 40}},
        {"content": reply(GOOD), "usage": {"prompt_tokens": 150, "completion_tokens": 30}},
    ]
    script.write_text("".join(json.dumps(x) + "\n" for x in lines))
    backend = get_backend(f"scripted:{script}")
    out = generate(
        "Draw a circle, please.", backend, RITL(rounds=2), pool=render_pool, log=log_file
    )
    assert out.success
    with GenerationLog(log_file) as log:
        (entry,) = log.entries(transcripts=True)
    assert entry.prompt == "Draw a circle, please."
    assert entry.model == backend.spec and entry.strategy == "ritl"
    assert entry.strategy_args == {"rounds": 2}
    assert entry.protocol == "manimatic" and entry.source == "python"
    assert entry.status == "success" and entry.ok and entry.rounds == 2 and entry.calls == 2
    assert entry.code == out.code and entry.video == out.video
    totals = out.transcript.token_totals()
    assert entry.total_tokens == totals["total_tokens"] == 320
    assert (entry.prompt_tokens, entry.completion_tokens) == (250, 70)
    assert entry.duration_s is not None and entry.duration_s >= entry.llm_s >= 0
    assert entry.render_s > 0
    assert entry.transcript["rounds"][0]["result"]["ok"] is False
    assert entry.transcript == out.transcript.to_dict()


def test_the_protocol_is_logged_by_name(scripted, render_pool, log_file) -> None:
    generate("a circle", scripted(reply(GOOD)), Vanilla(), pool=render_pool, log=log_file,
             protocol="study")  # fmt: skip
    with GenerationLog(log_file) as log:
        assert log.entries(1)[0].protocol == "study"


def test_logged_by_default_and_opt_outs(scripted, render_pool, monkeypatch) -> None:
    monkeypatch.delenv(NO_LOG_ENV, raising=False)
    path = default_log_path()

    def count() -> int:
        if not path.exists():
            return 0
        with GenerationLog(path) as log:
            return log.count()

    before = count()
    generate("a circle", scripted(reply(GOOD)), Vanilla(), pool=render_pool)
    assert count() == before + 1  # on by default, in the user data dir
    generate("a circle", scripted(reply(GOOD)), Vanilla(), pool=render_pool, log=False)
    assert count() == before + 1
    monkeypatch.setenv(NO_LOG_ENV, "1")
    assert not logging_enabled()
    generate("a circle", scripted(reply(GOOD)), Vanilla(), pool=render_pool)
    assert count() == before + 1
    assert logging_enabled(True)
    monkeypatch.setenv(NO_LOG_ENV, "0")
    assert logging_enabled()


def test_failed_and_llm_error_runs_are_logged(scripted, render_pool, tmp_path, log_file) -> None:
    generate("x", scripted("no code at all"), Vanilla(), pool=render_pool, log=log_file)
    script = write_script(tmp_path / "err.jsonl", [])
    path = tmp_path / "err.jsonl"
    path.write_text(json.dumps({"error": "timeout", "message": "simulated"}) + "\n")
    from manimatic.llm import LLMError, get_backend

    with pytest.raises(LLMError):
        generate("y", get_backend(f"scripted:{script}"), Vanilla(), pool=render_pool, log=log_file)
    with GenerationLog(log_file) as log:
        newest, older = log.entries()
    assert newest.prompt == "y" and newest.status == "error" and not newest.ok
    assert "simulated" in newest.error
    assert older.status == "failed" and older.code == "" and older.rounds == 1


def test_unwritable_log_warns_once_and_keeps_the_generation(
    scripted, render_pool, tmp_path, capsys
) -> None:
    not_a_db = tmp_path / "junk.sqlite"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    out = generate("a circle", scripted(reply(GOOD)), Vanilla(), pool=render_pool, log=not_a_db)
    assert out.success
    err = capsys.readouterr().err
    assert "not logged" in err and NO_LOG_ENV in err and "Traceback" not in err


def test_log_schema_is_migrated_and_refuses_newer(log_file) -> None:
    GenerationLog(log_file).close()
    conn = sqlite3.connect(log_file)
    versions = [r[0] for r in conn.execute("SELECT version FROM migrations")]
    assert versions == [m[0] for m in MIGRATIONS]
    conn.execute("INSERT INTO migrations VALUES (99, 'future', 'now')")
    conn.commit()
    conn.close()
    with pytest.raises(LogError, match="newer"):
        GenerationLog(log_file)


def test_logs_command_lists_newest_first(scripted, render_pool, log_file, tmp_path) -> None:
    for prompt in ("first prompt", "second prompt", "third prompt"):
        generate(prompt, scripted(reply(GOOD)), Vanilla(), pool=render_pool, log=log_file)
    runner = CliRunner()
    res = runner.invoke(app, ["logs", "--db", str(log_file), "--json", "-n", "2"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["prompt"] for r in rows] == ["third prompt", "second prompt"]
    assert rows[0]["id"] > rows[1]["id"] and "transcript" not in rows[0]
    for key in ("model", "strategy", "protocol", "rounds", "code", "video", "total_tokens",
                "duration_s", "started", "finished", "status", "source"):  # fmt: skip
        assert key in rows[0]
    full = json.loads(
        runner.invoke(app, ["logs", "--db", str(log_file), "--json", "--transcripts"]).stdout
    )
    assert len(full) == 3 and full[0]["transcript"]["description"] == "third prompt"
    table = runner.invoke(app, ["logs", "--db", str(log_file)])
    assert table.exit_code == 0 and "third prompt" in table.stdout
    assert table.stdout.index("third prompt") < table.stdout.index("first prompt")
    missing = runner.invoke(app, ["logs", "--db", str(tmp_path / "none.sqlite")])
    assert isinstance(missing.exception, UserError) and missing.exception.exit_code == 2
    assert "no generation log" in str(missing.exception)
    negative = runner.invoke(app, ["logs", "-n", "-1"])
    assert isinstance(negative.exception, UserError) and "-n must be" in str(negative.exception)

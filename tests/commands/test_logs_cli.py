"""`manimatic generate` logs each run (source `cli`) unless `--no-log`; `manimatic logs` shows it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from manimatic.agent.genlog import NO_LOG_ENV, GenerationLog, default_log_path
from manimatic.cli import app
from manimatic.llm.scripted import write_script

GOOD = (
    "from manim import *\n\n\nclass LogCircle(Scene):\n    def construct(self):\n"
    "        self.play(Create(Circle(color=GREEN)), run_time=0.3)\n"
)


def _count() -> int:
    with GenerationLog() as log:
        return log.count()


def test_generate_cli_logs_and_no_log(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(NO_LOG_ENV, raising=False)
    runner = CliRunner()
    script = write_script(tmp_path / "r.jsonl", [f"<CODE>```python\n{GOOD}```</CODE>"] * 2)
    args = [
        "generate",
        "A green circle",
        "-m",
        f"scripted:{script}",
        "--strategy",
        "vanilla",
        "--json",
    ]
    before = _count()
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "a")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert _count() == before + 1
    with GenerationLog() as log:
        entry = log.entries(1)[0]
    assert entry.source == "cli" and entry.prompt == "A green circle" and entry.ok
    assert entry.video == json.loads(res.stdout)["video"]
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "b"), "--no-log"])
    assert res.exit_code == 0, res.output
    assert _count() == before + 1
    listed = json.loads(runner.invoke(app, ["logs", "--json", "-n", "1"]).stdout)
    assert listed[0]["id"] == entry.id and default_log_path().is_file()

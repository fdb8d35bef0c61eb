"""`manimatic generate --critic`: the flag reaches the strategy, and misuse is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from manimatic.cli import app
from manimatic.llm.scripted import write_script

OVERLAP = (
    "from manim import *\n\n\nclass CliOverlap(Scene):\n    def construct(self):\n"
    "        a = Text('first words', font_size=40)\n"
    "        b = Text('second words', font_size=40).shift(0.1 * DOWN)\n"
    "        self.add(a, b)\n        self.wait(0.6)\n"
)
FIXED = OVERLAP.replace("shift(0.1 * DOWN)", "shift(1.5 * DOWN)")


def reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


def invoke(*args: str):
    return CliRunner().invoke(app, ["generate", *args], catch_exceptions=False)


@pytest.mark.slow
def test_critic_flag_fixes_the_layout_and_reports_it(tmp_path: Path) -> None:
    script = write_script(tmp_path / "replies.jsonl", [reply(OVERLAP), reply(FIXED)])
    transcript = tmp_path / "run.json"
    result = invoke(
        "Two lines of text.", "-m", f"scripted:{script}", "--strategy", "ritl", "--critic",
        "--out", str(tmp_path / "out"), "--transcript", str(transcript), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["ok"] and payload["rounds"] == 2
    assert payload["kept_attempt"] == 2 and payload["findings"] == []
    record = json.loads(transcript.read_text())
    assert record["strategy"]["critic"] == 2  # --critic alone: the default rounds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--strategy", "vanilla", "--critic"],
            "vanilla makes one attempt and takes no critic rounds",
        ),
        (["--strategy", "ritl", "--critic-rounds", "1"], "--critic-rounds goes with --critic"),
        (["--strategy", "ritl", "--critic", "--critic-rounds", "-1"], "critic must be an int"),
    ],
)
def test_critic_misuse_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    script = write_script(tmp_path / "replies.jsonl", [reply(OVERLAP)])
    result = invoke("Two lines of text.", "-m", f"scripted:{script}", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output

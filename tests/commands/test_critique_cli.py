"""`manimatic critique`: one JSON object per file, exact kinds, bad input as a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from manimatic.cli import app

SCENES = Path(__file__).parents[1] / "critic" / "scenes"


@pytest.mark.slow
def test_critique_json_one_object_per_file(tmp_path):
    missing = tmp_path / "missing.py"
    files = [SCENES / "overlap_two_texts.py", SCENES / "clean_label_in_box.py", missing]
    result = CliRunner().invoke(
        app, ["critique", "--json", "--workers", "2", *map(str, files)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["file"] for r in lines] == [str(f) for f in files]
    defective, clean, bad = lines
    assert {"file", "ok", "findings"} <= set(defective)
    assert defective["ok"] is False
    assert [f["kind"] for f in defective["findings"]] == ["overlap"]
    assert set(defective["findings"][0]) == {"kind", "time", "objects", "message", "suggestion"}
    assert clean["ok"] is True and clean["findings"] == []
    assert (
        bad["ok"] is False
        and bad["rendered"] is False
        and "no such file" in bad["error"]["message"]
    )


def test_critique_rejects_a_bad_quality():
    result = CliRunner().invoke(app, ["critique", "--quality", "z", "x.py"])
    assert result.exit_code == 2
    assert "--quality" in result.output


def test_human_output_drops_control_codes_the_job_wrote():
    """Findings and render errors quote the job's text: printed without terminal control codes."""
    from manimatic.commands._common import console
    from manimatic.commands.critique import _print_human

    hostile = "Text('\x1b]0;owned\x07hi\x1b[2J') [/] overlaps"
    finding = {"kind": "overlap", "time": 1.0, "message": hostile, "suggestion": "move \x1b[8m it"}
    failed = {"file": "a\x1b[1m.py", "rendered": False, "error": {"line": 3, "category": "name",
              "message": "boom \x1b[31m"}}  # fmt: skip
    with console.capture() as captured:
        _print_human({"file": "a.py", "rendered": True, "ok": False, "findings": [finding]})
        _print_human(failed)
    text = captured.get()
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\x1b[8m" not in text
    assert "\x1b[31m" not in text and "\x1b[1m.py" not in text
    assert "overlaps" in text and "boom" in text and "[/]" in text

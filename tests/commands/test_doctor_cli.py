"""`manimatic doctor` reports every check, and a real test render, as JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from manimatic.cli import app


def test_doctor_json_lists_checks_with_fixes():
    result = CliRunner().invoke(app, ["doctor", "--json"])
    checks = json.loads(result.stdout)
    names = {c["name"] for c in checks}
    assert {"manim", "latex", "bubblewrap sandbox", "test render"} <= names
    for check in checks:
        assert set(check) == {"name", "ok", "detail", "fix", "required"}
        if not check["ok"]:
            assert check["fix"]
    render = next(c for c in checks if c["name"] == "test render")
    assert render["ok"], render
    assert result.exit_code == (0 if all(c["ok"] for c in checks if c["required"]) else 1)

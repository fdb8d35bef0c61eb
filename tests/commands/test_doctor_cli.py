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


def test_metric_weights_say_what_their_absence_means(tmp_path, monkeypatch):
    from manimatic.commands.doctor import _clip, _codebert

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MANIMATIC_CLIP_PATH", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MANIMATIC_CODEBERT_PATH", str(tmp_path / "nowhere"))
    clip, codebert = _clip(), _codebert()
    assert not clip.ok and not clip.required and "SSIM term only" in clip.detail
    assert "MANIMATIC_CLIP_PATH" in clip.fix and "openai/clip-vit-large-patch14" in clip.fix
    assert not codebert.ok and "CBB are null" in codebert.detail
    assert "MANIMATIC_CODEBERT_PATH" in codebert.fix

    (tmp_path / "clip").mkdir()
    monkeypatch.setenv("MANIMATIC_CLIP_PATH", str(tmp_path / "clip"))
    found = _clip()
    assert found.ok and "$MANIMATIC_CLIP_PATH" in found.detail
    names = {c["name"] for c in json.loads(CliRunner().invoke(app, ["doctor", "--json"]).stdout)}
    assert {"CLIP weights", "CodeBERT weights"} <= names

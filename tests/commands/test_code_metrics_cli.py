"""`manimatic code-metrics GEN REF [--protocol] [--json]` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from manimatic.cli import app

KEYS = {"codebleu", "codebleu_components", "ast_distance", "syntax_error", "codebert", "cbb"}


@pytest.fixture(autouse=True)
def _no_codebert(monkeypatch, tmp_path):
    from manimatic.metrics import code

    monkeypatch.setattr(code, "_default_cache", {})
    monkeypatch.setenv(code.CODEBERT_PATH_ENV, str(tmp_path / "no-codebert-here"))


def run(*args: str):
    return CliRunner().invoke(app, ["code-metrics", *args])


def _files(tmp_path, gen: str, ref: str):
    g, r = tmp_path / "gen.py", tmp_path / "ref.py"
    g.write_text(gen)
    r.write_text(ref)
    return str(g), str(r)


def test_json_under_each_protocol(tmp_path):
    gen, ref = _files(tmp_path, "c = Square()\n", "c = Circle()\n")
    study = run(gen, ref, "--protocol", "study", "--json")
    assert study.exit_code == 0, study.output
    data = json.loads(study.output)
    assert set(data) == KEYS
    assert data["ast_distance"] == pytest.approx(0.1) and data["syntax_error"] is False
    assert data["codebert"] is None and data["cbb"] is None
    ours = json.loads(run(gen, ref, "--json").output)
    assert ours["ast_distance"] == pytest.approx(0.2)
    assert ours["codebleu"] == data["codebleu"]  # CodeBLEU is the same package in both


def test_empty_generation(tmp_path):
    gen, ref = _files(tmp_path, "\n", "c = Circle()\n")
    study = json.loads(run(gen, ref, "--protocol", "study", "--json").output)
    assert (study["codebleu"], study["syntax_error"], study["ast_distance"]) == (0.0, True, None)
    # ours: the scoring core's rule, 0 on every similarity but not a syntax error
    ours = json.loads(run(gen, ref, "--json").output)
    assert ours["codebleu"] == 0.0 and ours["syntax_error"] is False


def test_table_output(tmp_path):
    gen, ref = _files(tmp_path, "c = Square()\n", "c = Circle()\n")
    res = run(gen, ref, "--protocol", "study")
    assert res.exit_code == 0, res.output
    assert "CodeBLEU" in res.output and "AST distance" in res.output and "study" in res.output
    assert "no CodeBERT" in res.output


def test_bad_input_is_one_clear_line(tmp_path):
    from manimatic.cli import main  # noqa: F401 - the CLI boundary turns UserError into a line

    gen, ref = _files(tmp_path, "x = 1\n", "y = 2\n")
    res = run(str(tmp_path / "missing.py"), ref)
    assert res.exit_code != 0 and "no such file" in str(res.exception)
    res = run(gen, ref, "--protocol", "paper")
    assert res.exit_code != 0 and "unknown protocol" in str(res.exception)

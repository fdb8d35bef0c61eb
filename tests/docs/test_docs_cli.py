"""`manimatic docs search|show` through the real app."""

from __future__ import annotations

import inspect
import json
import sys

import manim
import pytest
from typer.testing import CliRunner

from manimatic.cli import app, main
from manimatic.commands._common import UserError

runner = CliRunner()


def test_search_json(docs_home):
    query = "NameError: name 'ShowCreation' is not defined"
    result = runner.invoke(app, ["docs", "search", query, "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert set(hits[0]) == {"name", "signature", "summary", "score"}
    assert "Create" in [h["name"] for h in hits]


def test_search_table(docs_home):
    result = runner.invoke(app, ["docs", "search", "Axes plot", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "Axes.plot" in result.stdout


def test_show_prints_signature_and_doc_without_examples(docs_home):
    result = runner.invoke(app, ["docs", "show", "Create"])
    assert result.exit_code == 0, result.output
    assert "Create" + str(inspect.signature(manim.Create)) in result.stdout
    assert "Incrementally show a VMobject." in result.stdout
    assert "Examples" not in result.stdout


def test_show_json_inherited_member(docs_home):
    result = runner.invoke(app, ["docs", "show", "Axes.plot", "--json"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry["name"] == "Axes.plot" and entry["qualname"] == "CoordinateSystem.plot"
    assert "Examples" not in entry["doc"]


def test_show_unknown_name_is_a_user_error_with_close_matches(docs_home):
    result = runner.invoke(app, ["docs", "show", "ShowCreation"])
    assert isinstance(result.exception, UserError)
    assert result.exception.exit_code == 2
    assert "Did you mean: Create" in str(result.exception)


def test_show_unknown_name_exits_2_from_the_entry_point(docs_home, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["manimatic", "docs", "show", "Cirle"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Cirle" in err and "Circle" in err

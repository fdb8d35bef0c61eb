"""`Condition`: one object for a run's settings, checked in one place, shared with the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from manimatic.bench import BenchConfig, BenchError, Condition, run_bench, run_matrix
from manimatic.cli import app
from manimatic.commands._common import UserError
from manimatic.commands.bench_options import DATASET, EXECUTION, SAMPLING, STRATEGY
from manimatic.render.quality import QUALITIES, check_quality


def test_defaults_and_normalisation() -> None:
    c = Condition(model="  scripted:x.jsonl ", types=[], workers=None, timeout=30)
    assert c.model == "scripted:x.jsonl" and c.types is None and c.workers == 4
    assert c.timeout == 30.0 and isinstance(c.timeout, float)
    assert c.is_generating
    assert not Condition(model="reference").is_generating
    assert not Condition(generations="x.jsonl").is_generating
    assert BenchConfig is Condition


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"quality": "z"}, "quality must be one of l, m, h, p, k"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": "soon"}, "timeout must be positive"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"render_workers": 0}, "render workers must be at least 1"),
        ({"limit": 0}, "limit must be a positive number"),
    ],
)
def test_bad_settings_are_refused_in_one_place(changes: dict, needle: str) -> None:
    with pytest.raises(BenchError, match=needle):
        Condition(**changes)
    with pytest.raises(BenchError, match=needle):
        Condition().replace(**changes)  # replace checks again
    with pytest.raises(BenchError, match=needle):
        run_bench("unused.jsonl", "reference", **changes)
    with pytest.raises(BenchError, match=needle):
        run_matrix("unused.jsonl", {"a": "reference"}, ["vanilla"], **changes)


def test_unknown_setting_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unknown benchmark setting.*qualty"):
        run_bench("unused.jsonl", "reference", qualty="l")


def test_one_quality_set() -> None:
    from manimatic.render import worker

    assert set(QUALITIES) == set(worker.QUALITIES)  # the sandbox's own table, kept in step
    for letter in QUALITIES:
        assert check_quality(letter) == letter
    with pytest.raises(ValueError, match="got 'x'"):
        check_quality("x")


def test_cli_groups_cover_condition_fields() -> None:
    """Every shared flag either sets a Condition field or is handled by name."""
    fields = Condition.field_names()
    handled = {"db", "no_doc_pass", "embedders", "temperature", "top_p", "max_tokens", "seed"}
    handled |= {"critic", "critic_rounds"}  # --critic [--critic-rounds K] -> Condition.critic
    for option in DATASET + STRATEGY + SAMPLING + EXECUTION:
        assert option.field in fields or (option.field is None and option.name in handled)


@pytest.mark.parametrize("command", ["run", "matrix"])
def test_cli_quality_error_is_one_line(command: str) -> None:
    args = ["bench", command, "-m", "a=reference", "-q", "z"]
    if command == "matrix":
        args += ["--strategy", "vanilla"]
    with pytest.raises(UserError, match="quality must be one of") as info:
        CliRunner().invoke(app, args, catch_exceptions=False)
    assert info.value.exit_code == 2

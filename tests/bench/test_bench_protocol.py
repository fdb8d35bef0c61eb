"""`--protocol` and `--prompts` in the bench: the Condition, the run record, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scenes import CIRCLE, NO_EMBEDDERS, SQUARE, scene, write_jsonl
from typer.testing import CliRunner

from manimatic.bench import BenchError, Condition, Store, run_bench
from manimatic.bench.report import build_report
from manimatic.cli import app
from manimatic.commands.bench_options import PROTOCOL


def test_condition_resolves_timeouts_from_the_protocol() -> None:
    ours, study = Condition(), Condition(protocol="study")
    assert (ours.render_timeout, ours.ref_timeout) == (120.0, 300.0)
    assert (study.render_timeout, study.ref_timeout) == (300.0, 300.0)
    given = Condition(protocol="study", timeout=30, reference_timeout=400)
    assert (given.render_timeout, given.ref_timeout) == (30.0, 400.0)
    # replace keeps "unset" unset, so a template's protocol change moves its defaults too
    assert ours.replace(protocol="study").render_timeout == 300.0
    assert study.prompt_set.name == "study" and ours.prompt_set.name == "manimatic"
    assert all(o.field in Condition.field_names() for o in PROTOCOL)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"protocol": "paper"}, "unknown protocol"),
        ({"prompts": "/no/such.yaml"}, "prompt file /no/such.yaml not found"),
        ({"reference_timeout": -1}, "reference timeout must be positive"),
    ],
)
def test_bad_protocol_settings(changes: dict, needle: str) -> None:
    with pytest.raises(BenchError, match=needle):
        Condition(**changes)


def _reply(code: str) -> str:
    return f"<CODE>```python\n{code}```</CODE>"


def test_study_run_records_and_reports_its_protocol(
    tasks_file, render_pool, db_path, tmp_path: Path
) -> None:
    nonce = "protocol-run"
    dataset = tasks_file({"a": CIRCLE, "b": SQUARE}, nonce=nonce)
    # b's reply is only in a ```py fence: code for our extraction, nothing for the study's.
    replies = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {"content": _reply(scene(CIRCLE, nonce))},
            {"content": "```py\n" + scene(SQUARE, nonce) + "```"},
        ]
        * 2,
    )
    common = dict(db=db_path, pool=render_pool, workers=1, **NO_EMBEDDERS)
    study = run_bench(str(dataset), f"scripted:{replies}", "vanilla", protocol="study", **common)
    assert study.protocol == "study" and study.done == 2 and study.ok == 1
    ours = run_bench(str(dataset), f"scripted:{replies}", "vanilla", **common)
    assert ours.protocol == "manimatic" and ours.ok == 2
    assert ours.run_id != study.run_id  # the protocol is part of the identity
    with Store(db_path) as store:
        run = store.get_run(study.run_id)
        assert run.protocol == "study" and run.identity["protocol"] == "study"
        assert run.options["protocol"]["feedback"] == "stderr_tail"
        assert run.options["timeout"] == 300.0 and run.options["reference_timeout"] == 300.0
        assert run.options["prompts"]["name"] == "study"
        rows = {r["task_id"]: r for r in store.results(study.run_id, heavy=True)}
        assert rows["b"]["syntax_error"] and rows["b"]["codebleu"] == 0.0  # empty generation
        assert rows["a"]["transcript"]["protocol"]["name"] == "study"
        default = store.get_run(ours.run_id)
        assert "protocol" not in default.identity  # default runs keep their ids
        assert default.options["timeout"] == 120.0
        report = build_report(store, [study.run_id, ours.run_id])
    assert any("Protocol differs between runs" in n for n in report.notes)
    assert {c.summary()["protocol"] for c in report.conditions} == {"study", "manimatic"}


def test_prompts_file_is_part_of_the_identity(tasks_file, render_pool, db_path, tmp_path):
    nonce = "prompts-run"
    dataset = tasks_file({"a": CIRCLE}, nonce=nonce)
    replies = write_jsonl(tmp_path / "r.jsonl", [{"content": _reply(scene(CIRCLE, nonce))}] * 2)
    prompts = tmp_path / "p.yaml"
    prompts.write_text(
        "system: MY SYSTEM\nuser: '{{ description }}'\nfeedback_user: F\ndoc_user: D\n"
        "doc_feedback_user: DF\n"
    )
    common = dict(db=db_path, pool=render_pool, workers=1, **NO_EMBEDDERS)
    mine = run_bench(str(dataset), f"scripted:{replies}", prompts=str(prompts), **common)
    plain = run_bench(str(dataset), f"scripted:{replies}", **common)
    assert mine.run_id != plain.run_id
    with Store(db_path) as store:
        (row,) = store.results(mine.run_id, heavy=True)
    first = row["transcript"]["rounds"][0]["messages"]
    assert first[0]["content"] == "MY SYSTEM"  # the template reached the model


def test_cli_protocol_flags(tasks_file, db_path, tmp_path) -> None:
    dataset = tasks_file({"a": CIRCLE}, nonce="cli-protocol")
    gens = write_jsonl(tmp_path / "g.jsonl", [{"id": "a", "code": ""}])
    res = CliRunner().invoke(
        app,
        ["bench", "run", "--dataset", str(dataset), "--generations", str(gens), "--db",
         str(db_path), "--protocol", "study", "--no-embedders", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["protocol"] == "study"
    with Store(db_path) as store:
        (row,) = store.results(summary["run_id"])
    assert row["codebleu"] == 0.0 and row["syntax_error"]
    res = CliRunner().invoke(app, ["bench", "run", "-m", "reference", "--protocol", "paper"])
    assert res.exit_code != 0 and "unknown protocol" in str(res.exception)


def test_matrix_runs_every_condition_under_the_templates_protocol(tasks_file, render_pool, db_path):
    from manimatic.bench import run_matrix

    dataset = tasks_file({"a": CIRCLE}, nonce="matrix-protocol")
    template = Condition(dataset=str(dataset), protocol="study", workers=1, **NO_EMBEDDERS)
    result = run_matrix(template, {"ref": "reference"}, ["vanilla"], db=db_path, pool=render_pool)
    (summary,) = result.runs
    assert summary.protocol == "study" and summary.ok == 1
    with Store(db_path) as store:
        run = store.get_run(summary.run_id)
    assert run.options["reference_timeout"] == 300.0 and run.options["prompts"] is None

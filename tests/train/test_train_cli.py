"""`manimatic train sft|grpo` as a user runs it: the tiny CPU configs end to end, flags, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import REPO

from manimatic.cli import app

CPU = ["--bf16", "false", "--use-cpu", "true"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("manimatic")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # two busy cores: one torch thread is much faster
    }
    return subprocess.run(
        [str(exe), "train", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.slow
def test_tiny_recipes_end_to_end(tmp_path):
    sft_dir, grpo_dir = tmp_path / "sft", tmp_path / "grpo"
    sft = run_cli(
        "sft", "--config", str(REPO / "configs" / "sft_tiny_cpu.yaml"),
        "--output-dir", str(sft_dir), "--num-train-epochs", "1", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert sft.returncode == 0, sft.stderr[-3000:]
    result = json.loads(sft.stdout.strip().splitlines()[-1])
    assert result["kind"] == "sft" and result["metrics"]["steps"] == 2  # flag beat the file's 2
    assert result["model_spec"] == f"hf:{sft_dir / 'tiny-model'}@{sft_dir / 'adapter'}"
    for name in ("config.yaml", "run.json", "metrics.jsonl", "adapter/adapter_config.json"):
        assert (sft_dir / name).is_file(), name
    assert "num_train_epochs: 1" in (sft_dir / "config.yaml").read_text()

    grpo = run_cli(
        "grpo", "--config", str(REPO / "configs" / "grpo_tiny_cpu.yaml"),
        "--output-dir", str(grpo_dir), "--init-adapter", result["adapter_dir"], "--max-steps", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert grpo.returncode == 0, grpo.stderr[-3000:]
    assert "manimatic train grpo: done" in grpo.stdout
    assert f"--model hf:{sft_dir / 'tiny-model'}@{grpo_dir / 'adapter'}" in grpo.stdout
    record = json.loads((grpo_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["explicit"]["max_steps"] == 1
    rows = [json.loads(x) for x in (grpo_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("reward_components/visual" in r for r in rows)


def test_dry_run_prints_the_resolved_values():
    from typer.testing import CliRunner

    res = CliRunner().invoke(
        app,
        ["train", "grpo", "--config", str(REPO / "configs" / "grpo_study.yaml"), "--dry-run",
         "--json", "--learning-rate", "1e-6", *CPU],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    values = json.loads(res.stdout.strip().splitlines()[-1])
    assert values["learning_rate"] == 1e-6 and values["beta"] == 0.005
    assert values["model"].startswith("Qwen/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sft", "--model", "tiny", "--dataset-split", "test", *CPU], "evaluation split"),
        (["grpo", "--model", "tiny", "--no-such-flag", "1", *CPU], "unknown option"),
        (["grpo", "--model", "tiny", "--reward-visual-weight", "-1", *CPU], "must be >= 0"),
    ],
)
def test_config_errors_are_one_line(args, message):
    from typer.testing import CliRunner

    from manimatic.commands._common import UserError

    res = CliRunner().invoke(app, ["train", *args, "--dry-run"])
    assert isinstance(res.exception, UserError), res.output
    assert message in str(res.exception)


def test_help_fields_lists_ours_and_trls():
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["train", "grpo", "--help-fields"])
    assert res.exit_code == 0
    for flag in ("--reward-code-weight", "--render-timeout", "--num-generations", "--use-vllm"):
        assert flag in res.stdout


@pytest.mark.parametrize("kind", ["sft", "grpo"])
def test_dry_run_of_a_gpu_recipe_works_on_a_cpu_machine(kind):
    """The study recipes ask for bf16; resolving them needs no GPU (nothing is trained)."""
    from typer.testing import CliRunner

    config = str(REPO / "configs" / f"{kind}_study.yaml")
    res = CliRunner().invoke(app, ["train", kind, "--config", config, "--dry-run", "--json"])
    assert res.exit_code == 0, res.output
    values = json.loads(res.stdout.strip().splitlines()[-1])
    assert values["bf16"] is True  # printed as the recipe asks, not as this machine could run


def test_missing_config_is_said_before_torch_is_imported(tmp_path):
    """`train sft --config typo.yaml` answers in about a second: no torch import first."""
    code = (
        "import sys; from manimatic.cli import main\n"
        "sys.argv = ['manimatic', 'train', 'sft', '--config', 'typo.yaml']\n"
        "try:\n    main()\nexcept SystemExit as e:\n"
        "    print('torch' in sys.modules, e.code, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert "typo.yaml does not exist" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "False 2", proc.stderr
    (tmp_path / "adir").mkdir()
    res = run_cli("sft", "--config", "adir", cwd=tmp_path)
    assert res.returncode == 2 and "is a directory" in res.stderr and "Traceback" not in res.stderr


def test_abbreviated_flags_are_refused():
    from typer.testing import CliRunner

    from manimatic.commands._common import UserError

    res = CliRunner().invoke(
        app, ["train", "sft", "--model", "tiny", "--learning-rat", "1e-6", "--dry-run", *CPU]
    )
    assert isinstance(res.exception, UserError), res.output
    assert "unknown option(s): --learning-rat" in str(res.exception)


def test_model_not_set_says_which_flag_to_give():
    from typer.testing import CliRunner

    from manimatic.commands._common import UserError

    res = CliRunner().invoke(app, ["train", "sft", "--model", "", "--dry-run", *CPU])
    assert isinstance(res.exception, UserError), res.output
    text = str(res.exception)
    assert "model is not set: pass --model" in text and "(model:" not in text


def test_bad_training_input_is_one_line_and_a_bug_surfaces(tmp_path, monkeypatch):
    """TrainError (bad input) becomes one line; any other exception surfaces as the bug it is,
    with its traceback in OUTPUT_DIR/error.log and run.json pointing there."""
    from typer.testing import CliRunner

    from manimatic.commands._common import UserError
    from manimatic.train import sft as sft_module

    out = tmp_path / "run"
    base = ["train", "sft", "--model", "tiny", "--output-dir", str(out), *CPU]
    missing = tmp_path / "none.jsonl"
    res = CliRunner().invoke(app, [*base, "--dataset", str(missing)])
    assert isinstance(res.exception, UserError), res.output
    assert "none.jsonl" in str(res.exception) and "error.log" not in str(res.exception)

    def broken(*args, **kwargs):
        from manimatic.train.runlog import RunRecorder

        recorder = RunRecorder(args[0], "sft")
        recorder.start()
        with recorder.running():
            raise ValueError("a deep bug")  # a plain ValueError is not bad input

    monkeypatch.setattr(sft_module, "run_sft", broken)
    res = CliRunner().invoke(app, [*base, "--dataset", str(missing)])
    assert isinstance(res.exception, ValueError) and not isinstance(res.exception, UserError)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "failed" and record["error"] == "ValueError: a deep bug"
    log = Path(record["error_log"]).read_text()
    assert "Traceback" in log and "a deep bug" in log

"""`manimatic study`: the chain on the tiny model, killed with -9 and resumed, and config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from manimatic.cli import app
from manimatic.commands._common import UserError
from manimatic.study import StudyError, parse_study_config

CIRCLE = """from manim import *


class BlueCircle(Scene):
    def construct(self):
        self.play(Create(Circle(radius=1.5, color=BLUE)), run_time=0.5)
"""
SQUARE = """from manim import *


class RedSquare(Scene):
    def construct(self):
        self.add(Square(side_length=2, color=RED).shift(LEFT * 2))
"""

CPU = {"use_cpu": True, "bf16": False, "activation_checkpointing": False, "report_to": "none",
       "logging_steps": 1}  # fmt: skip
CONFIG = {
    "name": "tiny-test",
    "model": "tiny",
    "dataset": "tasks.jsonl",
    "sft": {**CPU, "max_length": 1024, "max_steps": 4, "per_device_train_batch_size": 1,
            "per_device_eval_batch_size": 1, "learning_rate": 5e-3, "warmup_steps": 0,
            "validation_fraction": 0.34, "eval_strategy": "steps", "eval_steps": 2,
            "save_strategy": "steps", "save_steps": 2, "save_total_limit": 2},
    "grpo": {**CPU, "max_steps": 2, "per_device_train_batch_size": 2, "num_generations": 2,
             "num_iterations": 1, "max_completion_length": 8, "learning_rate": 1e-4,
             "save_strategy": "steps", "save_steps": 1, "code_embedder": "none",
             "image_embedder": "none", "render_workers": 1, "render_timeout": 30},
    "grpo_variants": {"grpo": {"reward_shaping": "study"},
                      "grpo-staged": {"reward_shaping": "staged"}},
    "eval": {"tasks": 2, "strategies": ["vanilla", "ritl"], "rounds": 1, "max_tokens": 8,
             "workers": 1, "render_workers": 1, "timeout": 30, "embedders": False},
    "report": {"frames": 1},
}  # fmt: skip


def write_study(tmp_path: Path, **changes) -> Path:
    rows = [("tr-a", "A blue circle.", CIRCLE, "train"), ("tr-b", "A red square.", SQUARE, "train"),
            ("tr-c", "A circle.", CIRCLE, "train"), ("te-a", "Draw a circle.", CIRCLE, "test"),
            ("te-b", "Draw a square.", SQUARE, "test"), ("te-c", "A square.", SQUARE, "test")]  # fmt: skip
    with (tmp_path / "tasks.jsonl").open("w") as fh:
        for tid, prompt, code, split in rows:
            tags = {"split": split, "type": "Basic"}
            fh.write(
                json.dumps({"id": tid, "prompt": prompt, "reference_code": code, "tags": tags})
            )
            fh.write("\n")
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, **changes}))
    return path


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "manimatic.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def state(directory: Path) -> dict:
    return json.loads((directory / "state.json").read_text())


@pytest.mark.slow
def test_study_runs_to_a_report_and_resumes_after_kill_9(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    config = write_study(tmp_path)
    directory = tmp_path / "study"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
    args = ["study", "run", "--config", str(config), "--dir", str(directory)]
    proc = subprocess.Popen([sys.executable, "-m", "manimatic.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    # Kill -9 as soon as SFT is done: the next stage (GRPO) is under way or about to start.
    while time.time() < deadline and proc.poll() is None:
        path = directory / "state.json"
        if path.is_file() and state(directory)["stages"]["sft"]["status"] == "done":
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the study ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = state(directory)
    sft_done = first["stages"]["sft"]
    assert sft_done["status"] == "done"
    sft_lines = (directory / "sft" / "metrics.jsonl").read_text().count("\n")

    status = cli("study", "status", "--config", str(config), "--dir", str(directory), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["done"] is False  # interrupted, not done

    resumed = cli(*args, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "sft: done, skipped" in resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["done"] and list(data["stages"]) == ["sft", "grpo", "grpo-staged", "eval", "report"]
    # SFT was not repeated: same record, no new training rows.
    assert data["stages"]["sft"]["finished"] == sft_done["finished"]
    assert data["stages"]["sft"]["attempts"] == 1
    assert (directory / "sft" / "metrics.jsonl").read_text().count("\n") == sft_lines
    # GRPO started from the SFT adapter; each variant with its own reward.
    for label, shaping in (("grpo", "study"), ("grpo-staged", "staged")):
        run = json.loads((directory / label / "run.json").read_text())
        assert run["reward"]["shaping"] == shaping
        assert Path(run["config"]["init_adapter"]) == Path(sft_done["result"]["adapter_dir"])
    # The matrix: 4 models x 2 strategies on the fixed subset of 2 test tasks, never a train one.
    runs = data["stages"]["eval"]["result"]["runs"]
    assert len(runs) == 8 and all(r["status"] == "done" and r["total"] == 2 for r in runs)
    subset = json.loads((directory / "test_subset.json").read_text())["ids"]
    assert len(subset) == 2 and all(t.startswith("te-") for t in subset)
    report = data["stages"]["report"]["result"]
    md = Path(report["study_md"]).read_text()
    for title in ("Stages", "Results with 95% bootstrap intervals", "Paired comparisons",
                  "The study's claims on this run", "Code vs visual", "Render attempts used"):  # fmt: skip
        assert title in md
    assert "sft / vanilla" in md and "grpo-staged / ritl" in md
    assert Path(report["html"]).is_file() and Path(report["study_html"]).is_file()

    # Done: the same command again does nothing; --from report redoes only the report.
    again = cli(*args, "--json")
    assert again.returncode == 0
    stages = json.loads(again.stdout)["stages"]
    assert all(stages[k]["attempts"] == data["stages"][k]["attempts"] for k in stages)
    redo = cli(*args, "--from", "report", "--json")
    stages = json.loads(redo.stdout)["stages"]
    assert stages["report"]["attempts"] == 1 and stages["report"]["status"] == "done"
    assert stages["eval"]["finished"] == data["stages"]["eval"]["finished"]
    assert any((directory / "redo").iterdir())  # the old report was moved aside, not deleted


def test_config_errors_are_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="unknown key"):
        parse_study_config({**CONFIG, "epochs": 2})
    with pytest.raises(StudyError, match="output_dir"):
        parse_study_config({**CONFIG, "sft": {"output_dir": "x"}})
    with pytest.raises(StudyError, match="variant label"):
        parse_study_config({**CONFIG, "grpo_variants": {"base": {}}})
    with pytest.raises(StudyError, match="strategies"):
        parse_study_config({**CONFIG, "eval": {"strategies": ["cot"]}})
    with pytest.raises(StudyError, match="model"):
        parse_study_config({k: v for k, v in CONFIG.items() if k != "model"})
    config = parse_study_config(CONFIG)
    assert config.stages == ["sft", "grpo", "grpo-staged", "eval", "report"]
    assert config.labels == ["base", "sft", "grpo", "grpo-staged"]
    runner = CliRunner()
    with pytest.raises(UserError, match="not found"):
        runner.invoke(app, ["study", "run", "--config", str(tmp_path / "none.yaml")],
                      catch_exceptions=False)  # fmt: skip
    path = write_study(tmp_path)
    with pytest.raises(UserError, match="no study in"):
        runner.invoke(app, ["study", "status", "--config", str(path), "--dir", str(tmp_path / "s")],
                      catch_exceptions=False)  # fmt: skip
    with pytest.raises(UserError, match="unknown stage"):
        runner.invoke(app, ["study", "run", "--config", str(path), "--dir", str(tmp_path / "s"),
                            "--from", "nope"], catch_exceptions=False)  # fmt: skip


def test_shipped_study_configs_parse() -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    for name in ("study_tiny_cpu.yaml", "study_paper.yaml"):
        config = parse_study_config(yaml.safe_load((root / name).read_text()), source=root / name)
        assert config.eval.strategies == ["vanilla", "ritl", "ritl-doc"]
        assert {"grpo", "grpo-staged"} <= set(config.grpo_variants)


def test_tiny_cpu_training_fields_are_valid_train_configs(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from manimatic.train.config import ManimGRPOConfig, ManimSFTConfig

    root = Path(__file__).resolve().parents[2] / "configs"
    config = parse_study_config(yaml.safe_load((root / "study_tiny_cpu.yaml").read_text()))
    sft = ManimSFTConfig(**{**config.train_fields("sft"), "output_dir": str(tmp_path / "s")})
    assert sft.max_steps == 40 and sft.gradient_accumulation_steps == 4
    for label in config.grpo_variants:
        fields = {**config.train_fields(label), "output_dir": str(tmp_path / label)}
        grpo = ManimGRPOConfig(**fields)
        assert grpo.reward_shaping == config.grpo_variants[label]["reward_shaping"]


@pytest.mark.slow
def test_an_interrupted_training_stage_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import shutil

    from manimatic.study import load_study_config, run_study

    config = load_study_config(write_study(tmp_path))
    directory = tmp_path / "study"
    first = run_study(config, directory, until="sft", progress=False)
    steps = first.stages["sft"].result["metrics"]["steps"]
    # What a kill -9 in the middle of SFT leaves: checkpoints, no adapter, the stage "running".
    data = state(directory)
    data["stages"]["sft"]["status"] = "running"
    (directory / "state.json").write_text(json.dumps(data))
    shutil.rmtree(directory / "sft" / "adapter")
    lines: list[str] = []
    again = run_study(config, directory, until="sft", progress=False, say=lines.append)
    sft = again.stages["sft"]
    assert "sft: resuming" in lines and sft.status == "done" and sft.attempts == 2
    assert sft.result["resumed_from"] == str(directory / "sft" / f"checkpoint-{steps}")
    assert sft.result["metrics"]["steps"] == steps  # continued, not started over
    assert again.stages["grpo"].status == "pending"  # --until stopped after sft

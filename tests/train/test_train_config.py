"""Config classes: study defaults, validation rules, YAML + flag parsing, shipped config files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from train_helpers import REPO, cpu_args

from manimatic.train.config import ManimGRPOConfig, ManimSFTConfig, parse_config

CPU_FLAGS = ["--bf16", "false", "--use-cpu", "true"]


def test_sft_defaults_are_the_study_settings(tmp_path):
    c = ManimSFTConfig(**cpu_args(output_dir=str(tmp_path)))
    assert (c.lora_r, c.lora_alpha, c.lora_dropout) == (8, 16, 0.0)
    assert set(c.lora_target_modules) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    assert c.learning_rate == 2e-6 and c.num_train_epochs == 2 and c.max_length == 2048
    assert c.per_device_train_batch_size * c.gradient_accumulation_steps == 16
    assert (
        str(
            c.lr_scheduler_type.value
            if hasattr(c.lr_scheduler_type, "value")
            else c.lr_scheduler_type
        )
        == "linear"
    )
    assert c.warmup_steps == 0.1
    assert c.completion_only_loss is True
    assert c.load_best_model_at_end and c.metric_for_best_model == "eval_loss"
    assert c.dataset_split == "train" and 0 < c.validation_fraction < 0.5


def test_grpo_defaults_are_the_study_settings(tmp_path):
    c = ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path)))
    assert c.num_generations == 8 and c.num_iterations == 4
    assert (c.beta, c.epsilon, c.learning_rate) == (0.005, 0.2, 5e-7)
    assert (c.temperature, c.top_p, c.min_p) == (0.9, 0.9, 0.1)
    assert c.max_completion_length == 1639
    assert c.loss_type == "dr_grpo"
    # 2 prompts a step: the generation batch holds 16 completions = 2 groups of G=8.
    assert c.generation_batch_size // c.num_generations == 2
    assert c.reward_weight_map() == {"code": 0.2, "visual": 0.8, "render": 0.0, "format": 0.0}
    assert c.reward_combination == "arithmetic" and c.visual_reward == "vs"


@pytest.mark.parametrize(
    ("cls", "overrides", "match"),
    [
        (ManimSFTConfig, {"model": None}, "model is not set"),
        (ManimSFTConfig, {"dataset_split": "test"}, "evaluation split"),
        (ManimSFTConfig, {"lora_r": 0}, "lora_r must be >= 1"),
        (ManimSFTConfig, {"lora_dropout": 1.0}, r"lora_dropout must be in \[0, 1\)"),
        (ManimSFTConfig, {"lora_target_modules": []}, "lora_target_modules is empty"),
        (
            ManimSFTConfig,
            {"validation_fraction": 0.6},
            r"validation_fraction must be in \[0, 0.5\)",
        ),
        (ManimSFTConfig, {"validation_fraction": 0.0}, "no validation slice"),
        (ManimSFTConfig, {"eval_strategy": "no", "load_best_model_at_end": False}, "never be used"),
        (ManimSFTConfig, {"effective_batch_size": 5}, "multiple of per_device_train_batch_size"),
        (
            ManimGRPOConfig,
            {"reward_code_weight": 0.0, "reward_visual_weight": 0.0},
            "all reward weights are 0",
        ),
        (ManimGRPOConfig, {"reward_visual_weight": -1.0}, "must be >= 0"),
        (ManimGRPOConfig, {"reward_weights": [1.0]}, "reward_code_weight"),
        (ManimGRPOConfig, {"render_timeout": 0}, "render_timeout must be > 0"),
        (ManimGRPOConfig, {"render_workers": 0}, "render_workers must be >= 1"),
        (ManimGRPOConfig, {"max_prompt_length": 0}, "max_prompt_length must be >= 1"),
    ],
)
def test_rules_fail_with_the_fix(tmp_path, cls, overrides, match):
    with pytest.raises(ValueError, match=match):
        cls(**cpu_args(output_dir=str(tmp_path), **overrides))


def test_optional_backends_fail_clearly_when_absent(tmp_path):
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ValueError, match="pip install vllm"):
            ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path), use_vllm=True))
    if importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(ValueError, match="pip install bitsandbytes"):
            ManimSFTConfig(**cpu_args(output_dir=str(tmp_path), load_in_4bit=True))


def test_effective_batch_size_sets_accumulation_for_the_world_size(tmp_path, monkeypatch):
    c = ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path), effective_batch_size=16))
    assert c.gradient_accumulation_steps == 2  # 16 / (8 per device x 1 process)
    # Two processes (as under `accelerate launch`): the launcher's WORLD_SIZE is what is read.
    monkeypatch.setattr("manimatic.train.config_fields._world_size", lambda: 2)
    c = ManimSFTConfig(**cpu_args(output_dir=str(tmp_path), effective_batch_size=16))
    assert c.gradient_accumulation_steps == 4  # 16 / (2 per device x 2 processes)


def test_hf_spec_with_adapter_sets_init_adapter(tmp_path):
    c = ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path), model="hf:org/base@/runs/sft/adapter"))
    assert (c.model, c.init_adapter) == ("org/base", "/runs/sft/adapter")


def test_parse_yaml_then_flags(tmp_path):
    config = tmp_path / "x.yaml"
    (tmp_path / "tasks.jsonl").write_text("")
    config.write_text(
        yaml.safe_dump(
            {
                **cpu_args(),
                "output_dir": str(tmp_path / "out"),
                "learning_rate": 1e-4,
                "dataset": "tasks.jsonl",
                "env": {"MANIMATIC_TEST_VAR": "7"},
            }
        )
    )
    cfg, explicit = parse_config(
        ManimGRPOConfig,
        config,
        [
            "--learning-rate",
            "3e-5",
            "--reward-combination",
            "geometric",
            "--lora_target_modules",
            "q_proj",
            "v_proj",
        ],
    )
    assert cfg.learning_rate == 3e-5  # the flag wins over the file
    assert cfg.reward_combination == "geometric"
    assert cfg.lora_target_modules == ["q_proj", "v_proj"]
    assert cfg.dataset == str((tmp_path / "tasks.jsonl").resolve())  # relative to the file
    assert explicit["learning_rate"] == 3e-5 and explicit["reward_combination"] == "geometric"
    assert "beta" not in explicit  # only what was set
    import os

    assert os.environ.pop("MANIMATIC_TEST_VAR") == "7"


def test_parse_rejects_unknown_keys_and_flags(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("model: tiny\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="unknown field.*learning_rat"):
        parse_config(ManimSFTConfig, config, CPU_FLAGS)
    with pytest.raises(ValueError, match="unknown option.*--bogus"):
        parse_config(ManimSFTConfig, None, ["--model", "tiny", "--bogus", "1", *CPU_FLAGS])


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sft_study.yaml", ManimSFTConfig),
        ("grpo_study.yaml", ManimGRPOConfig),
        ("sft_tiny_cpu.yaml", ManimSFTConfig),
        ("grpo_tiny_cpu.yaml", ManimGRPOConfig),
    ],
)
def test_shipped_configs_parse(tmp_path, name, cls):
    flags = ["--output-dir", str(tmp_path), *CPU_FLAGS]
    cfg, _ = parse_config(cls, REPO / "configs" / name, flags)
    if name.endswith("study.yaml"):
        assert cfg.model.startswith("Qwen/Qwen3-Coder")
        assert cfg.dataset == "manimbench" and cfg.dataset_split == "train"
        assert cfg.lora_r == 8 and cfg.lora_alpha == 16
    else:
        assert cfg.model == "tiny" and Path(cfg.dataset).is_file()
    if cls is ManimGRPOConfig and name == "grpo_study.yaml":
        assert cfg.generation_batch_size == 16 and cfg.num_generations == 8
        assert cfg.learning_rate == 5e-7 and cfg.loss_type == "dr_grpo"


def test_accelerate_configs_are_valid_yaml():
    kinds = {}
    for path in sorted((REPO / "configs" / "accelerate").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        kinds[path.stem] = (
            data["distributed_type"],
            data.get("deepspeed_config", {}).get("zero_stage"),
        )
    assert kinds == {
        "single_gpu": ("NO", None),
        "multi_gpu": ("MULTI_GPU", None),
        "deepspeed_zero2": ("DEEPSPEED", 2),
        "deepspeed_zero3": ("DEEPSPEED", 3),
    }


def test_render_executor_flag_and_its_alias():
    from manimatic.train.config import ManimGRPOConfig, parse_config

    for flag in ("--executor", "--render-executor"):
        config, explicit = parse_config(
            ManimGRPOConfig, None, [flag, "ray:auto", "--model", "tiny", "--use-cpu"]
        )
        assert config.render_executor == "ray:auto"
        assert explicit["render_executor"] == "ray:auto"
    with pytest.raises(ValueError, match="render_executor"):
        parse_config(
            ManimGRPOConfig, None, ["--executor", "kubernetes", "--model", "tiny", "--use-cpu"]
        )


def test_cpu_default_batch_is_one_with_the_same_effective_batch(tmp_path, caplog):
    flags = ["--model", "tiny", "--output-dir", str(tmp_path), "--report-to", "none", *CPU_FLAGS]
    with caplog.at_level("WARNING", logger="manimatic.train.config_parse"):
        sft, explicit = parse_config(ManimSFTConfig, None, flags)
    assert (sft.per_device_train_batch_size, sft.gradient_accumulation_steps) == (1, 16)  # 2 x 8
    assert "per_device_train_batch_size" not in explicit  # the run records what was asked
    assert [r.getMessage() for r in caplog.records if "becomes 1 x 16" in r.getMessage()]
    grpo, _ = parse_config(ManimGRPOConfig, None, flags)
    assert (grpo.per_device_train_batch_size, grpo.gradient_accumulation_steps) == (1, 16)  # 8 x 2
    assert grpo.generation_batch_size == 16  # still 2 prompts x G=8 per generation
    # Asked accumulation and effective_batch_size keep their meaning: the product is kept.
    asked, _ = parse_config(ManimSFTConfig, None, [*flags, "--gradient-accumulation-steps", "3"])
    assert (asked.per_device_train_batch_size, asked.gradient_accumulation_steps) == (1, 6)
    effective, _ = parse_config(ManimSFTConfig, None, [*flags, "--effective-batch-size", "8"])
    assert (effective.per_device_train_batch_size, effective.gradient_accumulation_steps) == (1, 8)


def test_explicit_batch_size_or_a_gpu_keeps_the_config(tmp_path, monkeypatch):
    flags = ["--model", "tiny", "--output-dir", str(tmp_path), "--report-to", "none", *CPU_FLAGS]
    set_by_flag, _ = parse_config(
        ManimSFTConfig, None, [*flags, "--per-device-train-batch-size", "4"]
    )
    assert (set_by_flag.per_device_train_batch_size, set_by_flag.gradient_accumulation_steps) == (
        4,
        8,
    )
    shipped, _ = parse_config(ManimSFTConfig, REPO / "configs" / "sft_tiny_cpu.yaml", flags)
    assert (shipped.per_device_train_batch_size, shipped.gradient_accumulation_steps) == (2, 1)
    monkeypatch.setattr("manimatic.train.config_parse.trains_on_cpu", lambda *a, **k: False)
    on_gpu, _ = parse_config(ManimSFTConfig, None, flags)
    assert (on_gpu.per_device_train_batch_size, on_gpu.gradient_accumulation_steps) == (2, 8)


def test_a_dry_run_counts_only_use_cpu(tmp_path):
    from manimatic.train.config_parse import trains_on_cpu

    gpu_recipe = ManimSFTConfig(**cpu_args(output_dir=str(tmp_path), use_cpu=False))
    assert not trains_on_cpu(gpu_recipe, dry_run=True)  # resolved for the GPU it is meant for
    assert trains_on_cpu(ManimSFTConfig(**cpu_args(output_dir=str(tmp_path))), dry_run=True)

"""SFT on the tiny model: completion-only loss, the loss goes down, the adapter loads in the agent."""

from __future__ import annotations

import json

import pytest
from train_helpers import cpu_args

from manimatic.agent.prompts import build_messages, chat_prompt
from manimatic.train.config import ManimSFTConfig
from manimatic.train.data import sft_data, split_validation

SFT_ARGS = {
    "max_length": 1024,
    "per_device_train_batch_size": 2,
    "per_device_eval_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "learning_rate": 1e-2,
    "warmup_steps": 0,
    "logging_steps": 1,
    "validation_fraction": 0.34,
    "save_total_limit": 1,
}


def sft_config(tmp_path, smoke_tasks, **overrides) -> ManimSFTConfig:
    args = {**SFT_ARGS, "dataset": str(smoke_tasks), "output_dir": str(tmp_path / "sft")}
    args.update(overrides)
    return ManimSFTConfig(**cpu_args(**args))


def test_examples_use_the_agent_prompt(smoke_tasks):
    data = sft_data(str(smoke_tasks), "train", validation_fraction=0.34, seed=0)
    task = json.loads(smoke_tasks.read_text().splitlines()[0])
    example = chat_prompt(task["prompt"], task["reference_code"]).to_dict()
    assert example in data.train + data.validation
    assert example["prompt"] == [m.to_dict() for m in build_messages(task["prompt"])]
    assert example["completion"][0]["content"].startswith("<CODE>```python\n")


def test_validation_slice_is_seeded_and_disjoint():
    tasks = list(range(20))
    train, val = split_validation(tasks, 0.1, seed=3)
    assert len(val) == 2 and not set(train) & set(val) and sorted(train + val) == tasks
    assert split_validation(tasks, 0.1, seed=3) == (train, val)
    with pytest.raises(ValueError, match="validation slice"):
        split_validation([1], 0.2, seed=0)


def test_prompt_tokens_are_masked(tmp_path, smoke_tasks):
    from manimatic.train.model import resolve_base_model
    from manimatic.train.sft import build_sft_trainer

    cfg = sft_config(tmp_path, smoke_tasks)
    trainer, policy, data = build_sft_trainer(cfg, resolve_base_model(cfg))
    tok = policy.tokenizer
    row = trainer.train_dataset[0]
    example = data.train[0]
    prompt_len = len(
        tok.apply_chat_template(example["prompt"], tokenize=True, add_generation_prompt=True)[
            "input_ids"
        ]
    )
    labels = row["labels"]
    assert prompt_len > 100  # the system prompt with its one-shot example
    assert all(x == -100 for x in labels[:prompt_len]), "prompt tokens must carry no loss"
    assert labels[prompt_len:] == row["input_ids"][prompt_len:], "completion tokens carry loss"
    completion = tok.decode(row["input_ids"][prompt_len:])
    assert completion.startswith(example["completion"][0]["content"])

    batch = next(iter(trainer.get_train_dataloader()))
    labels, ids = batch["labels"], batch["input_ids"]
    for i in range(labels.shape[0]):
        kept = (labels[i] != -100).nonzero().flatten()
        assert len(kept) > 0
        first = int(kept[0])
        # Everything before the answer is masked; the answer is learned token for token.
        assert (labels[i, :first] == -100).all()
        assert (labels[i, kept] == ids[i, kept]).all()
        assert tok.decode(ids[i, first : first + 6]).startswith("<CODE>")


def test_sft_loss_goes_down_and_the_adapter_loads_in_the_agent(tmp_path, smoke_tasks):
    from manimatic.llm import GenerationOptions, Message, get_backend
    from manimatic.train.sft import run_sft

    cfg = sft_config(tmp_path, smoke_tasks, num_train_epochs=4)
    result = run_sft(cfg, progress=False)

    out = tmp_path / "sft"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    evals = [r["eval_loss"] for r in rows if "eval_loss" in r]
    assert len(losses) >= 6 and len(evals) == 4
    assert sum(losses[-2:]) < sum(losses[:2]), losses
    assert evals[-1] < evals[0], evals
    assert result.metrics["best_eval_loss"] == pytest.approx(min(evals))
    assert result.best_checkpoint and result.metrics["validation_tasks"] == 2

    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "completed" and record["kind"] == "sft"
    assert record["seed"] == 0 and record["versions"]["trl"] and record["versions"]["peft"]
    assert len(record["data"]["validation_ids"]) == 2
    assert record["config"]["learning_rate"] == 1e-2
    assert "learning_rate: 0.01" in (out / "config.yaml").read_text()

    spec = result.model_spec
    assert spec == f"hf:{out / 'tiny-model'}@{out / 'adapter'}"
    backend = get_backend(spec, device="cpu")
    try:
        import peft

        assert isinstance(backend.model, peft.PeftModel)
        trained = [
            p for n, p in backend.model.named_parameters() if "lora_B" in n and p.abs().sum() > 0
        ]
        assert trained, "the saved adapter holds trained (non-zero) LoRA weights"
        reply = backend.complete(
            [Message("user", "Draw a circle.")], GenerationOptions(temperature=0, max_tokens=8)
        )
        assert reply.usage.completion_tokens >= 1
    finally:
        backend.close()


def test_lora_targets_only_modules_the_model_has(tmp_path, smoke_tasks):
    from manimatic.train.model import load_policy, lora_targets, resolve_base_model

    cfg = sft_config(tmp_path, smoke_tasks, lora_target_modules=["q_proj", "v_proj", "w_missing"])
    policy = load_policy(cfg, resolve_base_model(cfg))
    assert policy.lora_targets == ["q_proj", "v_proj"] and policy.skipped_targets == ["w_missing"]
    with pytest.raises(ValueError, match="linear layers are named"):
        lora_targets(policy.model, ["nothing_here"])

"""Training data: benchmark tasks -> TRL datasets, in the agent's own prompt format.

SFT examples are `chat_prompt(task.prompt, task.reference_code).to_dict()` (TRL's conversational
prompt/completion form, so the loss falls on the completion only); GRPO examples are the prompt
plus the columns the rewards read (`task_id`, `reference_code`). The prompt text comes from
`manimatic.agent.prompts`, so a model is trained on exactly what it is later asked.

The validation slice for model selection is carved from the *training* tasks with a seeded
shuffle; the test split is never read here (the configs refuse it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from manimatic.agent.prompts import chat_prompt
from manimatic.train.errors import TrainError


@dataclass
class TrainData:
    """The tasks a run trains (and selects) on.

    Attributes:
        train: TRL-ready records for training.
        validation: Records for eval loss (empty when there is no validation slice).
        source: Where the tasks came from (`TaskSet.source`).
        content_hash: Hash of the task set before the validation split (to identify the data).
        train_ids: Ids of the training tasks.
        validation_ids: Ids of the held-out tasks.
        problems: Rows of the dataset that were skipped, as text.
        dropped: Tasks left out, with the reason (e.g. prompt longer than max_prompt_length).
    """

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    source: str
    content_hash: str
    train_ids: list[str]
    validation_ids: list[str]
    problems: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What run.json records about the data (ids, not rows)."""
        return {
            "source": self.source,
            "content_hash": self.content_hash,
            "train_tasks": len(self.train_ids),
            "validation_tasks": len(self.validation_ids),
            "validation_ids": list(self.validation_ids),
            "problems": list(self.problems),
            "dropped": dict(self.dropped),
        }


def load_tasks(
    spec: str, split: str, types: list[str] | None = None, limit: int | None = None
) -> Any:
    """The `TaskSet` of a dataset spec (see `manimatic.bench.datasets.load_dataset`).

    Raises:
        TrainError: The dataset cannot be loaded (`DatasetError`), or it has no tasks.
    """
    from manimatic.bench.datasets import DatasetError, load_dataset

    try:
        taskset = load_dataset(spec, split=split, types=types, limit=limit)
    except DatasetError as exc:
        raise TrainError(str(exc)) from None
    if not taskset.tasks:
        problems = "; ".join(str(p) for p in taskset.problems[:3])
        raise TrainError(
            f"no {split} tasks in {taskset.source}"
            + (f" ({problems})" if problems else "")
            + ": check dataset, dataset_split and dataset_types."
        )
    return taskset


def split_validation(tasks: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Hold out a seeded random share of the tasks; both parts keep the dataset order.

    Args:
        tasks: The training tasks.
        fraction: Share to hold out, in [0, 0.5); at least one task when > 0.
        seed: Seed of the shuffle (the run's `seed`), so a rerun holds out the same tasks.

    Returns:
        (train, validation).

    Raises:
        TrainError: `fraction` > 0 but there are fewer than 2 tasks to split.
    """
    if fraction <= 0:
        return list(tasks), []
    if len(tasks) < 2:
        raise TrainError(
            f"cannot hold out a validation slice from {len(tasks)} task(s): use more tasks, or "
            "validation_fraction: 0 (with eval_strategy: no, load_best_model_at_end: false)."
        )
    n_val = min(len(tasks) - 1, max(1, round(len(tasks) * fraction)))
    order = list(range(len(tasks)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_val])
    train = [t for i, t in enumerate(tasks) if i not in held]
    validation = [t for i, t in enumerate(tasks) if i in held]
    return train, validation


def sft_record(task: Any, prompts: Any = None) -> dict[str, Any]:
    """One SFT example: the agent's prompt messages and the reference answer as completion.

    `prompts` is the `PromptSet` (default: manimatic's), as for every record function here.
    """
    return chat_prompt(task.prompt, task.reference_code, prompts).to_dict()


def grpo_record(task: Any, prompts: Any = None) -> dict[str, Any]:
    """One GRPO example: the prompt messages plus the columns the rewards read."""
    record = chat_prompt(task.prompt, None, prompts).to_dict()
    record["task_id"] = task.id
    record["reference_code"] = task.reference_code
    return record


def sft_data(
    spec: str,
    split: str,
    *,
    validation_fraction: float,
    seed: int,
    types: list[str] | None = None,
    limit: int | None = None,
    prompts: Any = None,
) -> TrainData:
    """SFT records from a dataset, with a seeded validation slice carved from it."""
    taskset = load_tasks(spec, split, types, limit)
    train, validation = split_validation(taskset.tasks, validation_fraction, seed)
    return TrainData(
        train=[sft_record(t, prompts) for t in train],
        validation=[sft_record(t, prompts) for t in validation],
        source=taskset.source,
        content_hash=taskset.content_hash(),
        train_ids=[t.id for t in train],
        validation_ids=[t.id for t in validation],
        problems=[str(p) for p in taskset.problems],
    )


def grpo_data(
    spec: str,
    split: str,
    *,
    types: list[str] | None = None,
    limit: int | None = None,
    tokenizer: Any = None,
    max_prompt_length: int | None = None,
    prompts: Any = None,
) -> TrainData:
    """GRPO records; tasks whose chat prompt exceeds `max_prompt_length` tokens are dropped.

    Args:
        spec: Dataset spec.
        split: Split to train on.
        types: Task types to keep.
        limit: First N tasks only.
        tokenizer: The policy's tokenizer (needed only with `max_prompt_length`).
        max_prompt_length: Longest prompt in tokens, chat template included; None keeps all.
        prompts: The `PromptSet` (default: manimatic's).

    Raises:
        TrainError: Every task was dropped.
    """
    taskset = load_tasks(spec, split, types, limit)
    records, ids, dropped = [], [], {}
    for task in taskset.tasks:
        record = grpo_record(task, prompts)
        if max_prompt_length is not None and tokenizer is not None:
            n = prompt_tokens(tokenizer, record["prompt"])
            if n > max_prompt_length:
                dropped[task.id] = f"prompt has {n} tokens > max_prompt_length {max_prompt_length}"
                continue
        records.append(record)
        ids.append(task.id)
    if not records:
        raise TrainError(
            f"all {len(taskset.tasks)} tasks have prompts longer than max_prompt_length "
            f"{max_prompt_length} tokens: raise it, or unset it to keep every task."
        )
    return TrainData(
        train=records,
        validation=[],
        source=taskset.source,
        content_hash=taskset.content_hash(),
        train_ids=ids,
        validation_ids=[],
        problems=[str(p) for p in taskset.problems],
        dropped=dropped,
    )


def prompt_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    """Tokens of a chat prompt with the generation prompt opened (what the policy sees)."""
    ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # BatchEncoding in recent transformers
        ids = ids["input_ids"]
    return len(ids)

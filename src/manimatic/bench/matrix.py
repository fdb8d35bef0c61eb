"""`run_matrix`: models (or adapters) x strategies into one database; each condition is one run.

The study's nine conditions are {base, SFT, SFT+GRPO} x {vanilla, ritl, ritl-doc}:

    run_matrix(
        "manimbench",
        parse_model_specs([
            "base=hf:Qwen/Qwen2.5-Coder-7B-Instruct",
            "sft=hf:Qwen/Qwen2.5-Coder-7B-Instruct@adapters/sft",
            "grpo=hf:Qwen/Qwen2.5-Coder-7B-Instruct@adapters/grpo",
        ]),
        ["vanilla", "ritl", "ritl-doc"],
    )

Each model is loaded once and serves all strategies; one render pool and one store serve every
condition, so reference renders are made once for the whole matrix. A condition that fails to
start or stops on infrastructure errors is reported and the others go on; running the same
command again resumes every condition where it stopped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.bench.answers import BenchError
from manimatic.bench.condition import Condition, make_condition
from manimatic.bench.environment import resolve_embedder
from manimatic.bench.runner import RunSummary, run_bench
from manimatic.bench.store import Store


@dataclass
class MatrixSummary:
    """What a matrix run did.

    Attributes:
        db: The database file.
        runs: One summary per condition that ran, in order (label-major).
        failed: Conditions that could not run or stopped: `{"label", "model", "strategy",
            "error"}`.
        dataset_problems: Dataset rows that were skipped, with file and line (as `bench run`).
    """

    db: str
    runs: list[RunSummary] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    dataset_problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "runs": [r.to_dict() for r in self.runs],
            "failed": list(self.failed),
            "dataset_problems": list(self.dataset_problems),
        }


def parse_model_specs(values: list[str]) -> dict[str | None, str]:
    """`["base=hf:M", "sft=hf:M@adapters/sft"]` -> `{"base": "hf:M", "sft": ...}`.

    A value without `LABEL=` gets no label (None). Labels must be unique.

    Raises:
        BenchError: An empty label or spec, or a label given twice.
    """
    out: dict[str | None, str] = {}
    for value in values:
        head, sep, rest = value.partition("=")
        # Model specs have no "=" before their prefix's colon, so "a=b:c" is label a.
        if sep and ":" not in head:
            label, spec = head.strip(), rest.strip()
            if not label:
                raise BenchError(f"--model {value!r}: empty label before '='; write LABEL=SPEC.")
        else:
            label, spec = "", value.strip()
        if not spec:
            raise BenchError(f"--model {value!r}: no model spec; write LABEL=SPEC.")
        key = label or None
        if key in out:
            raise BenchError(f"--model: label {key or '(none)'!r} is given twice.")
        out[key] = spec
    if not out:
        raise BenchError("no models: give --model LABEL=SPEC at least once.")
    return out


def run_matrix(
    dataset: str | Condition,
    models: dict[str | None, str],
    strategies: list[str],
    *,
    db: str | Path | None = None,
    pool: Any = None,
    **settings: Any,
) -> MatrixSummary:
    """Run every (model, strategy) condition into one database.

    Args:
        dataset: A template `Condition` (its model, strategy and label are set per condition),
            or its `dataset` (a spec, see `load_dataset`).
        models: Label -> model spec (`parse_model_specs`); `reference` runs once, whatever the
            strategies.
        strategies: Strategy names (vanilla, ritl, ritl-doc).
        db: Database file (default: the user data dir's).
        pool: A RenderPool to use (the caller keeps ownership); else one is made from the
            template's executor and render workers, and serves every condition.
        **settings: Condition fields for the template (rounds, limit, quality, timeout,
            options, embedders...). `rounds` applies to ritl / ritl-doc; vanilla ignores it.

    Returns:
        The runs and the conditions that failed.

    Raises:
        TypeError: A setting that is not a Condition field.
        BenchError: Bad settings, no strategies, or the database / render pool cannot be opened.
    """
    from manimatic.executors import make_executor
    from manimatic.llm import LLMError, get_backend
    from manimatic.render import RenderPoolError

    if isinstance(dataset, Condition):
        template = make_condition(dataset, **settings)
    else:
        template = make_condition(dataset=dataset, **settings)
    if not strategies:
        raise BenchError("no strategies: give --strategy vanilla|ritl|ritl-doc at least once.")
    strategies = list(dict.fromkeys(strategies))
    problems = _dataset_problems(template)  # before any model or pool: a bad file stops here
    store = Store(db)
    summary = MatrixSummary(db=str(store.path), dataset_problems=problems)
    # Embedders are loaded once for every condition.
    template = template.replace(
        image_embedder=resolve_embedder(template.image_embedder, "image"),
        code_embedder=resolve_embedder(template.code_embedder, "code"),
    )
    own_pool = pool is None
    try:
        pool = pool or make_executor(template.executor, workers=template.render_workers)
    except (RenderPoolError, ValueError) as exc:
        store.close()
        raise BenchError(f"the render sandbox cannot start: {exc}") from None
    try:
        for label, spec in models.items():
            if spec == "reference":
                ref = template.replace(
                    model="reference", strategy="none", label=label, rounds=None, doc_pass=None
                )
                _one(summary, ref, db=store, pool=pool)
                continue
            try:
                backend = get_backend(spec, **template.llm_settings())
            except LLMError as exc:
                for strategy in strategies:
                    summary.failed.append(_failure(label, spec, strategy, f"model {spec}: {exc}"))
                continue
            with contextlib.closing(backend):
                for strategy in strategies:
                    condition = template.replace(
                        model=spec,
                        strategy=strategy,
                        label=label,
                        rounds=None if strategy == "vanilla" else template.rounds,
                    )
                    _one(summary, condition, db=store, pool=pool, backend=backend)
    finally:
        if own_pool:
            pool.close()
        store.close()
    return summary


def _dataset_problems(template: Condition) -> list[str]:
    """The dataset's rejected rows, as `bench run` reports them; no task at all is an error.

    Raises:
        BenchError: The dataset cannot be loaded, or every row was rejected.
    """
    from manimatic.bench.datasets import DatasetError, TaskSet, check_usable, load_dataset

    try:
        taskset = (
            template.dataset
            if isinstance(template.dataset, TaskSet)
            else load_dataset(template.dataset, split=template.split, types=template.types)
        )
        check_usable(taskset)
    except DatasetError as exc:
        raise BenchError(str(exc)) from None
    return [str(p) for p in taskset.problems]


def _one(summary: MatrixSummary, condition: Condition, **resources: Any) -> None:
    """Run one condition; a BenchError is recorded (with any partial run) and the matrix goes on."""
    try:
        summary.runs.append(run_bench(condition, **resources))
    except BenchError as exc:
        partial = getattr(exc, "summary", None)
        if partial is not None:
            summary.runs.append(partial)
        summary.failed.append(
            _failure(condition.label, condition.model, condition.strategy, str(exc))
        )


def _failure(label: str | None, spec: str, strategy: str, error: str) -> dict[str, Any]:
    return {"label": label, "model": spec, "strategy": strategy, "error": error}

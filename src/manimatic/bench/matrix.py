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
from manimatic.bench.environment import resolve_embedder
from manimatic.bench.runner import DEFAULT_TIMEOUT, RunSummary, run_bench
from manimatic.bench.store import Store


@dataclass
class MatrixSummary:
    """What a matrix run did.

    Attributes:
        db: The database file.
        runs: One summary per condition that ran, in order (label-major).
        failed: Conditions that could not run or stopped: `{"label", "model", "strategy",
            "error"}`.
    """

    db: str
    runs: list[RunSummary] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "runs": [r.to_dict() for r in self.runs],
            "failed": list(self.failed),
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
    dataset: str,
    models: dict[str | None, str],
    strategies: list[str],
    *,
    rounds: int | None = None,
    db: str | Path | None = None,
    workers: int | None = None,
    limit: int | None = None,
    split: str = "test",
    types: list[str] | None = None,
    base_url: str | None = None,
    options: Any = None,
    quality: str = "l",
    timeout: float = DEFAULT_TIMEOUT,
    render_workers: int | None = None,
    executor: str = "local",
    pool: Any = None,
    image_embedder: Any = "auto",
    code_embedder: Any = "auto",
    progress: bool = False,
) -> MatrixSummary:
    """Run every (model, strategy) condition into one database.

    Args:
        dataset: Dataset spec (see `load_dataset`).
        models: Label -> model spec (`parse_model_specs`); `reference` runs once, whatever the
            strategies.
        strategies: Strategy names (vanilla, ritl, ritl-doc).
        rounds: Feedback rounds for ritl / ritl-doc (vanilla ignores it).
        db: Database file (default: the user data dir's).
        workers, limit, split, types, base_url, options, quality, timeout, render_workers,
            executor, pool, image_embedder, code_embedder, progress: As for `run_bench` (one
            pool and one store serve every condition).

    Returns:
        The runs and the conditions that failed.

    Raises:
        BenchError: No strategies, or the database / render pool cannot be opened.
    """
    from manimatic.executors import make_executor
    from manimatic.llm import LLMError, get_backend
    from manimatic.render import RenderPoolError

    if not strategies:
        raise BenchError("no strategies: give --strategy vanilla|ritl|ritl-doc at least once.")
    strategies = list(dict.fromkeys(strategies))
    store = Store(db)
    summary = MatrixSummary(db=str(store.path))
    image = resolve_embedder(image_embedder, "image")
    code = resolve_embedder(code_embedder, "code")
    own_pool = pool is None
    try:
        pool = pool or make_executor(executor, workers=render_workers)
    except (RenderPoolError, ValueError) as exc:
        store.close()
        raise BenchError(f"the render sandbox cannot start: {exc}") from None
    common = dict(
        workers=workers,
        limit=limit,
        db=store,
        split=split,
        types=types,
        base_url=base_url,
        options=options,
        quality=quality,
        timeout=timeout,
        pool=pool,
        image_embedder=image,
        code_embedder=code,
        progress=progress,
    )
    try:
        for label, spec in models.items():
            if spec == "reference":
                _one(summary, dataset, "reference", label=label, **common)
                continue
            try:
                backend = get_backend(spec, base_url=base_url)
            except LLMError as exc:
                for strategy in strategies:
                    summary.failed.append(_failure(label, spec, strategy, f"model {spec}: {exc}"))
                continue
            with contextlib.closing(backend):
                for strategy in strategies:
                    _one(
                        summary,
                        dataset,
                        spec,
                        strategy,
                        label=label,
                        backend=backend,
                        rounds=None if strategy == "vanilla" else rounds,
                        **common,
                    )
    finally:
        if own_pool:
            pool.close()
        store.close()
    return summary


def _one(
    summary: MatrixSummary, dataset: str, spec: str, strategy: str = "none", **kwargs: Any
) -> None:
    """Run one condition; a BenchError is recorded (with any partial run) and the matrix goes on."""
    try:
        summary.runs.append(run_bench(dataset, spec, strategy, **kwargs))
    except BenchError as exc:
        partial = getattr(exc, "summary", None)
        if partial is not None:
            summary.runs.append(partial)
        summary.failed.append(_failure(kwargs.get("label"), spec, strategy, str(exc)))


def _failure(label: str | None, spec: str, strategy: str, error: str) -> dict[str, Any]:
    return {"label": label, "model": spec, "strategy": strategy, "error": error}

"""The benchmark: datasets, resumable runs into SQLite, the condition matrix, run summaries.

    from manimatic.bench import load_dataset, run_bench, Store
    tasks = load_dataset("manimbench", split="test")
    summary = run_bench("manimbench", "reference")          # calibrate the harness
    summary = run_bench("manimbench", "openai:gpt-4.1", "ritl-doc", label="base")
    Store().runs(), Store().results(summary.run_id)

Modules: `datasets` (tasks), `condition` (`Condition`: what a run is given, checked once),
`store` (SQLite, migrations, verify), `runner` (`run_bench`),
`answers` (reference / generations file / agent), `scoring` (metrics per task), `export`
(runs and results as rows and DataFrames), `analysis`
(summaries and run comparison), `matrix` (models x strategies).

Only `datasets` is imported eagerly (the trainers import it); the rest loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from manimatic.bench.datasets import (
    DatasetError,
    DatasetProblem,
    Task,
    TaskSet,
    load_dataset,
)

_LAZY = {
    "run_bench": "manimatic.bench.runner",
    "results_frame": "manimatic.bench.export",
    "runs_frame": "manimatic.bench.export",
    "RunInterrupted": "manimatic.bench.run_record",
    "BenchBug": "manimatic.bench.run_record",
    "Condition": "manimatic.bench.condition",
    "BenchConfig": "manimatic.bench.condition",
    "RunSummary": "manimatic.bench.analysis",
    "BenchError": "manimatic.bench.answers",
    "load_generations": "manimatic.bench.answers",
    "Store": "manimatic.bench.store",
    "StoreError": "manimatic.bench.store",
    "RunRecord": "manimatic.bench.store",
    "VerifyReport": "manimatic.bench.store",
    "default_db_path": "manimatic.bench.store",
    "summarize": "manimatic.bench.analysis",
    "compare": "manimatic.bench.analysis",
    "Comparison": "manimatic.bench.analysis",
    "run_matrix": "manimatic.bench.matrix",
    "MatrixSummary": "manimatic.bench.matrix",
    "parse_model_specs": "manimatic.bench.matrix",
}

__all__ = [
    "DatasetError",
    "DatasetProblem",
    "Task",
    "TaskSet",
    "load_dataset",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manimatic.bench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""Any list of manimatic results as one pandas DataFrame (notebooks, quick analysis).

    from manimatic.tables import to_dataframe
    to_dataframe([render_code(c) for c in codes])      # RenderResult: ok, stage, error.category...
    to_dataframe(generation_results)                   # GenerationResult: ok, video, rounds...

Benchmark runs have their own: `manimatic.bench.results_frame(run)` and `runs_frame()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def to_dataframe(results: Iterable[Any]) -> Any:
    """One row per result, nested fields flattened with dots (`error.category`).

    Args:
        results: Objects with `to_dict()` (RenderResult, GenerationResult, RunSummary...) or
            plain dicts.

    Returns:
        A `pandas.DataFrame`.
    """
    import pandas as pd

    records = [r if isinstance(r, dict) else r.to_dict() for r in results]
    return pd.json_normalize(records, max_level=1)

"""Where benchmark scripts find ManimBench (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "manimbench"
FILES = {
    "test": "manim_sft_dataset_test_v2.parquet",
    "train": "manim_sft_dataset_train_v2.parquet",
    "all": "manim_sft_dataset_v2.parquet",
}


def load(split: str = "test") -> pd.DataFrame:
    """The split's rows (columns: Reviewed Description, Code, Type, Split)."""
    root = Path(os.environ.get("MANIMBENCH_DIR", DEFAULT_DIR))
    path = root / FILES[split]
    if not path.is_file():
        raise SystemExit(f"ManimBench not found at {path}; set MANIMBENCH_DIR")
    return pd.read_parquet(path)

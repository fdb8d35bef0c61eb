"""Where manimatic keeps its files: one place, overridable for tests and shared machines.

`MANIMATIC_HOME` (if set) holds everything: `cache/` (renders, docs index) and `data/` (bench DB).
Otherwise the platform's user cache and data directories are used.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def _home() -> Path | None:
    value = os.environ.get("MANIMATIC_HOME")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Render cache, API-docs index and other derived files (safe to delete)."""
    home = _home()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir("manimatic"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Results users care about (the default benchmark database)."""
    home = _home()
    path = home / "data" if home else Path(platformdirs.user_data_dir("manimatic"))
    path.mkdir(parents=True, exist_ok=True)
    return path

"""Docs fixtures: one API index per session, built under the session's temp MANIMATIC_HOME."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from manimatic.docs import ApiIndex


@pytest.fixture(scope="session")
def docs_home(_isolated_manimatic_home: Path) -> Path:
    """The session MANIMATIC_HOME (tests/conftest.py), with the docs index built in it once."""
    start = time.perf_counter()
    ApiIndex.load()
    ApiIndex.load().search("warm up")  # builds and saves the BM25 model too
    print(f"\ndocs index ready in {time.perf_counter() - start:.2f} s")
    return _isolated_manimatic_home


@pytest.fixture
def index(docs_home: Path) -> ApiIndex:
    return ApiIndex.load()

"""manimatic's own directories: an unusable MANIMATIC_HOME is one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from manimatic import paths


def test_home_under_a_regular_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path / "file" / "home"))
    with pytest.raises(paths.HomeError, match="is a file, not a directory; set MANIMATIC_HOME"):
        paths.cache_dir()


def test_unwritable_home_is_found_by_a_real_write(tmp_path, monkeypatch):
    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path / "home"))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # as root, chmod cannot make a directory unwritable: refuse the probe write instead
    monkeypatch.setattr(paths.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(paths.HomeError, match=r"cannot write the benchmark database .*Permission"):
        paths.data_dir()


def test_a_good_home_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv("MANIMATIC_HOME", str(tmp_path / "a" / "b"))
    assert paths.cache_dir() == tmp_path / "a" / "b" / "cache" and paths.cache_dir().is_dir()
    assert list(paths.cache_dir().iterdir()) == []  # the probe leaves nothing behind


@pytest.mark.parametrize("args", [["render", "x.py"], ["bench", "runs"], ["docs", "search", "x"]])
def test_cli_says_it_in_one_line(tmp_path, args):
    (tmp_path / "file").write_text("x")
    (tmp_path / "x.py").write_text("from manim import *\n")
    env = {**os.environ, "MANIMATIC_HOME": str(tmp_path / "file" / "home")}
    exe = Path(sys.executable).with_name("manimatic")
    proc = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "MANIMATIC_HOME" in lines[0] and "is a file" in lines[0]

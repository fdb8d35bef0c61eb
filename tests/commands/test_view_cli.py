"""`manimatic view` as a user starts it: it listens on loopback, says where, serves the runs page;
bound elsewhere it says it is exposed; bad input is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from manimatic.cli import app
from manimatic.commands._common import UserError

pytest.importorskip("starlette")


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, str]:
    exe = [sys.executable, "-c", "from manimatic.cli import main; main()", "view", *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(
        exe, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    )
    line = proc.stdout.readline()  # "manimatic viewer on http://...:PORT (Ctrl-C to stop)"
    return proc, line


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_view_listens_on_loopback_and_serves(tmp_path: Path) -> None:
    proc, line = _start(["--port", "0"], tmp_path)
    try:
        assert "http://127.0.0.1:" in line, line + _stop(proc)
        url = line.split("on ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(url + "/", timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert page.status_code == 200 and "Benchmark runs" in page.text
        assert httpx.get(url + "/logs", timeout=10).status_code == 200
    finally:
        err = _stop(proc)
    assert "EXPOSED" not in err


def test_view_on_another_address_says_it_is_exposed(tmp_path: Path) -> None:
    proc, line = _start(["--port", "0", "--host", "0.0.0.0"], tmp_path)
    time.sleep(1.0)
    err = _stop(proc)
    assert "http://0.0.0.0:" in line
    assert "EXPOSED" in " ".join(err.split())


def test_view_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["view", "--db", str(tmp_path / "missing.sqlite")])
    assert isinstance(res.exception, UserError) and "no benchmark database" in str(res.exception)
    res = runner.invoke(app, ["view", "--port", "70000"])
    assert isinstance(res.exception, UserError) and "--port" in str(res.exception)
    res = runner.invoke(app, ["view", "--serve-dir", str(tmp_path / "nope")])
    assert isinstance(res.exception, UserError) and "not a directory" in str(res.exception)

"""`manimatic check` as a user runs it: several files, bad inputs among them, JSON and text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = "from manim import *\n\nclass Hello(Scene):\n    def construct(self):\n        self.add(Circle())\n"
BROKEN = (
    "from manim import *\n\nclass Bad(Scene):\n    def construct(self):\n"
    "        self.play(ShowCreation(Circle(colour=RED)))\n"
)


@pytest.fixture()
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # Shared with tests/render/test_preflight.py: the introspection is built once per session.
    home = tmp_path_factory.getbasetemp() / "manimatic-home"
    return {**os.environ, "MANIMATIC_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("manimatic")
    return subprocess.run(
        [str(exe), "check", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_json_one_object_per_file_with_bad_inputs(tmp_path: Path, env: dict[str, str]):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02\xff")
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1"))
    (tmp_path / "adir").mkdir()
    names = ["good.py", "missing.py", "broken.py", "empty.py", "binary.py", "latin1.py", "adir"]
    proc = run_cli(*names, "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in lines] == names
    good, missing, broken, empty, binary, latin1, adir = lines
    assert good == {"file": "good.py", "ok": True, "scenes": ["Hello"], "findings": []}
    assert broken["ok"] is False and broken["scenes"] == ["Bad"]
    assert [(f["line"], f["col"], f["code"]) for f in broken["findings"]] == [
        (5, 19, "legacy_api"),
        (5, 39, "unknown_kwarg"),
    ]
    assert set(broken["findings"][0]) == {
        "line",
        "col",
        "code",
        "message",
        "suggestion",
        "error_type",
    }
    for bad, why in [
        (missing, "no such file"),
        (empty, "empty"),
        (binary, "binary"),
        (latin1, "not UTF-8"),
        (adir, "directory"),
    ]:
        assert set(bad) == {"file", "ok", "error"} and bad["ok"] is False
        assert why in bad["error"]


def test_text_output_and_exit_status(tmp_path: Path, env: dict[str, str]):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "broken.py").write_text(BROKEN)
    ok = run_cli("good.py", cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "good.py: ok (scenes: Hello)" in ok.stdout

    bad = run_cli("broken.py", "good.py", "nope.py", cwd=tmp_path, env=env)
    assert bad.returncode == 1
    assert "broken.py:5:19: legacy_api name 'ShowCreation' is not defined" in bad.stdout
    assert "-> use Create" in bad.stdout
    assert "broken.py:5:39: unknown_kwarg" in bad.stdout and "did you mean color?" in bad.stdout
    assert "good.py: ok" in bad.stdout
    assert "nope.py: no such file" in bad.stderr

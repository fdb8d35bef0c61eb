"""`manimatic render` as a user runs it: a real subprocess, several files, bad inputs among them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GOOD = "from manim import *\n\nclass Hello(Scene):\n    def construct(self):\n        self.add(Circle())\n"
BROKEN = "from manim import *\n\nclass Bad(Scene):\n    def construct(self):\n        self.play(ShowCreation(Circle()))\n"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("manimatic")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=300,
    )


def test_many_files_in_input_order_with_bad_inputs(tmp_path):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02\xff")
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1"))
    (tmp_path / "adir").mkdir()
    (tmp_path / "huge.py").write_text("x = 1\n" * 400_000)
    names = [
        "good.py",
        "missing.py",
        "broken.py",
        "empty.py",
        "binary.py",
        "latin1.py",
        "adir",
        "huge.py",
        "good.py",
    ]
    proc = run_cli("render", *names, "--json", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in lines] == names
    by_name = {r["file"]: r for r in lines}
    assert lines[0]["ok"] and lines[-1]["ok"]
    assert Path(lines[0]["outputs"][0]).is_file()
    assert Path(lines[0]["outputs"][0]).is_relative_to(tmp_path / "out" / "good")
    assert by_name["broken.py"]["error"]["category"] == "name"
    assert by_name["broken.py"]["error"]["line"] == 5
    assert "no such file" in by_name["missing.py"]["error"]["message"]
    assert "empty" in by_name["empty.py"]["error"]["message"]
    assert "binary" in by_name["binary.py"]["error"]["message"]
    assert "UTF-8" in by_name["latin1.py"]["error"]["message"]
    assert "directory" in by_name["adir"]["error"]["message"]
    assert "too large" in by_name["huge.py"]["error"]["message"]
    assert "Traceback" not in proc.stderr


def test_human_output_and_exit_zero(tmp_path):
    (tmp_path / "good.py").write_text(GOOD)
    proc = run_cli("render", "good.py", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok good.py" in proc.stdout and ".png" in proc.stdout


def test_bad_option_is_one_clear_error(tmp_path):
    (tmp_path / "good.py").write_text(GOOD)
    proc = run_cli("render", "good.py", "--quality", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "--quality" in proc.stderr
    assert "Traceback" not in proc.stderr


TWO = (
    "from manim import *\n\n"
    "class Intro(Scene):\n    def construct(self):\n        self.play(Create(Circle()), run_time=0.2)\n\n"
    "class Outro(Scene):\n    def construct(self):\n        self.add(Square())\n"
)


def test_manim_habits_scene_names_output_file_format_and_preview(tmp_path):
    """`render FILE.py Scene -o name.gif -p` as manim users type it, on a machine with no display."""
    (tmp_path / "two.py").write_text(TWO)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    exe = Path(sys.executable).with_name("manimatic")
    proc = subprocess.run(
        [str(exe), "render", "two.py", "Intro", "-o", "clips/intro.gif", "-p", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scenes"] == ["Intro"]
    assert result["outputs"] == [str((tmp_path / "clips" / "intro.gif").resolve())]
    assert (tmp_path / "clips" / "intro.gif").read_bytes()[:3] == b"GIF"
    assert "no display" in proc.stderr

    # -s: the last frame of each named scene, in the order given, into a folder
    proc = run_cli(
        "render", "two.py", "Outro", "Intro", "-s", "-o", "frames", "--json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scenes"] == ["Outro", "Intro"]
    assert [Path(p).suffix for p in result["outputs"]] == [".png", ".png"]
    assert all(Path(p).is_relative_to(tmp_path / "frames" / "two") for p in result["outputs"])

    # --scene stays; a missing scene name is a failed render, not a missing file
    proc = run_cli("render", "two.py", "--scene", "Nope", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["type"] == "SceneNotFound"


def test_output_file_needs_one_scene_and_a_matching_format(tmp_path):
    (tmp_path / "two.py").write_text(TWO)
    proc = run_cli("render", "two.py", "-o", "x.mp4", cwd=tmp_path)
    assert proc.returncode == 2 and "Intro, Outro" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("render", "two.py", "Intro", "--format", "webm", "-o", "x.gif", cwd=tmp_path)
    assert proc.returncode == 2 and "x.webm" in proc.stderr
    proc = run_cli("render", "two.py", "-q", "z", cwd=tmp_path)
    assert proc.returncode == 2
    assert "l, m, h, p, k" in proc.stderr, proc.stderr


def test_split_targets_reads_scene_names_after_their_file(tmp_path):
    from manimatic.commands.render import split_targets

    (tmp_path / "b").mkdir()
    got = split_targets(["a.py", "Intro", "Outro", str(tmp_path / "b"), "c.py"], ["Extra"])
    assert [(str(t.path), t.scenes) for t in got] == [
        ("a.py", ["Intro", "Outro", "Extra"]),
        (str(tmp_path / "b"), ["Extra"]),
        ("c.py", ["Extra"]),
    ]
    # a first argument is always a file, even when it looks like a scene name
    assert [str(t.path) for t in split_targets(["Intro"])] == ["Intro"]

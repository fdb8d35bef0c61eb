"""The CLI's consoles: into a pipe or a file, paths and run ids are never wrapped or cut."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.table import Table

from manimatic.commands._common import PipeAwareConsole

LONG = "/data/" + "x" * 150 + "/CircleToSquare.mp4"
RUN_ID = "run-0123456789abcdef-" + "f" * 40


def test_piped_lines_and_tables_keep_paths_whole(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")  # even when the shell exported a narrow width
    out = io.StringIO()
    console = PipeAwareConsole(file=out)
    console.print(f"video: {LONG}")
    table = Table("run", "path")
    table.add_row(RUN_ID, LONG)
    console.print(table)
    text = out.getvalue()
    assert f"video: {LONG}\n" in text
    assert RUN_ID in text and LONG in text.split("video:")[1].split("\n", 1)[1]
    assert "…" not in text


def test_render_output_into_a_pipe_is_not_wrapped(tmp_path):
    deep = tmp_path / ("d" * 90) / ("e" * 90)
    deep.mkdir(parents=True)
    code = "from manim import *\n\nclass Dot1(Scene):\n    def construct(self):\n        self.add(Dot())\n"
    (deep / "s.py").write_text(code)
    exe = Path(sys.executable).with_name("manimatic")
    proc = subprocess.run(
        [str(exe), "render", str(deep / "s.py"), "-s", "-o", str(deep / "out")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "60"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    paths = [line.strip() for line in proc.stdout.splitlines() if line.strip().endswith(".png")]
    assert paths and Path(paths[0]).is_file()  # one whole line, copyable

"""Fixtures for the metrics tests: one real render (helpers live in metrics_helpers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def real_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real manim render (Create + transform + wait) at 160x90, 15 fps."""
    root = tmp_path_factory.mktemp("real_render")
    (root / "scene.py").write_text(
        "from manim import *\n\n"
        "class Demo(Scene):\n"
        "    def construct(self):\n"
        "        c = Circle(color=RED)\n"
        "        self.play(Create(c), run_time=0.6)\n"
        "        self.play(c.animate.shift(RIGHT), run_time=0.4)\n"
        "        self.wait(0.4)\n"
    )
    manim = Path(sys.executable).with_name("manim")
    cmd = [str(manim), "-ql", "--disable_caching", "--resolution", "160,90"]
    cmd += ["--media_dir", str(root / "media"), str(root / "scene.py"), "Demo"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    videos = [p for p in (root / "media").rglob("Demo.mp4") if "partial" not in str(p)]
    if proc.returncode != 0 or not videos:
        pytest.fail(f"manim render failed: {proc.stderr[-2000:]}")
    return videos[0]

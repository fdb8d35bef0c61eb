"""`pip install manimatic` (no extras) renders and generates: torch, TRL, Ray never load.

The heavy packages are installed in the test environment, so they are blocked with a meta-path
finder in a fresh interpreter: an import of any of them fails as if it were not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# The extras' packages (pyproject: hf, train, metrics, ray).
EXTRAS = ["torch", "transformers", "peft", "accelerate", "trl", "datasets", "ray", "pandas",
          "codebleu", "skimage", "cv2", "gguf", "llama_cpp"]  # fmt: skip

SCENE = "from manim import *\n\nclass Core(Scene):\n    def construct(self):\n        self.add(Square())\n"
ANIMATED = SCENE.replace("self.add(Square())", "self.play(Create(Square()), run_time=0.2)")
REPLY = "<CODE>```python\n" + ANIMATED + "```</CODE>"


def run_blocked(body: str, cwd: Path) -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""
        import importlib.abc, json, sys
        BLOCKED = {EXTRAS!r}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Block())
        """
    ) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_render_generate_and_help_without_the_extras(tmp_path):
    (tmp_path / "core.py").write_text(SCENE)
    (tmp_path / "r.jsonl").write_text(json.dumps({"content": REPLY}) + "\n")
    proc = run_blocked(
        """
        from manimatic.cli import main
        for argv in (
            ["render", "core.py", "-s", "-o", "core.png", "--json"],
            ["generate", "a square", "-m", "scripted:r.jsonl", "--strategy", "vanilla",
             "-o", "gen.mp4", "--json"],
            ["--help"],
        ):
            sys.argv = ["manimatic", *argv]
            try:
                main()
            except SystemExit as exc:
                assert not exc.code, (argv, exc.code)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        print("LOADED", json.dumps(loaded))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "core.png").is_file()
    assert (tmp_path / "gen.mp4").is_file() and (tmp_path / "gen.py").read_text() == ANIMATED
    assert "LOADED []" in proc.stdout
    for command in ("render", "generate", "bench", "train", "doctor"):
        assert command in proc.stdout  # every command is listed, the heavy ones included


def test_train_without_the_extras_names_the_extra(tmp_path):
    (tmp_path / "c.yaml").write_text("model: tiny\n")
    proc = run_blocked(
        """
        from manimatic.cli import main
        sys.argv = ["manimatic", "train", "sft", "--config", "c.yaml", "--dry-run"]
        main()
        """,
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'manimatic[train]'" in proc.stderr and "Traceback" not in proc.stderr

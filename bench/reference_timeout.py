"""How long the slowest ManimBench test reference takes to render, against a tiny baseline scene.

Usage: python bench/reference_timeout.py [--row 65] [--timeout 300]

Why: the bench renders references with the study's 300 s limit (`--reference-timeout`) and
generated code with 120 s. Test row 65 (a ZoomedScene) is the reference closest to those limits.
The machine's load changes the absolute time a lot, so the script also renders a one-circle
scene in the same run and prints the ratio. Fresh render cache: every render is real.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402

BASELINE = (
    "from manim import *\n\n\nclass Baseline(Scene):\n    def construct(self):\n"
    "        self.play(Create(Circle()), run_time=1)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--row", type=int, default=65)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    code = load("test")["Code"].iloc[args.row]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MANIMATIC_HOME"] = tmp
        from manimatic.render import RenderPool

        with RenderPool(1) as pool:
            pool.render(BASELINE.replace("Circle()", "Square()"), timeout=args.timeout)  # warm up
            times = {}
            for name, source in (("baseline", BASELINE), (f"test row {args.row}", code)):
                started = time.perf_counter()
                result = pool.render(source, timeout=args.timeout, use_cache=False)
                times[name] = time.perf_counter() - started
                print(f"{name}: ok={result.ok} stage={result.stage} {times[name]:.1f} s")
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ratio = times[f"test row {args.row}"] / times["baseline"]
    print(f"ratio to baseline: {ratio:.0f}x (load average {load_avg:.1f})")


if __name__ == "__main__":
    main()

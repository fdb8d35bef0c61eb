"""Executor throughput: renders/s through the local warm pool vs Ray actors on this machine.

Usage: python bench/executor_throughput.py [--n 30] [--workers 2]

Both executors get the same ManimBench test references with the cache off, after a warm-up
render per worker slot (Ray's start-up and each worker's `import manim` are one-off costs, not
throughput). Prints renders/s for each and the ratio Ray/local (target >= 0.8).
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

WARM = "from manim import *\nclass Warm(Scene):\n    def construct(self):\n        self.add(Dot())"


def throughput(spec: str, codes: list[str], workers: int) -> tuple[float, int, float]:
    from manimatic.executors import make_executor

    started = time.perf_counter()
    with make_executor(spec, workers=workers, cache=False) as pool:
        warm = [pool.submit(WARM, use_cache=False) for _ in range(workers * 2)]
        for future in warm:
            future.result()
        setup_s = time.perf_counter() - started
        started = time.perf_counter()
        futures = [pool.submit(code, use_cache=False, timeout=120) for code in codes]
        ok = sum(f.result().ok for f in futures)
        wall = time.perf_counter() - started
    return len(codes) / wall, ok, setup_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    codes = list(load("test")["Code"][: args.n])
    os.environ["MANIMATIC_HOME"] = tempfile.mkdtemp(prefix="manimatic-bench-")
    local_rate, local_ok, local_setup = throughput("local", codes, args.workers)
    ray_rate, ray_ok, ray_setup = throughput("ray", codes, args.workers)
    print(f"renders: {len(codes)}  workers: {args.workers}  cores: {os.cpu_count()}")
    print(f"local pool: {local_rate:.2f} renders/s ({local_ok} ok; start-up {local_setup:.1f} s)")
    print(f"ray:        {ray_rate:.2f} renders/s ({ray_ok} ok; start-up {ray_setup:.1f} s)")
    print(f"ray / local: {ray_rate / local_rate:.2f}x  (target >= 0.8x)")


if __name__ == "__main__":
    main()

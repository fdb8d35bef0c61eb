"""Render every ManimBench reference through the pool: render success rate and failure causes.

Usage: python bench/reference_renders.py [--split all|test|train] [--workers N]

Prints the success rate per split and Type, and each failure's category and message. Uses a
fresh cache so every reference is really rendered.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="all")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    rows = load(args.split)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MANIMATIC_HOME"] = tmp
        from manimatic.render import RenderPool

        started = time.perf_counter()
        with RenderPool(args.workers) as pool:
            futures = [pool.submit(code, timeout=120) for code in rows["Code"]]
            results = [f.result() for f in futures]
        wall = time.perf_counter() - started

    rows = rows.assign(ok=[r.ok for r in results])
    print(
        f"{args.split}: {rows['ok'].sum()}/{len(rows)} references render "
        f"({rows['ok'].mean():.1%}) in {wall:.0f} s"
    )
    for split, group in rows.groupby("Split"):
        print(f"  split {split}: {group['ok'].sum()}/{len(group)}")
    for kind, group in rows.groupby("Type"):
        print(f"  type {kind}: {group['ok'].sum()}/{len(group)}")
    causes = collections.Counter()
    for i, result in enumerate(results):
        if not result.ok:
            err = result.error
            causes[(result.stage, err.category)] += 1
            print(
                f"  row {i} ({rows['Split'].iloc[i]}): {result.stage}/{err.category} "
                f"{err.type}: {err.message.splitlines()[0][:120]}"
            )
    print("failure causes:", dict(causes))


if __name__ == "__main__":
    main()

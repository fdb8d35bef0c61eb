"""Reference calibration: `manimatic bench run --model reference` on ManimBench test, cold and warm.

Usage: python bench/reference_calibration.py [--split test] [--limit N] [-- EXTRA CLI ARGS]

Runs the CLI exactly as a user would, in a fresh MANIMATIC_HOME (empty render cache, empty DB):

1. cold: every reference rendered (with scene traces) and scored; targets < 5 min on 2 cores.
2. resume: the same command again: the run is found and every task skipped.
3. warm: the same command with a new database: every task answered and scored again, every
   render served from the render cache and every score from the score cache; target < 10 s.
4. rescore: as 3 with `--no-score-cache`: every metric recomputed (frames decoded, VS, fidelity,
   code metrics) on cached renders.

The answer to each task is its own reference, so RSR is the references' render rate and VS must
be 1.0 for every task that rendered (a harness check). Prints the numbers and a Markdown block
for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import DEFAULT_DIR  # noqa: E402


def run(command: list[str], env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("extra", nargs="*", help="more `bench run` arguments (after --)")
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("manimatic"))
    with tempfile.TemporaryDirectory(prefix="calibration-") as home:
        env = os.environ.copy()
        env["MANIMATIC_HOME"] = home
        env.setdefault("MANIMBENCH_DIR", str(DEFAULT_DIR))
        base = [exe, "bench", "run", "--dataset", "manimbench", "--model", "reference"]
        base += ["--split", args.split, "--json", *args.extra]
        if args.limit:
            base += ["--limit", str(args.limit)]
        db1, db2 = str(Path(home) / "cold.sqlite"), str(Path(home) / "warm.sqlite")
        cold_s, cold = run([*base, "--db", db1], env)
        resume_s, resumed = run([*base, "--db", db1], env)
        warm_s, warm = run([*base, "--db", db2], env)
        db3 = str(Path(home) / "rescored.sqlite")
        rescore_s, rescored = run([*base, "--db", db3, "--no-score-cache"], env)
        failures = json.loads(
            subprocess.run(
                [exe, "bench", "results", cold["run_id"], "--db", db1, "--json"],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout
        )
    failed = [r for r in failures if not r["ok"]]
    vs_values = [r["vs"] for r in failures if r["ok"] and r["vs"] is not None]
    for other in (warm, rescored):
        assert other["rsr"] == cold["rsr"] and other["mean_vs"] == cold["mean_vs"], "!= cold"
    print(
        f"command: manimatic bench run --dataset manimbench --model reference --split {args.split}"
    )
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()}")
    print(
        f"cold:   {cold_s:6.1f} s  tasks {cold['done']}/{cold['total']}  RSR {cold['rsr']:.1%}"
        f"  mean VS {cold['mean_vs']:.4f}  mean fidelity {cold['mean_fidelity']:.4f}"
    )
    print(f"resume: {resume_s:6.1f} s  skipped {resumed['skipped']}, new {resumed['new']}")
    print(f"warm:   {warm_s:6.1f} s  tasks {warm['done']} rescored from the render cache")
    print(
        f"rescore:{rescore_s:6.1f} s  tasks {rescored['done']}, renders cached, every metric "
        "recomputed (--no-score-cache)"
    )
    print(f"VS over rendered tasks: min {min(vs_values):.4f}, max {max(vs_values):.4f}")
    print(f"notes: {cold['notes']}")
    for r in failed:
        print(
            f"  failed {r['id']} ({r['type']}): {r['error_category']}: {(r['error'] or '')[:100]}"
        )


if __name__ == "__main__":
    main()

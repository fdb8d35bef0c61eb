"""Render throughput: `manimatic render` (warm pool, cold cache) vs sequential `manim` calls.

Usage: python bench/render_throughput.py [--n 20] [--workers N]

Renders the first N ManimBench test references both ways in the same run and prints both wall
times and the ratio (target >= 4x on 2 cores), then the static preflight time per file, then the
per-job overhead of the pool: one small scene at a time through a warm 1-worker pool against the
same scene rendered in this process after `import manim`, and what validating an output (decoding
every frame) costs on the batch's own outputs.
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
from _manimbench import load  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    codes = list(load("test")["Code"][: args.n])

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        files = []
        for i, code in enumerate(codes):
            path = tmp_path / f"ref_{i:03d}.py"
            path.write_text(code)
            files.append(path)

        # Baseline: the study's way, one `manim` process per file, one after the other.
        started = time.perf_counter()
        base_ok = 0
        for path in files:
            media = tmp_path / "media" / path.stem
            proc = subprocess.run(
                [
                    str(BIN / "manim"),
                    "-ql",
                    "--disable_caching",
                    "--media_dir",
                    str(media),
                    str(path),
                    "-a",
                ],
                capture_output=True,
                cwd=tmp_path,
                timeout=300,
            )
            produced = list(media.rglob("*.mp4")) + list(media.rglob("*.png"))
            base_ok += proc.returncode == 0 and bool(produced)
        baseline_s = time.perf_counter() - started

        # manimatic: the whole batch through the warm sandboxed pool, cold render cache. The
        # preflight's introspection of the installed manim is built once per install (like .pyc
        # files) by `manimatic check`; it is timed apart, not charged to every batch.
        env = dict(os.environ, MANIMATIC_HOME=str(tmp_path / "home"))
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "manimatic"), "check", str(files[0])],
            env=env,
            capture_output=True,
            timeout=300,
        )
        index_s = time.perf_counter() - started
        cmd = [str(BIN / "manimatic"), "render", *map(str, files), "--json"]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        ours_s = time.perf_counter() - started
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        ours_ok = sum(r["ok"] for r in results)

        # Preflight: static check per file, after one warm-up (introspection is cached on disk).
        from manimatic.render.preflight import check_code

        check_code(codes[0])
        started = time.perf_counter()
        for code in codes:
            check_code(code)
        preflight_ms = (time.perf_counter() - started) / len(codes) * 1000

        overhead = per_job_overhead(tmp_path, results)

    print(f"files: {len(files)}  cores: {os.cpu_count()}")
    print(f"sequential manim -ql --disable_caching: {baseline_s:7.2f} s  ({base_ok} ok)")
    print(f"manimatic render (warm pool, cold cache): {ours_s:7.2f} s  ({ours_ok} ok)")
    print(f"speed-up: {baseline_s / ours_s:.2f}x  (target >= 4x)")
    print(
        f"preflight: {preflight_ms:.1f} ms per file  (target < 50 ms); one-time build of its "
        f"manim index (first `manimatic check` after install): {index_s:.1f} s"
    )
    extra = overhead["pool_ms"] - overhead["inproc_ms"]
    print(
        f"per job, warm 1-worker pool: {overhead['pool_ms']:.0f} ms vs in-process render "
        f"{overhead['inproc_ms']:.0f} ms (overhead {extra:.0f} ms); output validation "
        f"(decode all frames): {overhead['validate_ms']:.1f} ms per output"
    )


SMALL = """from manim import *

class Small(Scene):
    def construct(self):
        self.play(Create(Circle()), run_time=0.5)
"""


def per_job_overhead(tmp_path: Path, results: list[dict], repeats: int = 7) -> dict:
    """Median wall of one small job through a warm pool vs in-process; validation cost."""
    import statistics

    os.environ["MANIMATIC_HOME"] = str(tmp_path / "home-overhead")
    from manim import Scene, tempconfig  # noqa: F401

    from manimatic.render import RenderPool
    from manimatic.render.validate import check_media
    from manimatic.render.worker import expected_size

    namespace: dict = {}
    exec(compile(SMALL, "small.py", "exec"), namespace)
    inproc = []
    for i in range(repeats):
        options = {"media_dir": str(tmp_path / f"inproc{i}"), "quality": "low_quality"}
        options.update(disable_caching=True, progress_bar="none", verbosity="WARNING")
        started = time.perf_counter()
        with tempconfig(options):
            namespace["Small"]().render()
        inproc.append(time.perf_counter() - started)
    with RenderPool(1, cache=False) as pool:
        pool.render(SMALL, use_cache=False)  # the worker's start is not per-job overhead
        pooled = []
        for _ in range(repeats):
            started = time.perf_counter()
            assert pool.render(SMALL, use_cache=False).ok
            pooled.append(time.perf_counter() - started)
    width, height = expected_size("l")
    outputs = [Path(p) for r in results if r["ok"] for p in r["outputs"]]
    started = time.perf_counter()
    for path in outputs:
        check_media(path, width, height)
    validate_ms = (time.perf_counter() - started) / max(1, len(outputs)) * 1000
    return {
        "pool_ms": statistics.median(pooled) * 1000,
        "inproc_ms": statistics.median(inproc) * 1000,
        "validate_ms": validate_ms,
    }


if __name__ == "__main__":
    main()

"""The layout critic on the ManimBench test references: how many are flagged, by kind, how fast.

Usage::

    MANIMBENCH_DIR=/work/shared/data/manimbench python bench/critic_references.py render \\
        --home /tmp/critic-refs --workers 2
    python bench/critic_references.py critique --home /tmp/critic-refs [--show 10]

`render` renders every reference of the split at -ql through the sandboxed pool with the scene
trace, into a persistent render cache under HOME, and writes HOME/manifest.json (task id -> render
result). `critique` runs the critic on those renders (no rendering: the critic can be re-tuned
and re-run in seconds) and prints the fraction of rendered references flagged, per kind, the
critic's time per scene, and the flagged ones with their findings (for the manual review).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def render(home: Path, split: str, workers: int, limit: int | None) -> None:
    from _manimbench import load

    os.environ["MANIMATIC_HOME"] = str(home)
    from manimatic.render import RenderPool

    rows = load(split)
    if limit:
        rows = rows.head(limit)
    started = time.perf_counter()
    manifest = {}
    with RenderPool(workers) as pool:
        futures = [pool.submit(code, quality="l", timeout=180, trace=True) for code in rows["Code"]]
        for i, future in enumerate(futures):
            result = future.result()
            manifest[f"{split}-{i}"] = {
                "row": i,
                "type": str(rows["Type"].iloc[i]),
                "result": result.to_dict(),
                "traces": result.traces,
            }
            print(f"{i}: ok={result.ok} {result.elapsed_s:.1f}s", flush=True)
    (home / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"rendered {len(manifest)} in {time.perf_counter() - started:.0f} s")


def critique(home: Path, show: int) -> None:
    from manimatic.critic import critique_render, critique_timeline, load_timeline
    from manimatic.render import RenderResult

    manifest = json.loads((home / "manifest.json").read_text())
    rendered = flagged = 0
    by_kind: collections.Counter[str] = collections.Counter()
    findings_by_kind: collections.Counter[str] = collections.Counter()
    times = []
    trace_times = []
    listing = []
    for task_id, entry in manifest.items():
        result = RenderResult.from_dict({**entry["result"], "traces": entry["traces"]})
        if not result.ok:
            continue
        rendered += 1
        report = critique_render(result)
        times.append(report.elapsed_s)
        started = time.perf_counter()
        for trace in result.traces:  # the trace checks alone (no video decoding)
            critique_timeline(load_timeline(trace))
        trace_times.append(time.perf_counter() - started)
        kinds = {f.kind for f in report.findings}
        for f in report.findings:
            findings_by_kind[f.kind] += 1
        by_kind.update(kinds)
        if report.findings:
            flagged += 1
            listing.append((task_id, entry["row"], report))
    print(f"rendered references: {rendered}/{len(manifest)}")
    print(f"flagged: {flagged}/{rendered} ({flagged / max(1, rendered):.0%})")
    for kind in ("off_frame", "overlap", "tiny_text", "invisible", "empty_frame"):
        print(
            f"  {kind}: {by_kind[kind]} references "
            f"({by_kind[kind] / max(1, rendered):.0%}), {findings_by_kind[kind]} findings"
        )
    if times:
        print(
            f"critic time per scene: median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms (trace + frame checks, incl. decoding the video)"
        )
        print(
            f"  trace checks alone: median {statistics.median(trace_times) * 1000:.1f} ms, "
            f"max {max(trace_times) * 1000:.1f} ms"
        )
    for task_id, row, report in listing[:show]:
        print(f"\n{task_id} (row {row}): {report.outputs}")
        for f in report.findings:
            print(f"  [{f.kind} t={f.time:.1f}] {f.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--home", type=Path, required=True)
    r.add_argument("--split", default="test")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--limit", type=int, default=None)
    c = sub.add_parser("critique")
    c.add_argument("--home", type=Path, required=True)
    c.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    args.home.mkdir(parents=True, exist_ok=True)
    if args.cmd == "render":
        render(args.home, args.split, args.workers, args.limit)
    else:
        critique(args.home, args.show)


if __name__ == "__main__":
    main()

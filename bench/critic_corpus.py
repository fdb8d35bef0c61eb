"""The layout critic on its own corpus (tests/critic/scenes): expected kind vs findings, per scene.

Usage: python bench/critic_corpus.py [--workers 2]

Each scene's first line says what it expects (`# expect: KIND` or `# expect: clean`). Prints one
line per scene (OK when the set of kinds found is exactly the expected one), the critic's time
per scene, and the totals. Renders at -ql through the sandboxed pool with the scene trace.
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

SCENES = Path(__file__).resolve().parents[1] / "tests" / "critic" / "scenes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from manimatic.critic import critique_render
    from manimatic.render import RenderPool

    files = sorted(SCENES.glob("*.py"))
    good = 0
    times = []
    with RenderPool(args.workers) as pool:
        futures = [(f, pool.submit(f.read_text(), trace=True, timeout=120)) for f in files]
        for path, future in futures:
            report = critique_render(future.result())
            expected = re.match(r"# expect: (\w+)", path.read_text()).group(1)  # type: ignore[union-attr]
            kinds = sorted({f.kind for f in report.findings}) or ["clean"]
            ok = kinds == [expected]
            good += ok
            times.append(report.elapsed_s)
            mark = "OK " if ok else "BAD"
            print(f"{mark} {path.name:38s} expect {expected:11s} got {','.join(kinds)}")
    defective = sum(1 for f in files if "# expect: clean" not in f.read_text())
    print(
        f"{good}/{len(files)} scenes as expected ({defective} defective, "
        f"{len(files) - defective} clean)"
    )
    print(
        f"critic time per scene: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

"""VS speed: `visual_similarity` (fast) against `visual_similarity_reference` (all pairs, skimage).

Usage: python bench/vs_speed.py [--videos 4] [--stills 4] [--seed 0]

Pairs scored:

* ManimBench test references rendered through the render pool (`--videos` animated ones and
  `--stills` single-frame ones, seeded sample), each against a camera-shifted render of the same
  code (same task) and against another reference (other task);
* synthetic 854x480 videos (5 s at 15 fps, like manim's -ql output) with a growing circle, a
  moving square and a pulsing dot, against each other.

Both implementations get the same frames (loaded once, outside the timing); each VS value must
agree to 1e-6. Prints per-kind and total times and the speed-up (total reference time / total
fast time). The semantic term is off in both (no CLIP weights offline); it is an embedding per
distinct frame in the fast path and per frame in the reference.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402
from fidelity_separation import CAMERA_PRELUDE, is_video, with_prelude  # noqa: E402

TOL = 1e-6


def synthetic_videos() -> dict[str, list[np.ndarray]]:
    """Three 5-s manim-like videos at 854x480, 15 fps, sampled at 5 fps (26 frames)."""
    w, h, n = 854, 480, 26
    out: dict[str, list[np.ndarray]] = {"circle": [], "square": [], "dot": []}
    for k in range(n):
        t = min(1.0, k / 12)  # animate for 2.4 s, then hold (like a play + wait)
        img = np.zeros((h, w, 3), np.uint8)
        cv2.ellipse(img, (427, 240), (120, 120), 0, 0, 360 * t, (252, 98, 85), 4, cv2.LINE_AA)
        out["circle"].append(img)
        img = np.zeros((h, w, 3), np.uint8)
        x = int(200 + 400 * t)
        cv2.rectangle(img, (x, 180), (x + 120, 300), (255, 255, 255), 4, cv2.LINE_AA)
        cv2.putText(img, "square", (330, 420), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 2)
        out["square"].append(img)
        img = np.zeros((h, w, 3), np.uint8)
        r = int(20 + 30 * abs(np.sin(k / 4)))
        cv2.circle(img, (427, 240), r, (88, 196, 221), -1, cv2.LINE_AA)
        out["dot"].append(img)
    return out


def render_pairs(n_videos: int, n_stills: int, seed: int) -> list[tuple[str, str, object, object]]:
    from manimatic.metrics.frames import load_frames
    from manimatic.render import RenderPool

    rows = load("test").reset_index(drop=True)
    rng = random.Random(seed)
    videos = [i for i in range(len(rows)) if is_video(rows["Code"][i])]
    stills = [i for i in range(len(rows)) if not is_video(rows["Code"][i])]
    picked = rng.sample(videos, n_videos) + rng.sample(stills, n_stills)
    shift = CAMERA_PRELUDE.format(dx=0.5, dy=0.3, zoom=1.0)
    frames = {}
    with tempfile.TemporaryDirectory() as tmp, RenderPool() as pool:
        jobs = {}
        for i in picked:
            for name, code in (
                ("ref", rows["Code"][i]),
                ("shift", with_prelude(rows["Code"][i], shift)),
            ):
                jobs[(i, name)] = pool.submit(code, out_dir=Path(tmp) / f"{i}_{name}", timeout=120)
        for key, fut in jobs.items():
            res = fut.result()
            if res.ok and res.outputs:
                frames[key] = load_frames(res.outputs[0])
            else:
                print(f"  task {key}: render failed ({res.error.message if res.error else '?'})")
    ok = [i for i in picked if (i, "ref") in frames and (i, "shift") in frames]
    pairs = []
    for n, i in enumerate(ok):
        a = frames[(i, "ref")]
        kind = "video" if len(a) > 1 else "still"
        pairs.append((f"manimbench {kind} vs same task", f"task {i}", a, frames[(i, "shift")]))
        j = ok[(n + 1) % len(ok)]
        b = frames[(j, "ref")]
        kind_b = "video" if len(b) > 1 else "still"
        pairs.append((f"manimbench {kind} vs {kind_b}", f"task {i} vs {j}", a, b))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--stills", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from manimatic.metrics.frames import Frames
    from manimatic.metrics.visual import visual_similarity, visual_similarity_reference

    pairs = render_pairs(args.videos, args.stills, args.seed)
    syn = {k: Frames.from_arrays(v) for k, v in synthetic_videos().items()}
    pairs += [
        ("synthetic video vs video", "circle vs circle", syn["circle"], syn["circle"]),
        ("synthetic video vs video", "circle vs square", syn["circle"], syn["square"]),
        ("synthetic video vs video", "square vs dot", syn["square"], syn["dot"]),
    ]

    totals: dict[str, list[float]] = {}
    print(f"{'kind':34} {'pair':18} {'N x M':>8} {'VS':>8} {'fast s':>8} {'ref s':>8} {'x':>6}")
    for kind, label, a, b in pairs:
        t0 = time.perf_counter()
        fast = visual_similarity(a, b)
        t_fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = visual_similarity_reference(a, b)
        t_ref = time.perf_counter() - t0
        assert abs(fast.vs - ref.vs) <= TOL, (label, fast.vs, ref.vs)
        size = f"{len(a)}x{len(b)}"
        ratio = t_ref / t_fast
        print(
            f"{kind:34} {label:18} {size:>8} {fast.vs:8.5f} {t_fast:8.3f} {t_ref:8.3f} {ratio:6.0f}"
        )
        for key in (kind, "all"):
            agg = totals.setdefault(key, [0.0, 0.0, 0])
            agg[0] += t_fast
            agg[1] += t_ref
            agg[2] += 1
    print("\n| pairs | n | fast total s | reference total s | speed-up |")
    print("|---|---|---|---|---|")
    for key, (tf, tr, n) in totals.items():
        print(f"| {key} | {n} | {tf:.2f} | {tr:.2f} | {tr / tf:.0f}x |")
    print(f"\nall {totals['all'][2]} VS values agree within {TOL}")


if __name__ == "__main__":
    main()

"""Does a visual metric tell renders of the same task from renders of other tasks?

Usage: python bench/fidelity_separation.py [--split test] [--tasks 24] [--others 5] [--seed 0]
       [--json OUT]

Renders a seeded sample of ManimBench test references through the render pool (with scene
traces), plus perturbed versions of each reference's code:

* colour: every occurrence of the first manim colour constant in the code (any shade) swapped for
  another colour (tasks without a colour constant get no colour variant);
* shift: the camera moved by (0.5, 0.3) units (everything on screen moves the other way);
* timing: every animation 1.5x longer and every wait 1.5x longer (videos only);
* big: camera moved by (2.0, 1.0) and zoomed out 1.6x, plus the colour swap where there is one.

The camera moves leave the scene's own coordinates alone, so for those variants the recorded
trace is transformed the way the camera transformed the picture (bounding boxes shifted and
scaled), which is what the trace of an equivalently moved scene would hold.

Then it scores pairs: same task (reference vs itself, vs each small variant, vs big) and other
task (reference vs `--others` other references), with the study's VS (SSIM term only: no CLIP
weights offline), fidelity from pixels only, and fidelity with traces. It prints the means per
pair kind and the AUC of "same task (small variants) vs other task" for each metric.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402

COLOUR = re.compile(r"\b(RED|BLUE|GREEN|YELLOW|ORANGE|PURPLE|PINK|TEAL|GOLD|MAROON)(_[A-E])?\b")
SWAP = {
    "RED": "GREEN",
    "GREEN": "BLUE",
    "BLUE": "ORANGE",
    "YELLOW": "PURPLE",
    "ORANGE": "TEAL",
    "PURPLE": "YELLOW",
    "PINK": "TEAL",
    "TEAL": "RED",
    "GOLD": "BLUE",
    "MAROON": "GREEN",
}
SMALL_SHIFT = (0.5, 0.3)
BIG_SHIFT, BIG_ZOOM = (2.0, 1.0), 1.6

CAMERA_PRELUDE = """
import numpy as _pert_np
_pert_setup = Scene.setup
def _pert_camera_setup(self):
    _pert_setup(self)
    self.camera.frame_center = _pert_np.array([{dx}, {dy}, 0.0])
    self.camera.frame_width = self.camera.frame_width * {zoom}
    self.camera.frame_height = self.camera.frame_height * {zoom}
Scene.setup = _pert_camera_setup
"""
TIMING_PRELUDE = """
_pert_anim_init = Animation.__init__
def _pert_slow_init(self, *args, **kwargs):
    _pert_anim_init(self, *args, **kwargs)
    self.run_time = self.run_time * 1.5
Animation.__init__ = _pert_slow_init
_pert_wait = Scene.wait
def _pert_slow_wait(self, duration=1.0, *args, **kwargs):
    return _pert_wait(self, duration * 1.5, *args, **kwargs)
Scene.wait = _pert_slow_wait
"""


def with_prelude(code: str, prelude: str) -> str:
    """Insert code right after `from manim import *` (or at the top with that import)."""
    marker = "from manim import *"
    if marker in code:
        head, tail = code.split(marker, 1)
        return head + marker + "\n" + prelude + tail
    return marker + "\n" + prelude + "\n" + code


def colour_swap(code: str) -> str | None:
    m = COLOUR.search(code)
    if not m:
        return None
    base = m.group(1)
    # The shade suffix is dropped: not every colour has _A.._E shades (ORANGE has none).
    return re.sub(rf"\b{base}(_[A-E])?\b", SWAP[base], code)


def is_video(code: str) -> bool:
    return "self.play" in code or "self.wait" in code


def variants(code: str) -> dict[str, str]:
    out = {"ref": code}
    swapped = colour_swap(code)
    if swapped:
        out["colour"] = swapped
    dx, dy = SMALL_SHIFT
    out["shift"] = with_prelude(code, CAMERA_PRELUDE.format(dx=dx, dy=dy, zoom=1.0))
    if is_video(code):
        out["timing"] = with_prelude(code, TIMING_PRELUDE)
    dx, dy = BIG_SHIFT
    out["big"] = with_prelude(swapped or code, CAMERA_PRELUDE.format(dx=dx, dy=dy, zoom=BIG_ZOOM))
    return out


def camera_trace(trace: dict, shift: tuple[float, float], zoom: float) -> dict:
    """The trace of a scene seen by a moved/zoomed camera, in the default camera's coordinates."""
    dx, dy = shift

    def move(b: list[float]) -> list[float]:
        x0, y0, x1, y1 = b
        return [(x0 - dx) / zoom, (y0 - dy) / zoom, (x1 - dx) / zoom, (y1 - dy) / zoom]

    frames = [
        {**f, "mobjects": [{**m, "bbox": move(m["bbox"])} for m in f["mobjects"]]}
        for f in trace["frames"]
    ]
    return {**trace, "frames": frames}


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--others", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write all pair scores here")
    args = parser.parse_args()

    from manimatic.metrics.fidelity import fidelity
    from manimatic.metrics.frames import load_frames
    from manimatic.metrics.visual import visual_similarity
    from manimatic.render import RenderPool

    rows = load(args.split).reset_index(drop=True)
    rng = random.Random(args.seed)
    picked = sorted(rng.sample(range(len(rows)), args.tasks))
    jobs = [(i, name, code) for i in picked for name, code in variants(rows["Code"][i]).items()]
    print(f"rendering {len(jobs)} programs for {len(picked)} tasks ...", flush=True)
    started = time.perf_counter()
    renders: dict[tuple[int, str], tuple] = {}
    with tempfile.TemporaryDirectory() as tmp, RenderPool() as pool:
        futures = []
        for i, name, code in jobs:
            out_dir = Path(tmp) / f"{i}_{name}"
            futures.append(pool.submit(code, out_dir=out_dir, trace=True, timeout=120))
        for (i, name, code), fut in zip(jobs, futures, strict=True):
            res = fut.result()
            if not res.ok:
                # The trace recorder can fail on some mobject kinds (ValueTracker, Point...):
                # render again without it and keep the render, untraced.
                res = pool.render(code, out_dir=Path(tmp) / f"{i}_{name}", timeout=120)
            if not res.ok or not res.outputs:
                msg = res.error.message if res.error else "no output"
                print(f"  task {i} {name}: render failed ({msg[:90]})", flush=True)
                continue
            frames = load_frames(res.outputs[0])
            trace = json.loads(Path(res.traces[0]).read_text()) if res.traces else None
            renders[(i, name)] = (frames, trace)
        render_s = time.perf_counter() - started
        print(f"rendered in {render_s:.0f} s", flush=True)

        for (i, name), (frames, trace) in list(renders.items()):
            if trace is None:
                continue
            if name == "shift":
                renders[(i, name)] = (frames, camera_trace(trace, SMALL_SHIFT, 1.0))
            elif name == "big":
                renders[(i, name)] = (frames, camera_trace(trace, BIG_SHIFT, BIG_ZOOM))

        tasks = [i for i in picked if (i, "ref") in renders]
        pairs: list[tuple[str, int, int, str]] = []
        for i in tasks:
            for name in ("ref", "colour", "shift", "timing", "big"):
                if (i, name) in renders:
                    kind = "identical" if name == "ref" else name
                    pairs.append((kind, i, i, name))
            others = rng.sample([j for j in tasks if j != i], min(args.others, len(tasks) - 1))
            pairs += [("other", i, j, "ref") for j in others]

        scored = []
        for kind, i, j, name in pairs:
            ref_frames, ref_trace = renders[(i, "ref")]
            gen_frames, gen_trace = renders[(j, name)]
            vs = visual_similarity(ref_frames, gen_frames).vs
            fid_pixel = fidelity(ref_frames, gen_frames).score
            both = ref_trace is not None and gen_trace is not None
            fid_trace = (
                fidelity(ref_frames, gen_frames, ref_trace, gen_trace).score if both else None
            )
            scored.append(
                {
                    "kind": kind,
                    "ref": i,
                    "gen": j,
                    "variant": name,
                    "still": len(ref_frames) == 1,
                    "vs": vs,
                    "fidelity_pixel": fid_pixel,
                    "fidelity_trace": fid_trace,
                }
            )

    report(scored, len(tasks), render_s)
    if args.json:
        args.json.write_text(json.dumps(scored, indent=1))


def report(scored: list[dict], n_tasks: int, render_s: float) -> None:
    metrics = ("vs", "fidelity_pixel", "fidelity_trace")
    kinds = ("identical", "colour", "shift", "timing", "big", "other")
    print(f"\n{n_tasks} tasks rendered ({render_s:.0f} s); {len(scored)} pairs\n")
    print("| pair kind | n | VS (SSIM term) | fidelity (pixels) | fidelity (pixels + trace) |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        sel = [s for s in scored if s["kind"] == kind]
        if not sel:
            continue
        cells = []
        for m in metrics:
            vals = [s[m] for s in sel if s[m] is not None]
            cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "-")
        print(f"| {kind} | {len(sel)} | " + " | ".join(cells) + " |")
    for label, same_kinds in (
        ("same task (colour, shift, timing) vs other task", ("colour", "shift", "timing")),
        ("same task (big change) vs other task", ("big",)),
    ):
        for subset, cond in (("all", lambda s: True), ("stills", lambda s: s["still"])):
            cells = []
            for m in metrics:
                pos = [s[m] for s in scored if s["kind"] in same_kinds and cond(s)]
                neg = [s[m] for s in scored if s["kind"] == "other" and cond(s)]
                pos = [v for v in pos if v is not None]
                neg = [v for v in neg if v is not None]
                cells.append(f"{auc(pos, neg):.3f}" if pos and neg else "-")
            print(
                f"AUC {label} [{subset}]: "
                + ", ".join(f"{m}={c}" for m, c in zip(metrics, cells, strict=True))
            )


if __name__ == "__main__":
    main()

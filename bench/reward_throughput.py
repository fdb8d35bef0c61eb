"""GRPO reward throughput: one group of 8 completions of one task, rewarded two ways.

Usage: python bench/reward_throughput.py [--task N] [--group 8] [--repeats 3] [--workers N]

* manimatic: `UnifiedReward` over a warm `RenderPool` (the pool is started once per training
  run, so its start is not timed) with the task's reference already rendered and its frames in
  memory (from the first step of a task on). The 8 completions render in parallel, the code
  term is computed while they render.
* study: what the authors' loop did per completion: write the completion and the reference to
  files, run `manim FILE -ql --format=mp4 --media_dir TMP` for each (one process after the other,
  the reference re-rendered per rollout), then compute the same VS and CodeBLEU.

Both compute R = 0.2 R_code + 0.8 R_visual with R_code = CodeBLEU and VS without CLIP (no
weights offline), so the difference is rendering and orchestration; the script checks that both
give the same rewards. The completions are 8 small variants of a ManimBench test reference
(colours and float literals changed, a unique comment so that no cache serves them).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402

BIN = Path(sys.executable).parent
COLOURS = ["RED", "BLUE", "GREEN", "YELLOW", "ORANGE", "PURPLE", "PINK", "TEAL", "GOLD", "WHITE"]
WEIGHTS = {"code": 0.2, "visual": 0.8}


def pick_task(codes: list[str], index: int | None, group: int) -> int:
    """The given task, else the first short animated reference with `group - 1` distinct edits."""
    if index is not None:
        return index
    for i, code in enumerate(codes):
        if "self.play" not in code or len(code) > 900 or "Tex" in code or "3D" in code:
            continue
        distinct = {v.rsplit("# rollout", 1)[0] for v in variants(code, group, "")}
        if len(distinct) >= min(group - 1, 7):
            return i
    return 0


def variants(code: str, n: int, nonce: str) -> list[str]:
    """`n` small edits of `code`: colour swaps and float tweaks, each tagged so no cache hits."""
    edits = []
    for colour in COLOURS:
        if re.search(rf"\b{colour}\b", code):
            other = COLOURS[(COLOURS.index(colour) + 3) % len(COLOURS)]
            edits.append(lambda c, a=colour, b=other: re.sub(rf"\b{a}\b", b, c))
    floats = list(re.finditer(r"(?<![\w.])(\d+\.\d+)(?![\w.])", code))
    for m in floats:
        edits.append(
            lambda c, m=m: c[: m.start()] + f"{float(m.group(1)) * 1.2:.2f}" + c[m.end() :]
        )
    edits.insert(0, lambda c: c)  # the reference itself: a perfect rollout
    out = []
    for i in range(n):
        edited = edits[i % len(edits)](code)
        out.append(f"{edited.rstrip()}\n# rollout {i} {nonce}\n")
    return out


def ours(pool, reference: str, completions: list[str]) -> tuple[float, list[float], float]:
    """(wall time of the group's reward, rewards, time of the first call incl. the reference)."""
    from manimatic.agent.prompts import answer_text
    from manimatic.train.reward_unified import UnifiedReward
    from manimatic.train.scoring import RolloutScorer

    scorer = RolloutScorer(pool, visual="vs")
    reward = UnifiedReward(scorer, WEIGHTS)
    try:
        started = time.perf_counter()
        scorer.reference(reference)
        reference_s = time.perf_counter() - started
        chat = [[{"role": "assistant", "content": answer_text(c)}] for c in completions]
        started = time.perf_counter()
        values = reward(None, chat, reference_code=[reference] * len(chat))
        wall = time.perf_counter() - started
    finally:
        scorer.close()
    return wall, values, reference_s


def study(reference: str, completions: list[str], tmp: Path) -> tuple[float, list[float]]:
    """The authors' loop: two `manim` processes per rollout, sequential, then the metrics."""
    from manimatic.metrics.code import codebleu_score
    from manimatic.metrics.frames import load_frames
    from manimatic.metrics.visual import visual_similarity

    def render(code: str, name: str) -> Path | None:
        work = tmp / name
        work.mkdir()
        (work / "scene.py").write_text(code)
        proc = subprocess.run(
            [str(BIN / "manim"), "scene.py", "-ql", "--format=mp4", "--media_dir", "media"],
            cwd=work, capture_output=True, timeout=300,
        )  # fmt: skip
        outputs = sorted((work / "media").rglob("*.mp4")) or sorted((work / "media").rglob("*.png"))
        outputs = [p for p in outputs if "partial_movie_files" not in p.parts]
        return outputs[0] if proc.returncode == 0 and outputs else None

    started = time.perf_counter()
    values = []
    for i, code in enumerate(completions):
        gen = render(code, f"gen{i}")
        ref = render(reference, f"ref{i}")
        bleu, _ = codebleu_score(reference, code)
        vs = 0.0
        if gen is not None and ref is not None:
            vs = visual_similarity(load_frames(ref), load_frames(gen)).vs
        values.append(WEIGHTS["code"] * bleu + WEIGHTS["visual"] * vs)
    return time.perf_counter() - started, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", type=int, default=None, help="ManimBench test row")
    parser.add_argument("--group", type=int, default=8, help="completions per group (G)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    codes = list(load("test")["Code"])
    index = pick_task(codes, args.task, args.group)
    reference = codes[index]

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MANIMATIC_HOME"] = str(Path(tmp) / "home")  # a cold render cache
        from manimatic.render import RenderPool

        with RenderPool(args.workers) as pool:
            warm = [
                pool.submit(f"# warm {i}\n" + codes[index], timeout=120) for i in range(pool.size)
            ]
            for f in warm:  # start every worker (once per training run, not per step)
                f.result()
            first = None
            runs = []
            for _ in range(args.repeats):
                group = variants(reference, args.group, uuid.uuid4().hex)
                wall, values, ref_s = ours(pool, reference, group)
                if first is None:
                    first = (wall, ref_s, group, values)
                runs.append(wall)
            workers = pool.size
        ours_s = statistics.median(runs)
        study_s, study_values = study(reference, first[2], Path(tmp))

    diff = max(abs(a - b) for a, b in zip(first[3], study_values, strict=True))
    print(f"task: ManimBench test row {index} ({len(reference.splitlines())} lines)")
    print(f"cores: {os.cpu_count()}  render workers: {workers}  group: {args.group}")
    print(f"rewards: {', '.join(f'{v:.3f}' for v in first[3])}")
    print(
        f"manimatic (warm pool, cached reference): {ours_s:6.2f} s  (median of {args.repeats}, "
        f"best {min(runs):.2f}; runs {', '.join(f'{r:.2f}' for r in runs)})"
    )
    print(f"  first step of a task (reference rendered too): +{first[1]:.2f} s")
    print(f"study (2 manim processes per rollout, sequential): {study_s:6.2f} s")
    print(f"speed-up: {study_s / ours_s:.1f}x   target: group < 3 s -> "
          f"{'met' if ours_s < 3 else 'missed'}")  # fmt: skip
    print(f"max |reward difference| between the two ways: {diff:.2e}")


if __name__ == "__main__":
    main()

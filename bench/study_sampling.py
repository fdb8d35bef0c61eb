"""A finished study's models, vanilla, with sampling instead of greedy decoding.

Usage: MANIMBENCH_DIR=... python bench/study_sampling.py --config configs/study_tiny_cpu.yaml
           [--dir STUDY] [--temperature 0.9] [--top-p 0.9] [--min-p 0.1] [--seed 0]

The tiny study's greedy replies often repeat one line until the token cap cuts them. This runs
the same models (base and every trained adapter) on the same test subset with the GRPO stage's
sampling settings, into its own database (STUDY/sampling.sqlite: the study's matrix is not
touched), and prints per model: RSR, CodeBLEU, replies cut inside an open bracket (the loop's
mark) and the failure categories, beside the greedy run of the same condition.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import Counter
from pathlib import Path

CUT = "%was never closed%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--temperature", type=float, default=0.9)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--min-p", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from manimatic.bench.matrix import run_matrix
    from manimatic.llm import GenerationOptions
    from manimatic.study import load_study_config
    from manimatic.study.runner import DB_FILE, eval_subset, model_specs, study_status

    config = load_study_config(args.config)
    status = study_status(config, args.dir)
    root = Path(status.directory)
    e = config.eval
    options = GenerationOptions(
        temperature=args.temperature,
        top_p=args.top_p,
        min_p=args.min_p,
        max_tokens=e.max_tokens,
        seed=args.seed,
    )
    db = root / "sampling.sqlite"
    subset = eval_subset(config)
    summary = run_matrix(
        subset,
        dict(model_specs(config, status.stages)),
        ["vanilla"],
        db=db,
        options=options,
        workers=e.workers,
        render_workers=e.render_workers,
        timeout=e.timeout,
        progress=False,
        image_embedder=None,
        code_embedder=None,
    )
    print(
        f"sampling: temperature {args.temperature}, top_p {args.top_p}, min_p {args.min_p}, "
        f"seed {args.seed}, {e.max_tokens} tokens; {len(subset.tasks)} tasks"
    )
    print("| model | decoding | RSR | CodeBLEU | cut in an open bracket | failures |")
    print("|---|---|---|---|---|---|")
    for label in config.labels:
        for name, path in (("greedy", root / DB_FILE), ("sampled", db)):
            print(_row(path, label, name))
    if summary.failed:
        print(f"{len(summary.failed)} condition(s) failed: {summary.failed[0]}")


def _row(db: Path, label: str, decoding: str) -> str:
    with sqlite3.connect(db) as con:
        runs = con.execute(
            "SELECT id FROM runs WHERE label = ? AND strategy = 'vanilla' ORDER BY created DESC",
            (label,),
        ).fetchall()
        if not runs:
            return f"| {label} | {decoding} | - | - | - | - |"
        rows = con.execute(
            "SELECT ok, codebleu, error_category, error_message LIKE ? FROM results "
            "WHERE run_id = ? AND NOT infra_error", (CUT, runs[0][0]),
        ).fetchall()  # fmt: skip
    n = len(rows)
    ok = sum(1 for r in rows if r[0])
    codebleu = [r[1] for r in rows if r[1] is not None]
    mean = f"{100 * sum(codebleu) / len(codebleu):.1f}" if codebleu else "-"
    failures = Counter(r[2] for r in rows if not r[0] and r[2])
    text = ", ".join(f"{k} {v}" for k, v in failures.most_common())
    return f"| {label} | {decoding} | {ok}/{n} | {mean} | {sum(1 for r in rows if r[3])} | {text} |"


if __name__ == "__main__":
    main()

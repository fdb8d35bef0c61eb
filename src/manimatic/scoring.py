"""The scoring core: one program and its render against a reference, by the same rules everywhere.

The benchmark (`bench.scoring.Scorer`, a result row per task) and the GRPO reward
(`train.scoring.RolloutScorer`, reward terms per rollout) are thin adapters over this module, so
an answer scores the same in a run and in training. The rules, in one place:

* Main output: a render's first video (mp4, mov, webm, gif in that order of preference), else
  its first file; its scene trace is the one at the same index (`main_output`). The report and
  the agent show the same file.
* Empty code (no code, or only whitespace) scores 0 on every code metric (`code_scores`):
  CodeBLEU alone would give an empty program about 0.25 through its data-flow term, and neither
  a benchmark nor a reward may pay for saying nothing.
* A metric that raises does not fail the task or the training step: its value is None and a
  `MetricFailure` (metric, exception type and message) is recorded. The bench stores None with a
  note (a bug must not move a mean); the reward scores the term 0 and counts it in `run.json`'s
  `metric_errors` (a reward has to be a number).
* A failed generation scores 0 on the visual metrics; a failed reference leaves them undefined
  (None): there is nothing to compare with. These two are for the adapters to apply, since only
  they know whether the reference rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from manimatic.render.result import RenderResult

FRAME_FPS = 5.0  # the study samples renders at 5 fps
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".gif")


@dataclass
class MetricFailure:
    """A metric that raised on one input.

    Attributes:
        metric: Which: code, vs, fidelity or frames (decoding an output).
        error: "Type: message" of the exception.
    """

    metric: str
    error: str

    @classmethod
    def of(cls, metric: str, exc: BaseException) -> MetricFailure:
        return cls(metric, f"{type(exc).__name__}: {exc}")

    def note(self) -> str:
        """The sentence a result row keeps."""
        if self.metric == "frames":
            return f"cannot decode frames: {self.error}"
        what = {"code": "code metrics", "vs": "VS"}.get(self.metric, self.metric)
        return f"{what} failed: {self.error}"


def pick_main(
    outputs: Sequence[str], traces: Sequence[str] | None = None
) -> tuple[str | None, str | None]:
    """(main output, its trace) from a render's output and trace lists (see the module rules)."""
    chosen = None
    for suffix in VIDEO_SUFFIXES:
        chosen = next((p for p in outputs if str(p).lower().endswith(suffix)), None)
        if chosen:
            break
    if chosen is None and outputs:
        chosen = outputs[0]
    if chosen is None:
        return None, None
    trace = None
    if traces:
        # One output and one trace per scene, in the same scene order.
        index = list(outputs).index(chosen)
        trace = traces[index] if len(traces) == len(outputs) else None
        trace = trace or (traces[0] if len(traces) == 1 else None)
    return chosen, trace


def main_output(result: RenderResult) -> tuple[str | None, str | None]:
    """The render's main output and the trace of that scene (None, None without outputs)."""
    return pick_main(result.outputs, result.traces)


def has_code(code: str | None) -> bool:
    """Whether there is a program to score at all."""
    return bool(code and code.strip())


@dataclass
class CodeScores:
    """Code metrics of one program (`metrics.code.CodeMetrics`), or the failure.

    Attributes:
        metrics: The metrics; None when they failed.
        failure: Why they failed.
    """

    metrics: Any = None
    failure: MetricFailure | None = None


def empty_code_metrics(code_embedder: Any) -> Any:
    """The metrics of no code: 0 on every similarity, no AST distance, not a syntax error."""
    from manimatic.metrics.code import CodeMetrics

    zero_bert = 0.0 if code_embedder is not None else None
    return CodeMetrics(
        codebleu=0.0,
        codebert=zero_bert,
        cbb=zero_bert,
        ast_distance=None,
        syntax_error=False,
        codebleu_components={},
        ref_syntax_error=False,
    )


def code_scores(
    reference_code: str,
    code: str,
    code_embedder: Any = None,
    *,
    codebleu_only: bool = False,
    protocol: str = "manimatic",
) -> CodeScores:
    """CodeBLEU, CodeBERT, CBB, AST distance and syntax error of `code` against the reference.

    Args:
        reference_code: The reference program.
        code: The generated program ("" for none).
        code_embedder: CodeBERT-style embedder; None leaves CodeBERT and CBB null.
        codebleu_only: Skip the AST distance and syntax check (the reward needs CodeBLEU and
            CodeBERT only, and the tree edit distance can take seconds).
        protocol: "manimatic" (ours) or "study" (the authors' tree, empty-generation rule and
            CodeBERT pooling: `metrics.code`).
    """
    study = protocol == "study"
    if not study and not has_code(code):
        return CodeScores(empty_code_metrics(code_embedder))
    try:
        if codebleu_only:
            if study and not code.strip():
                return CodeScores(empty_code_metrics(code_embedder))
            return CodeScores(_similarities(reference_code, code, code_embedder, study=study))
        if code == reference_code and not study:
            return CodeScores(_identical_code_metrics(code, code_embedder))
        from manimatic.metrics.code import code_metrics

        return CodeScores(code_metrics(reference_code, code, code_embedder, protocol=protocol))
    except Exception as exc:  # noqa: BLE001 - a metric failure is recorded, never a lost task
        return CodeScores(failure=MetricFailure.of("code", exc))


def _similarities(reference_code: str, code: str, embedder: Any, *, study: bool = False) -> Any:
    from manimatic.metrics.code import (
        CodeMetrics,
        cbb_score,
        codebert_similarity,
        codebleu_score,
        study_codebert_similarity,
    )

    similarity = study_codebert_similarity if study else codebert_similarity
    total, components = codebleu_score(reference_code, code)
    codebert = similarity(embedder, reference_code, code) if embedder else None
    return CodeMetrics(
        codebleu=total,
        codebert=codebert,
        cbb=cbb_score(total, codebert),
        ast_distance=None,
        syntax_error=None,  # type: ignore[arg-type]  # not computed
        codebleu_components=components,
        ref_syntax_error=None,  # type: ignore[arg-type]
    )


def _identical_code_metrics(code: str, embedder: Any) -> Any:
    """Code metrics of a program against itself, without the tree edit distance.

    Why: Zhang-Shasha on a 20-line program's AST can take tens of seconds, and the distance of
    a tree to itself is 0 by definition. Everything else is computed as `code_metrics` does.
    """
    from manimatic.metrics.code import codebert_similarity, pair_metrics

    codebert = codebert_similarity(embedder, code, code) if embedder else None
    return pair_metrics(code, code, codebert, lambda _a, _b: 0.0)


@dataclass
class VisualScores:
    """VS and fidelity of one rendered pair, each None when not asked for or failed.

    Attributes:
        vs: `metrics.visual.VisualSimilarity`.
        fidelity: `metrics.fidelity.Fidelity`.
        failures: The metrics that raised.
    """

    vs: Any = None
    fidelity: Any = None
    failures: list[MetricFailure] = field(default_factory=list)


def visual_scores(
    ref_frames: Any,
    gen_frames: Any,
    *,
    ref_trace: Any = None,
    gen_trace: Any = None,
    image_embedder: Any = None,
    kinds: Sequence[str] = ("vs", "fidelity"),
    timings: dict[str, float] | None = None,
) -> VisualScores:
    """The visual metrics in `kinds` of two decoded renders (frames from `metrics.frames`).

    Args:
        ref_frames, gen_frames: The reference's and the generation's sampled frames.
        ref_trace, gen_trace: Their scene traces (paths or loaded dicts), for fidelity.
        image_embedder: CLIP-style embedder for VS's semantic term (None: the SSIM term alone).
        kinds: Which metrics: "vs", "fidelity".
        timings: When given, `<kind>_s` wall times are written into it.
    """
    import time

    out = VisualScores()
    if "vs" in kinds:
        from manimatic.metrics.visual import visual_similarity

        started = time.perf_counter()
        try:
            out.vs = visual_similarity(ref_frames, gen_frames, image_embedder)
        except Exception as exc:  # noqa: BLE001 - recorded, see the module rules
            out.failures.append(MetricFailure.of("vs", exc))
        if timings is not None:
            timings["vs_s"] = round(time.perf_counter() - started, 4)
    if "fidelity" in kinds:
        from manimatic.metrics.fidelity import fidelity

        started = time.perf_counter()
        try:
            out.fidelity = fidelity(ref_frames, gen_frames, ref_trace, gen_trace)
        except Exception as exc:  # noqa: BLE001
            out.failures.append(MetricFailure.of("fidelity", exc))
        if timings is not None:
            timings["fidelity_s"] = round(time.perf_counter() - started, 4)
    return out


def load_frames(path: str, fps: float = FRAME_FPS) -> Any:
    """Decode a render's output at the scoring rate.

    Raises:
        ValueError: The file cannot be decoded.
    """
    from manimatic.metrics.frames import load_frames as _load

    return _load(path, fps=fps)

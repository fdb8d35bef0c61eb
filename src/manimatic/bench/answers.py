"""Where a task's answer comes from: the agent and a model, the reference itself, or a file.

Each answerer is configured once per run and called per task (`answer(task, ref_future)`); it
returns the final code and its render (made with scene traces, for fidelity). A failed program is
an ordinary answer; a broken model server or sandbox raises `InfraError`, which the runner records
as an infrastructure error, apart from render failures.

* `ReferenceAnswerer` (`--model reference`): the task's reference code, rendered through the same
  pool after the reference render, so it is that render's cache entry. Calibrates the harness.
* `GenerationsAnswerer` (`--generations FILE.jsonl`): code produced elsewhere, one
  `{"id", "code"}` object per line; a task with no line fails as `no_generation`.
* `AgentAnswerer`: `manimatic.agent.generate` with the run's backend, strategy and options.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.bench.datasets import Task
from manimatic.render import RenderCache, RenderPoolError, RenderResult


class BenchError(Exception):
    """A run cannot start or go on (bad dataset, unknown model, mismatched resume...)."""


class InfraError(Exception):
    """An infrastructure failure in one task: where it happened, and the record so far.

    Attributes:
        stage: llm, render, reference_render or internal.
        exc: The original exception.
        transcript: The agent's transcript up to the failure, if any.
    """

    def __init__(self, stage: str, exc: BaseException, transcript: Any = None) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.stage = stage
        self.exc = exc
        self.transcript = transcript


@dataclass
class Answer:
    """A task's answer: the final code and its render.

    Attributes:
        code: The final code ("" when there was none).
        result: Its render result.
        rounds: Render attempts made.
        transcript: The agent's transcript (dict), if a model answered.
        tokens: prompt/completion/total token sums over the model calls.
        generate_s: Time spent in model calls.
        render_s: Time spent rendering.
        error_category: Overrides the render's error category (e.g. `no_generation`).
    """

    code: str
    result: RenderResult
    rounds: int = 1
    transcript: dict[str, Any] | None = None
    tokens: dict[str, int | None] = field(default_factory=dict)
    generate_s: float = 0.0
    render_s: float = 0.0
    error_category: str | None = None


def load_generations(path: str | Path) -> dict[str, str]:
    """Read a generations file: one `{"id": ..., "code": ...}` object per line.

    Raises:
        BenchError: Missing file, or a malformed line (the message names the line).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise BenchError(f"generations file not found: {path}")
    out: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise BenchError(f"malformed generations file {where}: not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise BenchError(
                f"malformed generations file {where}: not valid JSON ({exc.msg}); each line "
                'must be {"id": "<task id>", "code": "<python>"}'
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise BenchError(
                f'malformed generations file {where}: expected {{"id": "<task id>", "code": '
                '"<python>"}} with a string id'
            )
        if not isinstance(obj.get("code"), str):
            raise BenchError(f'malformed generations file {where}: "code" must be a string')
        if obj["id"] in out:
            raise BenchError(f"malformed generations file {where}: duplicate id {obj['id']!r}")
        out[obj["id"]] = obj["code"]
    return out


@dataclass
class RenderSettings:
    """How a run renders (always with traces): its pool, quality and timeouts.

    Attributes:
        pool: The render pool.
        quality: Render quality letter.
        timeout: Seconds per render of generated code.
        reference_timeout: Seconds per render of a reference program (the study's 300 s).
        preflight: Run the static preflight before rendering (off under the study's protocol).
    """

    pool: Any
    quality: str = "l"
    timeout: float = 120.0
    reference_timeout: float = 300.0
    preflight: bool = True

    def submit(self, code: str) -> Future:
        """Render generated code."""
        return submit_traced(
            self.pool, code, quality=self.quality, timeout=self.timeout, preflight=self.preflight
        )

    def submit_reference(self, code: str) -> Future:
        """Render a reference program (its own, longer timeout)."""
        return submit_traced(
            self.pool,
            code,
            quality=self.quality,
            timeout=self.reference_timeout,
            preflight=self.preflight,
        )

    def answer(self, code: str, *, reference: bool = False) -> Answer:
        """Render `code` as a one-attempt answer (`reference`: with the reference timeout)."""
        started = time.perf_counter()
        try:
            future = self.submit_reference(code) if reference else self.submit(code)
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - the pool broke, not the program
            raise InfraError("render", exc) from exc
        return Answer(code=code, result=result, render_s=time.perf_counter() - started)


class ReferenceAnswerer:
    """Answers every task with its reference code."""

    def __init__(self, render: RenderSettings) -> None:
        self.render = render

    def answer(self, task: Task, ref_future: Future) -> Answer:
        # Wait for the reference first, so that this render is its cache entry.
        try:
            ref = ref_future.result()
        except Exception as exc:  # noqa: BLE001
            raise InfraError("reference_render", exc) from exc
        if not ref.ok and not RenderCache.cacheable(ref):
            # A timeout (or memory) failure is never cached: rendering again would only spend
            # another full timeout to fail the same way.
            return Answer(code=task.reference_code, result=ref)
        return self.render.answer(task.reference_code, reference=True)


class GenerationsAnswerer:
    """Answers with code from a generations file."""

    def __init__(self, render: RenderSettings, codes: dict[str, str], path: str) -> None:
        self.render = render
        self.codes = codes
        self.path = path

    def answer(self, task: Task, ref_future: Future) -> Answer:
        code = self.codes.get(task.id)
        if code is None:
            return Answer(
                code="",
                result=RenderResult.failure(
                    "preflight",
                    "no_scene",
                    "NoGenerationError",
                    f"no generation for task {task.id} in {self.path}",
                ),
                error_category="no_generation",
            )
        return self.render.answer(code)


class AgentAnswerer:
    """Answers with the agent's loop (`manimatic.agent.generate`), under the run's protocol."""

    def __init__(
        self,
        render: RenderSettings,
        backend: Any,
        strategy: Any,
        options: Any,
        protocol: Any = None,
        prompts: Any = None,
    ) -> None:
        self.render = render
        self.backend = backend
        self.strategy = strategy
        self.options = options
        self.protocol = protocol
        self.prompts = prompts

    def answer(self, task: Task, ref_future: Future) -> Answer:
        from manimatic.agent import generate
        from manimatic.llm import LLMError

        try:
            out = generate(
                task.prompt,
                self.backend,
                self.strategy,
                pool=TracingPool(self.render.pool),  # type: ignore[arg-type]
                options=self.options,
                quality=self.render.quality,
                timeout=self.render.timeout,
                protocol=self.protocol,
                prompts=self.prompts,
                log=False,  # the bench store keeps every task's transcript already
            )
        except LLMError as exc:
            raise InfraError("llm", exc, getattr(exc, "transcript", None)) from exc
        except RenderPoolError as exc:
            raise InfraError("render", exc, getattr(exc, "transcript", None)) from exc
        transcript = out.transcript
        tokens = transcript.token_totals()
        return Answer(
            code=out.code,
            result=out.result,
            rounds=out.rounds,
            transcript=transcript.to_dict(),
            tokens=tokens,
            generate_s=sum(r.llm_s for r in transcript.rounds),
            render_s=sum(r.render_s for r in transcript.rounds),
        )


class TracingPool:
    """The run's pool as the agent sees it: every render also records the scene trace.

    Why: fidelity compares traces, and rendering the final code again with tracing would cost a
    second render per task.
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def render(self, code: str, **options: Any) -> RenderResult:
        return self.submit(code, **options).result()

    def submit(self, code: str, **options: Any) -> Future:
        options.pop("trace", None)
        return submit_traced(self._pool, code, **options)


def submit_traced(pool: Any, code: str, **options: Any) -> Future:
    """Render with a scene trace (the recorder never changes whether a program renders)."""
    return pool.submit(code, trace=True, **options)

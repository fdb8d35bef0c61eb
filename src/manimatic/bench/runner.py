"""`run_bench`: run a model (or the references, or code made elsewhere) over a dataset, resumably.

    from manimatic.bench import Condition, run_bench
    summary = run_bench("manimbench", "openai:gpt-4.1", "ritl-doc", label="base", limit=10)
    summary = run_bench(Condition(model="openai:gpt-4.1", strategy="ritl-doc", label="base"))
    summary.rsr, summary.mean_vs, summary.run_id

What a run is given is one `Condition` (`bench.condition`); the keywords of the short form are
its fields.

A run is identified by what determines its results: the dataset (resolved spec, split, type
filter), the model, the strategy with its arguments, the label, and the protocol and prompt
templates when they are not the defaults (so runs made before those existed keep their ids).
Running the same command again finds the same run and does only the tasks it has not stored
(`--limit` is not part of the identity: `--limit 10` then no limit extends the run). A task that
hit an infrastructure error is retried.

Per task, in a thread pool (`workers` tasks in flight; the render pool renders in parallel):

1. The reference is rendered through the same pool (`trace=True`), all of them queued first;
   the render cache keeps each reference once, by content.
2. The answer: the agent's loop for a model spec; the reference code itself for
   `model="reference"` (calibrates the harness: RSR = the references' render rate, VS = 1); or
   the code given for the task in a `{"id", "code"}` JSONL file (`generations=`). Rendered with
   scene traces for fidelity.
3. Metrics (`scoring.Scorer`), then one row in the store, in its own transaction.

An LLM or sandbox error is recorded as an infrastructure error (not a failed render) and the run
goes on; after `max_consecutive_infra` of them in a row the run stops (the server is down, say),
keeping what it has. A resume retries them. Any other exception is a bug in manimatic: the task
stores nothing, its traceback goes to `<db>-logs/<run id>.log`, and the run stops with `BenchBug`
(the tasks done are kept; the same command resumes after the fix).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from manimatic.bench.analysis import RunSummary, summarize, summary_intervals
from manimatic.bench.answers import (
    AgentAnswerer,
    BenchError,
    GenerationsAnswerer,
    InfraError,
    ReferenceAnswerer,
    RenderSettings,
    load_generations,
)
from manimatic.bench.condition import Condition, make_condition
from manimatic.bench.datasets import (
    DatasetError,
    Task,
    TaskSet,
    check_usable,
    load_dataset,
    resolve_spec,
)
from manimatic.bench.environment import ProgressBar, embedder_name, resolve_embedder
from manimatic.bench.layout import answer_findings
from manimatic.bench.run_record import (
    BenchBug,  # noqa: F401 - re-exported: manimatic.bench.runner.BenchBug
    RunInterrupted,
    aborted_error,
    bug_error,
    check_resume,
    open_run,
    resume_notes,
)
from manimatic.bench.scoring import FRAME_FPS, FrameCache, ScoreCache, Scorer, answer_row, infra_row
from manimatic.bench.store import (
    FORMAT_VERSION,
    RunRecord,
    Store,
    content_hash,
    run_id_for,
)
from manimatic.llm.base import request_context
from manimatic.render import RenderPoolError

NO_STRATEGY = {"name": "none"}  # reference / generations: no generation loop

ResultCallback = Callable[[dict[str, Any]], None]


def run_bench(
    dataset: str | TaskSet | Condition,
    model_spec: str | None = None,
    strategy: str | None = None,
    *,
    db: str | Path | Store | None = None,
    backend: Any = None,
    pool: Any = None,
    on_result: ResultCallback | None = None,
    **settings: Any,
) -> RunSummary:
    """Run (or resume) one benchmark condition and store every task's result.

    Either `run_bench(Condition(...))` or the short form `run_bench(dataset, model_spec,
    strategy, **settings)`, whose settings are `Condition` fields (label, rounds, limit,
    quality, timeout, workers, generations, options, embedders...: see `Condition`).

    Args:
        dataset: A `Condition`, or its `dataset` (a spec for `load_dataset`, or a TaskSet).
        model_spec: The condition's `model` (short form).
        strategy: The condition's `strategy` (short form).
        db: Database file or open Store (default: the user data dir's `bench.sqlite`).
        backend: An already built backend to use instead of building the model spec (its spec
            identifies the run); the caller keeps ownership.
        pool: A RenderPool to use (the caller keeps ownership).
        on_result: Called with each stored row (in the calling thread).
        **settings: Condition fields, set on (or changed in) the condition.

    Returns:
        The run's summary.

    Raises:
        TypeError: A setting that is not a Condition field.
        BenchError: Bad settings, dataset, model, strategy or generations file; a resume whose
            settings differ from the stored run; a run still going on in another process; or
            too many infrastructure errors in a row (`status` aborted; what was done is kept).
    """
    started = time.perf_counter()
    if isinstance(dataset, Condition):
        condition = make_condition(dataset, **settings)
    else:
        condition = make_condition(
            dataset=dataset, model=model_spec or "", strategy=strategy or "vanilla", **settings
        )
    runner = _Runner(condition, on_result=on_result)
    try:
        return runner.run(db=db, backend=backend, pool=pool, started=started)
    finally:
        runner.close()


# --- the run ------------------------------------------------------------------------------------


class _Runner:
    def __init__(self, condition: Condition, *, on_result: ResultCallback | None) -> None:
        self.condition = condition
        self.workers = condition.workers
        self.quality = condition.quality
        self.timeout = condition.render_timeout
        self.protocol = condition.protocol_object
        self.max_consecutive_infra = condition.max_consecutive_infra
        self.progress = condition.progress
        self.on_result = on_result
        self._closers: list[Callable[[], None]] = []
        self._ref_futures: dict[str, Future] = {}
        self._ref_lock = threading.Lock()
        self._stop = threading.Event()
        self._infra_lock = threading.Lock()
        self._consecutive_infra = 0
        self._abort_reason: str | None = None
        self._bug: tuple[str, Exception, str] | None = None
        self.render = RenderSettings(
            pool=None,
            quality=self.quality,
            timeout=self.timeout,
            reference_timeout=condition.ref_timeout,
            preflight=self.protocol.preflight,
        )
        self.answerer: Any = None
        self.options: Any = None
        self.generations: dict[str, str] | None = None
        self._engine: str | None = None  # a gguf: model's engine, as the identity records it
        self.notes: list[str] = []
        self.scorer = Scorer()
        self.display: ProgressBar | None = None
        self._retry: set[str] = set()  # stored failures run again (`retry_failed`)
        self._wanted: set[str] = set()

    def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()

    # ------------------------------------------------------------------ setup

    def run(self, *, db: Any, backend: Any, pool: Any, started: float) -> RunSummary:
        c = self.condition
        taskset, dataset_spec = self._load(c.dataset, c.split, c.types)
        model_id, strategy, extra_identity = self._plan(backend)
        # The embedders decide what VS and CBB mean, so they are part of the identity: a run
        # resumed without CLIP must not mix SSIM-only rows into a mean of SSIM x CLIP ones.
        # Resolving them here loads their weights even for a resume with nothing left to do.
        image = resolve_embedder(c.image_embedder, "image")
        code = resolve_embedder(c.code_embedder, "code")
        identity = {
            "format": FORMAT_VERSION,
            "dataset": dataset_spec,
            "split": c.split,
            "types": sorted({t.lower() for t in c.types}) if c.types else None,
            "model": model_id,
            "strategy": strategy.to_dict() if strategy is not None else NO_STRATEGY,
            "label": c.label,
            "embedders": {"image": embedder_name(image), "code": embedder_name(code)},
            **extra_identity,
            **self._protocol_identity(strategy),
        }
        store = db if isinstance(db, Store) else Store(db)
        if not isinstance(db, Store):
            self._closers.append(store.close)
        wanted = taskset.tasks[: c.limit] if c.limit else taskset.tasks
        existing = store.find_run(run_id_for(identity))
        if existing is not None:
            check_resume(existing, taskset, self._resume_settings())
            self._retry = self._retry_ids(store, existing.id, wanted)
            if not ({t.id for t in wanted} - store.done_task_ids(existing.id)) | self._retry:
                # Nothing left to do: no model or render pool is loaded.
                return self._finish(store, existing, True, taskset, wanted, [], self.notes, started)
        self._wanted = {t.id for t in wanted}
        if self.progress:
            self.display = ProgressBar(len(wanted), run_id_for(identity))
            self._closers.append(self.display.close)
        # Heavy setup (model, render pool) only when there is work.
        self.scorer = Scorer(
            image_embedder=image,
            code_embedder=code,
            frames=FrameCache(fps=FRAME_FPS),
            cache=ScoreCache() if c.score_cache else None,
            code_protocol=self.protocol.code_metrics,
        )
        run_options = {
            "generation": self.options.to_dict() if self.options is not None else None,
            "quality": self.quality,
            "timeout": self.timeout,
            "reference_timeout": self.render.reference_timeout,
            "protocol": self.protocol.to_dict(),
            "prompts": _prompts_record(c.prompt_set) if strategy is not None else None,
            "workers": self.workers,
            "base_url": c.base_url,
            "frame_fps": FRAME_FPS,
            "image_embedder": embedder_name(self.scorer.image_embedder),
            "code_embedder": embedder_name(self.scorer.code_embedder),
        }
        self._phase("loading the model" if strategy is not None else "preparing the answers")
        self._build_answerer(strategy, backend)  # before the record: a bad model makes none
        self._phase("starting render workers")
        self._open_pool(pool, c.render_workers, c.executor)
        run, resumed = open_run(
            store, identity, taskset, dataset_spec, run_options, self._resume_settings()
        )
        notes = self.notes + (resume_notes(run, run_options) if resumed else [])
        if resumed and not self._retry:
            self._retry = self._retry_ids(store, run.id, wanted)
        if self._retry:
            notes.append(f"retrying {len(self._retry)} stored failure(s)")
        done = store.done_task_ids(run.id)
        todo = [t for t in wanted if t.id not in done or t.id in self._retry]
        self._phase("rendering references")
        for task in todo:  # references first: the pool renders them while answers are made
            self._reference(task)
        aborted = self._loop(store, run, todo, len(wanted))
        summary = self._finish(store, run, resumed, taskset, wanted, todo, notes, started)
        if self._bug is not None:
            store.update_run(run.id, status="failed")
            task_id, exc, trace = self._bug
            raise bug_error(store.path, run.id, task_id, exc, trace)
        if aborted:
            summary.status = "aborted"
            store.update_run(run.id, status="aborted")
            raise aborted_error(summary, aborted)
        return summary

    def _protocol_identity(self, strategy: Any) -> dict[str, Any]:
        """The protocol and prompts, where they are not the defaults (they change the results).

        The prompts count only when a model generates: a reference or generations run sends
        no prompt.
        """
        c = self.condition
        extra: dict[str, Any] = {}
        if c.protocol != "manimatic":
            extra["protocol"] = c.protocol
        if strategy is not None and c.prompts is not None:
            extra["prompts_sha"] = _prompts_record(c.prompt_set)["sha"]
        return extra

    def _load(
        self, dataset: str | TaskSet, split: str, types: list[str] | None
    ) -> tuple[TaskSet, str]:
        if isinstance(dataset, TaskSet):
            try:
                return check_usable(dataset), dataset.source
            except DatasetError as exc:
                raise BenchError(str(exc)) from None
        try:
            taskset = check_usable(load_dataset(dataset, split=split, types=types))
            return taskset, resolve_spec(dataset)
        except DatasetError as exc:
            raise BenchError(str(exc)) from None

    def _plan(self, backend: Any) -> tuple[str, Any, dict]:
        """Check the answer's source cheaply: (model id, strategy or None, extra identity)."""
        c = self.condition
        no_loop = c.generations is not None or (backend is None and c.model == "reference")
        if no_loop and (
            c.strategy not in ("vanilla", "none") or c.rounds is not None or c.doc_pass or c.critic
        ):
            self.notes.append(
                "the strategy, its rounds and critic rounds do not apply to reference or "
                "generations runs "
                "(the code is given, nothing is generated): ignored"
            )
        if c.generations is not None:
            path = Path(c.generations).expanduser()
            self.generations = load_generations(path)
            sha = content_hash(path.read_bytes().decode("utf-8", errors="replace"))
            return f"generations:{path.resolve()}", None, {"generations_sha": sha}
        spec = c.model
        if backend is not None:
            spec = getattr(backend, "spec", None) or spec
        elif not spec:
            raise BenchError("no model: give --model SPEC, --model reference or --generations.")
        elif spec == "reference":
            return "reference", None, {}
        from manimatic.agent import strategy_from_name
        from manimatic.llm import GenerationOptions

        try:
            strategy = strategy_from_name(
                c.strategy, rounds=c.rounds, doc_pass=c.doc_pass, critic=c.critic or None
            )
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        self.options = c.options if c.options is not None else GenerationOptions()
        return spec, strategy, self._engine_identity(spec, backend)

    def _engine_identity(self, spec: str, backend: Any) -> dict[str, Any]:
        """{"engine": ...} for a `gguf:` model: llama.cpp (quantized) and transformers (fp32)
        give different numbers, so a run resumed on the other engine is another run."""
        from manimatic.llm import LLMError
        from manimatic.llm.gguf import planned_engine

        if not spec.startswith("gguf:"):
            return {}
        engine = getattr(backend, "engine", None) if backend is not None else None
        try:
            engine = engine or planned_engine(spec)
        except LLMError as exc:
            raise BenchError(f"model {spec}: {exc}") from None
        self._engine = engine
        return {} if engine is None else {"engine": engine}

    def _build_answerer(self, strategy: Any, backend: Any) -> None:
        c = self.condition
        if self.generations is not None:
            path = str(Path(c.generations).expanduser().resolve())  # type: ignore[arg-type]
            self.answerer = GenerationsAnswerer(self.render, self.generations, path)
            return
        if strategy is None:
            self.answerer = ReferenceAnswerer(self.render)
            return
        from manimatic.llm import LLMError, get_backend

        if backend is None:
            try:
                backend = get_backend(c.model, **c.llm_settings())
            except LLMError as exc:
                raise BenchError(f"model {c.model}: {exc}") from None
            self._closers.append(backend.close)
        planned, actual = self._engine, getattr(backend, "engine", None)
        if planned is not None and actual is not None and actual != planned:
            raise BenchError(
                f"model {c.model} was to run on {planned} (this run's identity says so) but "
                f"loaded on {actual} (see the note above); fix that, or set "
                f"MANIMATIC_GGUF_ENGINE={actual} to make that a run of its own."
            )
        self.answerer = AgentAnswerer(
            self.render, backend, strategy, self.options, self.protocol, c.prompt_set
        )

    def _resume_settings(self) -> dict[str, Any]:
        """The settings a resume must repeat (the rest may change: see `resume_notes`)."""
        return {
            "generation": self.options.to_dict() if self.options else None,
            "quality": self.quality,
        }

    def _open_pool(self, pool: Any, render_workers: int | None, executor: str) -> None:
        if pool is not None:
            self.render.pool = pool
            return
        from manimatic.executors import make_executor

        try:
            self.render.pool = make_executor(executor, workers=render_workers)
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        except RenderPoolError as exc:
            raise BenchError(f"the render sandbox cannot start: {exc}") from None
        self._closers.append(self.render.pool.close)

    # ------------------------------------------------------------------ execution

    def _finish(
        self,
        store: Store,
        run: RunRecord,
        resumed: bool,
        taskset: TaskSet,
        wanted: list[Task],
        todo: list[Task],
        notes: list[str],
        started: float,
    ) -> RunSummary:
        """Summarise the run from its stored rows and record its status and stats."""
        rows = store.results(run.id)
        stats = summarize(rows)
        overall = stats["overall"]
        done = overall["n"]
        status = "done" if done >= len(taskset) else "incomplete"
        store.update_run(run.id, status=status, stats=stats, pid=None)
        unknown: list[str] = []
        missing = 0
        if self.generations is not None:
            unknown = sorted(set(self.generations) - set(taskset.by_id()))
            missing = sum(1 for t in wanted if t.id not in self.generations)
        means = overall["means"]
        todo_ids = {t.id for t in todo}
        return RunSummary(
            run_id=run.id,
            model=run.model,
            strategy=run.strategy,
            label=run.label,
            db=str(store.path),
            status=status,
            resumed=resumed,
            total=len(taskset),
            done=done,
            skipped=len(wanted) - len(todo),
            new=sum(1 for r in rows if r["task_id"] in todo_ids and not r["infra_error"]),
            ok=overall["ok"],
            rsr=overall["rsr"],
            mean_vs=means.get("vs"),
            mean_fidelity=means.get("fidelity"),
            mean_codebleu=means.get("codebleu"),
            mean_cbb=means.get("cbb"),
            infra_errors=overall["infra_errors"],
            ref_failures=overall["ref_failures"],
            unknown_generation_ids=unknown,
            missing_generations=missing,
            dataset_problems=[str(p) for p in taskset.problems],
            notes=notes + stats["notes"],
            elapsed_s=time.perf_counter() - started,
            stats=stats,
            **summary_intervals(stats),
            protocol=run.protocol,
        )

    def _loop(self, store: Store, run: RunRecord, todo: list[Task], total: int) -> str | None:
        """Answer and score the tasks; returns the last error when the run had to stop.

        Ctrl-C finishes (and stores) the tasks in flight; a second Ctrl-C stops at once. Either
        way `RunInterrupted` says how much is stored and how to resume.
        """
        display = self.display
        if display:
            display.start_tasks(len(todo), total - len(todo))
        executor = ThreadPoolExecutor(self.workers, thread_name_prefix="bench-task")
        futures = [executor.submit(self._guarded_task, run.id, t) for t in todo]
        try:
            for future in as_completed(futures):
                self._store_row(store, future, display)
                if self._stop.is_set():
                    for f in futures:
                        f.cancel()
        except KeyboardInterrupt:
            self._stop.set()
            for f in futures:
                f.cancel()
            in_flight = [f for f in futures if not f.done()]
            hard = False
            if in_flight:
                self._say(
                    f"finishing {len(in_flight)} task(s) in flight (Ctrl-C again to stop now)"
                )
                try:
                    for future in as_completed(in_flight):
                        self._store_row(store, future, display)
                except KeyboardInterrupt:
                    hard = True
            store.update_run(run.id, status="interrupted", pid=None)
            executor.shutdown(wait=False, cancel_futures=True)
            if display:
                display.close()
            stored = len(store.done_task_ids(run.id) & self._wanted)
            left = f" ({len(in_flight)} in flight abandoned)" if hard else ""
            raise RunInterrupted(
                f"interrupted{left}: {stored}/{total} stored; run the same command to resume",
                hard=hard,
            ) from None
        except BaseException:
            self._stop.set()
            for f in futures:
                f.cancel()
            store.update_run(run.id, status="interrupted", pid=None)
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            if display:
                display.close()
        executor.shutdown(wait=True)
        return self._abort_reason

    def _store_row(self, store: Store, future: Future, display: Any) -> None:
        row = None if future.cancelled() else future.result()
        if row is None:  # not started: the run is stopping
            return
        store.add_result(row, replace=row["task_id"] in self._retry)
        if self.on_result is not None:
            self.on_result(row)
        if display:
            display.advance(row)

    def _retry_ids(self, store: Store, run_id: str, wanted: list[Task]) -> set[str]:
        """Stored failures to run again under `retry_failed` (empty when not asked)."""
        cats = self.condition.retry_failed
        if cats is None:
            return set()
        ids = {t.id for t in wanted}
        return store.failed_task_ids(run_id, cats or None) & ids

    def _phase(self, text: str) -> None:
        """What the run is doing before the first task ends (shown instead of 0/N)."""
        if self.display:
            self.display.phase(text)

    def _say(self, text: str) -> None:
        if self.display:
            self.display.say(text)
        else:
            logging.getLogger("manimatic.bench").warning("%s", text)

    def _guarded_task(self, run_id: str, task: Task) -> dict[str, Any] | None:
        """`_task`, skipped once the run is stopping; counts infrastructure errors in a row.

        Counted here, as tasks finish, rather than in the writer loop: tasks that fail fast
        (a server that refuses connections) would otherwise all finish before the loop sees
        the first of them.
        """
        if self._stop.is_set():
            return None
        row = self._task(run_id, task)
        if row is None:
            return None
        with self._infra_lock:
            if not row["infra_error"]:
                self._consecutive_infra = 0
            else:
                self._consecutive_infra += 1
                if (
                    self._consecutive_infra >= self.max_consecutive_infra
                    and not self._stop.is_set()
                ):
                    self._abort_reason = row["error_message"] or "infrastructure error"
                    self._stop.set()
        return row

    def _reference(self, task: Task) -> Future:
        """The task's reference render (one per distinct reference code, queued once)."""
        key = content_hash(task.reference_code)
        with self._ref_lock:
            future = self._ref_futures.get(key)
            if future is None:
                future = self.render.submit_reference(task.reference_code)
                self._ref_futures[key] = future
            return future

    def _task(self, run_id: str, task: Task) -> dict[str, Any] | None:
        """One task, start to row (failures become the row); None after a bug (`_record_bug`)."""
        started = time.perf_counter()
        row: dict[str, Any] = {
            "run_id": run_id,
            "task_id": task.id,
            "task_hash": task.content_hash(),
            "tags": task.tags,
            "prompt": task.prompt,
        }
        try:
            ref_future = self._reference(task)
            with request_context(task_id=task.id, run_id=run_id):  # scripted: replies by task
                answer = self.answerer.answer(task, ref_future)
            try:
                ref = ref_future.result()
            except Exception as exc:  # noqa: BLE001 - the pool broke, not the reference
                raise InfraError("reference_render", exc) from exc
            scored = self.scorer.score(task.reference_code, ref, answer.code, answer.result)
        except InfraError as infra:
            return infra_row(row, infra, started)
        except Exception as exc:  # noqa: BLE001 - a bug: stop the run and say so (see _bug)
            self._record_bug(task, exc)
            return None
        row = answer_row(row, answer, ref, scored, started)
        row["findings"], critic_s = answer_findings(answer.result)
        row["timings"]["critic_s"] = round(critic_s, 4)
        return row

    def _record_bug(self, task: Task, exc: Exception) -> None:
        """Keep the first bug (its traceback goes to the run's log) and stop the run.

        A bug is neither a failed answer (it would count against the model) nor an
        infrastructure error (it would leave RSR's denominator quietly, run after run): the
        task stores nothing, so a resume after the fix does it, and the run ends with `BenchBug`.
        """
        with self._infra_lock:
            if self._bug is None:
                self._bug = (task.id, exc, traceback.format_exc())
            self._stop.set()


def _prompts_record(prompts: Any) -> dict[str, Any]:
    """What a run stores of its prompt templates: name, source and a hash of their text."""
    return {"name": prompts.name, "source": prompts.source, "sha": content_hash(prompts.templates)}

"""`run_bench`: run a model (or the references, or code made elsewhere) over a dataset, resumably.

    from manimatic.bench import run_bench
    summary = run_bench("manimbench", "openai:gpt-4.1", "ritl-doc", label="base", limit=10)
    summary.rsr, summary.mean_vs, summary.run_id

A run is identified by what determines its results: the dataset (resolved spec, split, type
filter), the model, the strategy with its arguments, and the label. Running the same command
again finds the same run and does only the tasks it has not stored (`--limit` is not part of
the identity: `--limit 10` then no limit extends the run). A task that hit an infrastructure
error is retried.

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
keeping what it has.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from manimatic.bench.analysis import RunSummary, summarize
from manimatic.bench.answers import (
    AgentAnswerer,
    BenchError,
    GenerationsAnswerer,
    InfraError,
    ReferenceAnswerer,
    RenderSettings,
    load_generations,
)
from manimatic.bench.datasets import DatasetError, Task, TaskSet, load_dataset, resolve_spec
from manimatic.bench.environment import (
    ProgressBar,
    embedder_name,
    git_state,
    resolve_embedder,
    versions,
)
from manimatic.bench.scoring import FRAME_FPS, FrameCache, ScoreCache, Scorer, answer_row, infra_row
from manimatic.bench.store import (
    FORMAT_VERSION,
    RunRecord,
    Store,
    StoreError,
    content_hash,
    now_iso,
    run_id_for,
)
from manimatic.render import RenderPoolError

DEFAULT_TIMEOUT = 120.0  # the study allows 300 s; 120 s covers every ManimBench reference
DEFAULT_WORKERS = 4
MAX_CONSECUTIVE_INFRA = 10
NO_STRATEGY = {"name": "none"}  # reference / generations: no generation loop

ResultCallback = Callable[[dict[str, Any]], None]


def run_bench(
    dataset: str | TaskSet,
    model_spec: str,
    strategy: str = "vanilla",
    *,
    label: str | None = None,
    workers: int | None = None,
    limit: int | None = None,
    db: str | Path | Store | None = None,
    rounds: int | None = None,
    doc_pass: bool | None = None,
    split: str = "test",
    types: list[str] | None = None,
    generations: str | Path | None = None,
    base_url: str | None = None,
    options: Any = None,
    backend: Any = None,
    quality: str = "l",
    timeout: float = DEFAULT_TIMEOUT,
    render_workers: int | None = None,
    executor: str = "local",
    pool: Any = None,
    image_embedder: Any = "auto",
    code_embedder: Any = "auto",
    max_consecutive_infra: int = MAX_CONSECUTIVE_INFRA,
    score_cache: bool = True,
    progress: bool = False,
    on_result: ResultCallback | None = None,
) -> RunSummary:
    """Run (or resume) one benchmark condition and store every task's result.

    Args:
        dataset: A dataset spec for `load_dataset` (or a loaded TaskSet; its `source` then
            identifies it).
        model_spec: A model spec (`openai:...`, `hf:...`, `scripted:...`), or `reference`.
            Ignored when `generations` is given.
        strategy: vanilla, ritl or ritl-doc (not used for reference or generations).
        label: Condition label (e.g. base, sft, grpo); part of the run's identity.
        workers: Tasks in flight at once (default 4).
        limit: Do at most the first `limit` tasks of the task set (resuming skips stored ones).
        db: Database file or open Store (default: the user data dir's `bench.sqlite`).
        rounds: Feedback rounds for ritl / ritl-doc.
        doc_pass: RITL-DOC's documentation pass (default on).
        split: train, test or all.
        types: Keep only these task types.
        generations: A JSONL file of `{"id", "code"}` to score instead of generating.
        base_url: OpenAI-compatible server URL for `openai:` models.
        options: `GenerationOptions` for the model (default ones).
        backend: An already built backend to use instead of building `model_spec` (its spec
            identifies the run); the caller keeps ownership.
        quality: Render quality (l = 480p15, the study's).
        timeout: Seconds per render.
        render_workers: Size of the render pool created when `pool` is None (default: CPUs).
        executor: Where that pool runs jobs: local, ray or ray:ADDRESS (`make_executor`).
        pool: A RenderPool to use (the caller keeps ownership).
        image_embedder: "auto" (CLIP when its weights load), None, or an ImageEmbedder.
        code_embedder: "auto" (CodeBERT when its weights load), None, or a CodeEmbedder.
        max_consecutive_infra: Stop after this many infrastructure errors in a row.
        score_cache: Reuse scores computed before for the same renders, code and metric code
            (`scoring.ScoreCache`); False recomputes every metric.
        progress: Show a rich progress bar on stderr.
        on_result: Called with each stored row (in the calling thread).

    Returns:
        The run's summary.

    Raises:
        BenchError: Bad dataset, model, strategy or generations file; a resume whose settings
            differ from the stored run; a run still going on in another process; or too many
            infrastructure errors in a row (`status` aborted; what was done is kept).
    """
    started = time.perf_counter()
    runner = _Runner(
        workers=workers or DEFAULT_WORKERS,
        quality=quality,
        timeout=float(timeout),
        max_consecutive_infra=max_consecutive_infra,
        progress=progress,
        on_result=on_result,
    )
    try:
        return runner.run(
            dataset=dataset,
            model_spec=model_spec,
            strategy=strategy,
            label=label,
            limit=limit,
            db=db,
            rounds=rounds,
            doc_pass=doc_pass,
            split=split,
            types=types,
            generations=generations,
            base_url=base_url,
            options=options,
            backend=backend,
            render_workers=render_workers,
            executor=executor,
            pool=pool,
            image_embedder=image_embedder,
            code_embedder=code_embedder,
            score_cache=score_cache,
            started=started,
        )
    finally:
        runner.close()


# --- the run ------------------------------------------------------------------------------------


class _Runner:
    def __init__(
        self,
        *,
        workers: int,
        quality: str,
        timeout: float,
        max_consecutive_infra: int,
        progress: bool,
        on_result: ResultCallback | None,
    ) -> None:
        if workers < 1:
            raise BenchError(f"workers must be at least 1; got {workers}.")
        if quality not in ("l", "m", "h"):
            raise BenchError(f"quality must be l, m or h; got {quality!r}.")
        if not timeout > 0:
            raise BenchError(f"timeout must be positive seconds; got {timeout}.")
        self.workers = workers
        self.quality = quality
        self.timeout = timeout
        self.max_consecutive_infra = max(1, max_consecutive_infra)
        self.progress = progress
        self.on_result = on_result
        self._closers: list[Callable[[], None]] = []
        self._ref_futures: dict[str, Future] = {}
        self._ref_lock = threading.Lock()
        self._stop = threading.Event()
        self._infra_lock = threading.Lock()
        self._consecutive_infra = 0
        self._abort_reason: str | None = None
        self.render = RenderSettings(pool=None, quality=quality, timeout=timeout)
        self.answerer: Any = None
        self.options: Any = None
        self.generations: dict[str, str] | None = None
        self.notes: list[str] = []
        self.scorer = Scorer()

    def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()

    # ------------------------------------------------------------------ setup

    def run(
        self, *, dataset: str | TaskSet, model_spec: str, started: float, **kw: Any
    ) -> RunSummary:
        if kw["limit"] is not None and kw["limit"] < 1:
            raise BenchError(f"limit must be a positive number of tasks; got {kw['limit']}.")
        taskset, dataset_spec = self._load(dataset, kw["split"], kw["types"])
        model_id, strategy, extra_identity = self._plan(model_spec, kw)
        identity = {
            "format": FORMAT_VERSION,
            "dataset": dataset_spec,
            "split": kw["split"],
            "types": sorted({t.lower() for t in kw["types"]}) if kw["types"] else None,
            "model": model_id,
            "strategy": strategy.to_dict() if strategy is not None else NO_STRATEGY,
            "label": kw["label"],
            **extra_identity,
        }
        store = kw["db"] if isinstance(kw["db"], Store) else Store(kw["db"])
        if not isinstance(kw["db"], Store):
            self._closers.append(store.close)
        wanted = taskset.tasks[: kw["limit"]] if kw["limit"] else taskset.tasks
        existing = store.find_run(run_id_for(identity))
        if existing is not None:
            self._check_resume(existing, taskset)
            if not {t.id for t in wanted} - store.done_task_ids(existing.id):
                # Nothing left to do: no model, embedder or render pool is loaded.
                return self._finish(store, existing, True, taskset, wanted, [], self.notes, started)
        # Heavy setup (model, embedders, render pool) only when there is work.
        self.scorer = Scorer(
            image_embedder=resolve_embedder(kw["image_embedder"], "image"),
            code_embedder=resolve_embedder(kw["code_embedder"], "code"),
            frames=FrameCache(fps=FRAME_FPS),
            cache=ScoreCache() if kw["score_cache"] else None,
        )
        run_options = {
            "generation": self.options.to_dict() if self.options is not None else None,
            "quality": self.quality,
            "timeout": self.timeout,
            "workers": self.workers,
            "base_url": kw["base_url"],
            "frame_fps": FRAME_FPS,
            "image_embedder": embedder_name(self.scorer.image_embedder),
            "code_embedder": embedder_name(self.scorer.code_embedder),
        }
        self._build_answerer(model_spec, strategy, kw)  # before the record: a bad model makes none
        self._open_pool(kw["pool"], kw["render_workers"], kw["executor"])
        run, resumed = self._open_run(store, identity, taskset, dataset_spec, run_options)
        notes = self.notes + (self._resume_notes(run, run_options) if resumed else [])
        todo = [t for t in wanted if t.id not in store.done_task_ids(run.id)]
        for task in todo:  # references first: the pool renders them while answers are made
            self._reference(task)
        aborted = self._loop(store, run, todo)
        summary = self._finish(store, run, resumed, taskset, wanted, todo, notes, started)
        if aborted:
            summary.status = "aborted"
            store.update_run(run.id, status="aborted")
            raise _aborted_error(summary, aborted)
        return summary

    def _load(
        self, dataset: str | TaskSet, split: str, types: list[str] | None
    ) -> tuple[TaskSet, str]:
        if isinstance(dataset, TaskSet):
            return dataset, dataset.source
        try:
            return load_dataset(dataset, split=split, types=types), resolve_spec(dataset)
        except DatasetError as exc:
            raise BenchError(str(exc)) from None

    def _plan(self, model_spec: str, kw: dict[str, Any]) -> tuple[str, Any, dict]:
        """Check the answer's source cheaply: (model id, strategy or None, extra identity)."""
        no_loop = kw["generations"] is not None or (
            kw["backend"] is None and (model_spec or "").strip() == "reference"
        )
        if no_loop and (
            kw["strategy"] not in ("vanilla", "none") or kw["rounds"] is not None or kw["doc_pass"]
        ):
            self.notes.append(
                "the strategy and its rounds do not apply to reference or generations runs "
                "(the code is given, nothing is generated): ignored"
            )
        if kw["generations"] is not None:
            path = Path(kw["generations"]).expanduser()
            self.generations = load_generations(path)
            sha = content_hash(path.read_bytes().decode("utf-8", errors="replace"))
            return f"generations:{path.resolve()}", None, {"generations_sha": sha}
        spec = (model_spec or "").strip()
        if kw["backend"] is not None:
            spec = getattr(kw["backend"], "spec", None) or spec
        elif not spec:
            raise BenchError("no model: give --model SPEC, --model reference or --generations.")
        elif spec == "reference":
            return "reference", None, {}
        from manimatic.agent import strategy_from_name
        from manimatic.llm import GenerationOptions

        try:
            strategy = strategy_from_name(
                kw["strategy"], rounds=kw["rounds"], doc_pass=kw["doc_pass"]
            )
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        self.options = kw["options"] if kw["options"] is not None else GenerationOptions()
        return spec, strategy, {}

    def _build_answerer(self, model_spec: str, strategy: Any, kw: dict[str, Any]) -> None:
        if self.generations is not None:
            path = str(Path(kw["generations"]).expanduser().resolve())
            self.answerer = GenerationsAnswerer(self.render, self.generations, path)
            return
        if strategy is None:
            self.answerer = ReferenceAnswerer(self.render)
            return
        from manimatic.llm import LLMError, get_backend

        backend = kw["backend"]
        if backend is None:
            try:
                backend = get_backend(model_spec.strip(), base_url=kw["base_url"])
            except LLMError as exc:
                raise BenchError(f"model {model_spec}: {exc}") from None
            self._closers.append(backend.close)
        self.answerer = AgentAnswerer(self.render, backend, strategy, self.options)

    def _check_resume(self, run: RunRecord, taskset: TaskSet) -> None:
        """Refuse to resume a run that another process is running, or with other settings."""
        if run.live_status == "running" and run.pid != os.getpid():
            raise BenchError(
                f"run {run.id} is in progress in process {run.pid} on {run.host}; wait for it, "
                "or stop that process and run this command again to resume."
            )
        if run.dataset_hash != taskset.content_hash():
            raise BenchError(
                f"run {run.id} was made on different data ({run.dataset_source}): the tasks "
                "changed since; give a new --label to start a separate run."
            )
        now = {"generation": self.options.to_dict() if self.options else None}
        now["quality"] = self.quality
        for key, value in now.items():
            stored = (run.options or {}).get(key)
            if stored != value:
                raise BenchError(
                    f"run {run.id} was started with {key} {json.dumps(stored)}, not "
                    f"{json.dumps(value)}; resume it with the same settings, or give a new "
                    "--label for a separate run."
                )

    def _open_run(
        self,
        store: Store,
        identity: dict[str, Any],
        taskset: TaskSet,
        dataset_spec: str,
        run_options: dict[str, Any],
    ) -> tuple[RunRecord, bool]:
        info = versions()
        commit, dirty = git_state()
        record = RunRecord(
            id=run_id_for(identity),
            identity=identity,
            created=now_iso(),
            updated=now_iso(),
            status="running",
            format_version=FORMAT_VERSION,
            dataset_spec=dataset_spec,
            dataset_split=identity["split"],
            dataset_filters={"types": identity["types"]},
            dataset_hash=taskset.content_hash(),
            dataset_source=taskset.source,
            total=len(taskset),
            model=identity["model"],
            strategy=identity["strategy"]["name"],
            strategy_args={k: v for k, v in identity["strategy"].items() if k != "name"},
            label=identity["label"],
            options=run_options,
            manimatic_version=info["manimatic"],
            manim_version=info["manim"],
            torch_version=info["torch"],
            python_version=info["python"],
            git_commit=commit,
            git_dirty=dirty,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        try:
            run, created = store.get_or_create_run(record)
        except StoreError as exc:
            raise BenchError(str(exc)) from None
        if created:
            return run, False
        self._check_resume(run, taskset)  # again: another process may have started meanwhile
        store.update_run(
            run.id, status="running", pid=os.getpid(), host=socket.gethostname(), total=len(taskset)
        )
        return run, True

    def _resume_notes(self, run: RunRecord, run_options: dict[str, Any]) -> list[str]:
        notes = []
        for key in ("image_embedder", "code_embedder", "timeout"):
            before, now = (run.options or {}).get(key), run_options.get(key)
            if before != now:
                notes.append(
                    f"resumed with {key} {now!r} where the run started with {before!r}: "
                    "earlier rows keep their values"
                )
        return notes

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
        )

    def _loop(self, store: Store, run: RunRecord, todo: list[Task]) -> str | None:
        """Answer and score the tasks; returns the last error when the run had to stop."""
        display = ProgressBar(len(todo), run.id) if self.progress else None
        executor = ThreadPoolExecutor(self.workers, thread_name_prefix="bench-task")
        futures = [executor.submit(self._guarded_task, run.id, t) for t in todo]
        try:
            for future in as_completed(futures):
                row = None if future.cancelled() else future.result()
                if row is None:  # not started: the run is stopping
                    continue
                store.add_result(row)
                if self.on_result is not None:
                    self.on_result(row)
                if display:
                    display.advance(row)
                if self._stop.is_set():
                    for f in futures:
                        f.cancel()
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

    def _guarded_task(self, run_id: str, task: Task) -> dict[str, Any] | None:
        """`_task`, skipped once the run is stopping; counts infrastructure errors in a row.

        Counted here, as tasks finish, rather than in the writer loop: tasks that fail fast
        (a server that refuses connections) would otherwise all finish before the loop sees
        the first of them.
        """
        if self._stop.is_set():
            return None
        row = self._task(run_id, task)
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
                future = self.render.submit(task.reference_code)
                self._ref_futures[key] = future
            return future

    def _task(self, run_id: str, task: Task) -> dict[str, Any]:
        """One task, start to row; never raises (failures become the row)."""
        started = time.perf_counter()
        row: dict[str, Any] = {
            "run_id": run_id,
            "task_id": task.id,
            "task_hash": task.content_hash(),
            "tags": task.tags,
        }
        try:
            ref_future = self._reference(task)
            answer = self.answerer.answer(task, ref_future)
            try:
                ref = ref_future.result()
            except Exception as exc:  # noqa: BLE001 - the pool broke, not the reference
                raise InfraError("reference_render", exc) from exc
            scored = self.scorer.score(task.reference_code, ref, answer.code, answer.result)
        except InfraError as infra:
            return infra_row(row, infra, started)
        except Exception as exc:  # noqa: BLE001 - a bug in one task must not end the run
            detail = traceback.format_exc(limit=8)
            return infra_row(row, InfraError("internal", exc), started, detail)
        return answer_row(row, answer, ref, scored, started)


def _aborted_error(summary: RunSummary, last_error: str) -> BenchError:
    err = BenchError(
        f"run {summary.run_id} stopped after repeated infrastructure errors (last: "
        f"{last_error}); {summary.done} task(s) are stored. Fix the cause and run the same "
        "command again to resume."
    )
    err.summary = summary  # type: ignore[attr-defined]
    return err

"""The studio's work: generations that stream their rounds, and re-renders of edited code.

A `Studio` owns one sandboxed `RenderPool` (every render the viewer starts goes through it: the
agent's rounds and the user's edited code alike) and a table of jobs. A job runs
`agent.generate` in a thread and appends one event per finished round; the page reads them as
server-sent events (`events_since`), so a page opened late, or reconnecting, still sees every
round from the first. Generations are logged like any other (`source="studio"`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manimatic.agent.strategies import MAX_ROUNDS, STRATEGIES, strategy_from_name
from manimatic.scoring import pick_main

MAX_DESCRIPTION_CHARS = 5000
MAX_ACTIVE_JOBS = 2  # the machine renders one or two scenes at a time; more would only queue
MAX_KEPT_JOBS = 50
RENDER_TIMEOUT_S = 60.0


class StudioError(ValueError):
    """A request the studio refuses (bad input, too many jobs); the message says why."""


@dataclass
class Job:
    """One studio generation.

    Attributes:
        id: Random id (the page's handle on it).
        description: What was asked.
        model: The model spec.
        strategy: The strategy's name.
        events: `(event name, payload)` in order: `round` per finished round, then `done` or
            `error`.
        finished: No more events will come.
        created: time.time() when it started.
    """

    id: str
    description: str
    model: str
    strategy: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finished: bool = False
    created: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def push(self, name: str, payload: dict[str, Any], *, last: bool = False) -> None:
        with self._lock:
            self.events.append((name, payload))
            self.finished = self.finished or last

    def events_since(self, index: int) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Events from `index` on, and whether the job has finished."""
        with self._lock:
            return list(self.events[index:]), self.finished


def studio_models() -> list[dict[str, Any]]:
    """Model specs a user can pick here and now, each `{"spec", "note", "base_url"}`: the list
    `manimatic models` prints (`llm.catalog.list_models`). Any other spec
    (`scripted:FILE.jsonl`, `ollama:NAME`...) can be typed in the studio.
    """
    from manimatic.llm.catalog import list_models

    return [
        {"spec": e.spec, "note": e.note or e.source, "base_url": e.base_url} for e in list_models()
    ]


def _server_url(spec: str) -> str | None:
    """The server a listed server model was found on (only servers have one)."""
    from manimatic.llm.catalog import server_entries

    return next((e.base_url for e in server_entries() if e.spec == spec), None)


class Studio:
    """Generations and re-renders for the studio page.

    Args:
        pool: A render pool to use; None makes one (one worker) on first use, closed by `close`.
        render_event: Turns a finished round (a `Round`, and its 1-based position among the
            job's calls) into the `round` event's payload (the page's HTML fragment for it);
            kept outside so the page's templates own the layout.
        media_url: A render output path -> its served URL (None when not served).
        log_path: The generation log the studio's generations go to (None: the default).
    """

    def __init__(
        self,
        *,
        pool: Any = None,
        render_event: Callable[[Any, int], dict[str, Any]] | None = None,
        media_url: Callable[[str | None], str | None] = lambda p: None,
        log_path: str | Path | None = None,
    ) -> None:
        self._pool = pool
        self._own_pool = pool is None
        self._pool_lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.render_event = render_event or (lambda rnd, index: {"attempt": rnd.attempt})
        self.media_url = media_url
        self.log_path = log_path

    @property
    def pool(self) -> Any:
        with self._pool_lock:
            if self._pool is None:
                from manimatic.render import RenderPool

                self._pool = RenderPool(1)
            return self._pool

    def close(self) -> None:
        with self._jobs_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=RENDER_TIMEOUT_S)
        with self._pool_lock:
            if self._own_pool and self._pool is not None:
                self._pool.close()
                self._pool = None

    # ------------------------------------------------------------------ generations

    def start(self, description: Any, model: Any, strategy: Any, rounds: Any = None) -> Job:
        """Validate a request and start its generation in a thread.

        Raises:
            StudioError: Empty or oversized description, empty model, unknown strategy, bad
                rounds, a model spec no backend takes, or too many generations running.
        """
        from manimatic.llm import LLMError, get_backend

        if not isinstance(description, str) or not description.strip():
            raise StudioError("describe the animation first (the description is empty).")
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise StudioError(
                f"the description is {len(description)} characters; keep it under "
                f"{MAX_DESCRIPTION_CHARS}."
            )
        if not isinstance(model, str) or not model.strip():
            raise StudioError("choose a model (e.g. openai:gpt-4.1 or scripted:FILE.jsonl).")
        if strategy not in STRATEGIES:
            raise StudioError(f"unknown strategy {strategy!r}; choose {', '.join(STRATEGIES)}.")
        if rounds in ("", None):
            rounds = None
        try:
            if rounds is not None:
                rounds = int(rounds)
                if not 0 <= rounds <= MAX_ROUNDS:
                    raise ValueError(f"rounds must be from 0 to {MAX_ROUNDS}; got {rounds}.")
            chosen = strategy_from_name(strategy, rounds=None if strategy == "vanilla" else rounds)
        except (TypeError, ValueError) as exc:
            raise StudioError(str(exc)) from None
        with self._jobs_lock:
            active = sum(1 for j in self._jobs.values() if not j.finished)
            if active >= MAX_ACTIVE_JOBS:
                raise StudioError(f"{active} generations are running; wait for one to finish.")
        # A server model from the list runs against the server it was found on.
        base_url = _server_url(model.strip())
        try:
            backend = get_backend(model.strip(), base_url=base_url)
        except LLMError as exc:
            raise StudioError(f"model {model.strip()}: {exc}") from None
        job = Job(uuid.uuid4().hex[:12], description.strip(), model.strip(), chosen.name)
        with self._jobs_lock:
            self._jobs[job.id] = job
            self._forget_old()
        thread = threading.Thread(
            target=self._run, args=(job, backend, chosen), name=f"studio-{job.id}", daemon=True
        )
        with self._jobs_lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.created)
        for old in finished[: max(0, len(self._jobs) - MAX_KEPT_JOBS)]:
            self._jobs.pop(old.id, None)

    def _run(self, job: Job, backend: Any, strategy: Any) -> None:
        from manimatic.agent import generate

        calls = 0

        def on_round(rnd: Any) -> None:
            nonlocal calls
            calls += 1
            job.push("round", self.render_event(rnd, calls))

        try:
            with backend:
                result = generate(
                    job.description,
                    backend,
                    strategy,
                    pool=self.pool,
                    timeout=RENDER_TIMEOUT_S,
                    on_round=on_round,
                    log=self.log_path,  # None: the default log, unless MANIMATIC_NO_LOG
                    log_source="studio",
                )
        except Exception as exc:  # noqa: BLE001 - an LLM or sandbox failure ends the job, said
            job.push("error", {"message": f"{type(exc).__name__}: {exc}"}, last=True)
            return
        job.push(
            "done",
            {
                "ok": result.success,
                "rounds": result.rounds,
                "code": result.code,
                "error": result.error,
                "video_url": self.media_url(result.video),
                "video": result.video,
            },
            last=True,
        )

    # ------------------------------------------------------------------ re-render

    def render(self, code: Any) -> dict[str, Any]:
        """Render edited code through the sandboxed pool.

        Returns:
            `{"ok", "error", "video_url", "video", "elapsed_s"}`.

        Raises:
            StudioError: No code, or code over the agent's size limit.
        """
        from manimatic.agent import MAX_CODE_BYTES, error_summary

        if not isinstance(code, str) or not code.strip():
            raise StudioError("there is no code to render.")
        size = len(code.encode("utf-8", errors="replace"))
        if size > MAX_CODE_BYTES:
            raise StudioError(f"the code is {size:,} bytes, over the {MAX_CODE_BYTES:,} limit.")
        result = self.pool.render(code, quality="l", timeout=RENDER_TIMEOUT_S)
        video = None
        if result.ok and result.outputs:
            video, _ = pick_main(result.outputs)
        return {
            "ok": result.ok,
            "error": None if result.ok else error_summary(result),
            "video": video,
            "video_url": self.media_url(video),
            "elapsed_s": result.elapsed_s,
        }

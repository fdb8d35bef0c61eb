"""The warm, sandboxed render pool: `code -> RenderResult`, many at a time.

Each worker is a long-lived process (inside bubblewrap when available) that has imported manim
once and forks a fresh child per job. The pool hands jobs to idle workers from a thread per
slot, restarts a worker that dies or stops answering, and keeps serving: a job that breaks its
worker is reported as a `sandbox` failure. Only a pool that cannot start workers at all raises
`RenderPoolError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from manimatic import paths
from manimatic.render import sandbox as sbx
from manimatic.render import scratch, validate
from manimatic.render.cache import RenderCache, render_key
from manimatic.render.job import failure
from manimatic.render.quality import check_quality
from manimatic.render.result import RenderError, RenderPoolError, RenderResult

if TYPE_CHECKING:
    from manimatic.render.preflight import CheckReport

# What `--format` may be (manim's names); png is the last frame only, as manim's -s.
OUTPUT_FORMATS = ("mp4", "gif", "webm", "mov", "png")

SandboxMode = Literal["auto", "bwrap", "none"]
WORKER_START_TIMEOUT_S = 120.0
REPLY_GRACE_S = 90.0  # beyond the job timeout: leftovers, traceback dump, output check (60 s)
MAX_OUTPUT_BYTES = 4 * 1024**3


@dataclass
class RenderRequest:
    """One render job, as the caller asked for it."""

    code: str
    scene: str | list[str] | None = None  # one name, several (rendered in this order), or all
    quality: str = "l"
    timeout: float = 60.0
    dry_run: bool = False
    trace: bool = False
    preflight: bool = True
    use_cache: bool = True
    tex_template: str | None = None
    file: str | None = None  # shown in results; the code is always passed as text
    out_dir: Path | None = None  # copy outputs here (they always live in the cache entry)
    format: str = "mp4"  # mp4 | gif | webm | mov | png (png: the last frame only, manim's -s)

    def __post_init__(self) -> None:
        check_quality(self.quality)
        if self.format not in OUTPUT_FORMATS:
            raise ValueError(
                f"format must be one of {', '.join(OUTPUT_FORMATS)} (got {self.format!r})"
            )
        if isinstance(self.scene, (list, tuple)):
            self.scene = list(self.scene) if len(self.scene) > 1 else (self.scene or [None])[0]
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive seconds (got {self.timeout!r})")

    def key(self) -> str:
        return render_key(
            self.code,
            self.scene,
            self.quality,
            dry_run=self.dry_run,
            trace=self.trace,
            tex_template=self.tex_template,
            output_format=self.format,
        )


def _user_process_count() -> int:
    """Processes of this uid: RLIMIT_NPROC counts them all, so a job's limit adds to it."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += os.stat(f"/proc/{entry}").st_uid == uid
    return count


def _sandbox_failure(type_: str, message: str) -> dict:
    return failure("sandbox", "sandbox", type_, message, scenes=[], outputs=[], traces=[])


class _Worker:
    """One warm worker process and its private scratch directory.

    Layout of the scratch dir: `job/` is the job's world (a size-capped tmpfs under bwrap),
    holding the logs (opened by the worker) and `run/`, the job's directory; `out/` is where the
    worker's validator copies checked outputs, writable by the worker's uid only.
    """

    def __init__(
        self, index: int, scratch_root: Path, use_bwrap: bool, disk_mb: int = sbx.DEFAULT_DISK_MB
    ) -> None:
        self.index = index
        self.scratch = scratch_root / f"w{index}"
        self.use_bwrap = use_bwrap
        self.disk_mb = disk_mb
        self.proc: subprocess.Popen | None = None
        self.log_path = scratch_root / f"w{index}.log"
        self.drop_uid = self._drop_uid()
        # Started as root with a job uid to drop to: the worker itself runs as WORKER_UID.
        self.worker_uid = sbx.WORKER_UID if self.drop_uid is not None else None

    @property
    def out_root(self) -> Path:
        return self.scratch / "out"

    def _drop_uid(self) -> int | None:
        if os.geteuid() != 0:
            return None
        if self.use_bwrap:  # home dirs become open tmpfs mounts; other closed dirs still count
            closed = [
                p
                for p in sbx.runtime_paths()
                if sbx._closed_ancestor(p) not in (None, Path("/root"), Path("/home"))
            ]
            return None if closed else sbx.UNPRIVILEGED_UID
        return sbx.UNPRIVILEGED_UID if sbx.can_drop_privileges() else None

    def _make_scratch(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        (self.scratch / "job").mkdir(mode=0o711)  # root's: the job cannot rename its logs
        self.out_root.mkdir(mode=0o755)
        if self.worker_uid is not None:
            os.chown(self.scratch, self.worker_uid, self.worker_uid)
            os.chown(self.out_root, self.worker_uid, self.worker_uid)
        self.scratch.chmod(0o711)  # a job running as `nobody` must reach its job dir
        (self.scratch / "job").chmod(0o711)

    def start(self) -> None:
        self._make_scratch()
        argv = [sys.executable, "-m", "manimatic.render.worker", str(self.scratch)]
        if self.drop_uid is not None:
            argv += ["--drop-uid", str(self.drop_uid), "--worker-uid", str(self.worker_uid)]
        if self.use_bwrap:
            argv = sbx.bwrap_command(
                sbx.bwrap_path(),
                self.scratch,
                argv,
                job_root=self.scratch / "job",
                disk_mb=self.disk_mb,
                privileged=os.geteuid() == 0,
            )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": str(self.scratch),
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        }
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=self.scratch,
                start_new_session=True,
                text=True,
                bufsize=1,
                errors="replace",
            )
        finally:
            log.close()
        ready = self._read_line(WORKER_START_TIMEOUT_S)
        try:
            ok = bool(ready) and json.loads(ready).get("ready") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            self.kill()
            raise RenderPoolError(
                f"render worker failed to start (log {self.log_path}):\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _read_line(self, timeout: float) -> str | None:
        assert self.proc and self.proc.stdout
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        return self.proc.stdout.readline() or None

    def run(self, job: dict) -> dict:
        """Send a job; the worker's reply, or a sandbox failure if the worker broke.

        Anything but one JSON object answering this very job (its id) fails the job and
        restarts the worker, so a bad reply can never be taken as another job's result.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin
        job = {**job, "id": uuid.uuid4().hex}
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self._read_line(float(job["timeout"]) + REPLY_GRACE_S)
        except (BrokenPipeError, OSError, ValueError):
            line = None
        if line is None:
            alive = self.proc.poll() is None
            self.kill()
            why = "stopped responding" if alive else "died"
            return _sandbox_failure(
                "WorkerError", f"the render worker {why} during this job; it was restarted"
            )
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or reply.get("id") != job["id"]:
            self.kill()
            return _sandbox_failure(
                "ProtocolError",
                "the render worker sent a malformed or unexpected reply for this job; "
                "the job failed and the worker was restarted",
            )
        return reply

    def kill(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class PoolStats:
    submitted: int = 0
    cache_hits: int = 0
    rendered: int = 0
    preflight_failures: int = 0


class JobRunner(Protocol):
    """Where a job dict actually runs: local warm workers, or Ray actors (executors/ray.py)."""

    slots: int  # jobs it can run at once

    def run(self, job: dict) -> dict:
        """Run one job; the worker's reply with `outputs`/`traces` as local file paths."""
        ...

    def close(self) -> None: ...


NO_BWRAP_AS_ROOT = (
    "refusing to render as root without bubblewrap: LLM-written code would run with root's "
    "rights and only an audit hook (no security boundary) in its way; install bubblewrap "
    "(apt install bubblewrap) or pass --sandbox none to accept that risk explicitly"
)


class LocalRunner:
    """Warm sandboxed worker processes on this machine, one job at a time each.

    Args:
        workers: worker processes (default: CPU count).
        sandbox: "auto", "bwrap" or "none" (see `RenderPool`). "auto" without a working
            bubblewrap refuses to run as root.
        disk_mb: size of each worker's job-directory tmpfs (bubblewrap only).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        sandbox: SandboxMode = "auto",
        disk_mb: int = sbx.DEFAULT_DISK_MB,
    ) -> None:
        self.slots = max(1, workers or os.cpu_count() or 1)
        bwrap = sbx.bwrap_path() if sandbox != "none" else None
        if sandbox == "bwrap" and not bwrap:
            raise RenderPoolError(
                "bubblewrap was required but does not work here "
                "(install it: apt install bubblewrap)"
            )
        if sandbox == "auto" and not bwrap and os.geteuid() == 0:
            raise RenderPoolError(NO_BWRAP_AS_ROOT)
        self.use_bwrap = bool(bwrap)
        if sandbox == "auto" and not bwrap:
            sbx.warn_no_bwrap_once()
        self._scratch = scratch.create(paths.cache_dir() / "scratch")
        self.scratch_root = self._scratch.root
        self.restarts = 0
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for i in range(self.slots):
            self._idle.put(_Worker(i, self.scratch_root, self.use_bwrap, disk_mb))

    def run(self, job: dict) -> dict:
        job = dict(job)
        if os.geteuid() != 0:  # RLIMIT_NPROC counts all of this user's processes
            limits = dict(job["limits"])
            limits["processes"] += _user_process_count()
            job["limits"] = limits
        worker = self._idle.get()
        try:
            was_running = worker.proc is not None
            reply = worker.run(job)
            # Copy the files out before the worker's next job clears its out dir.
            try:
                reply = _collect_outputs(reply, worker.out_root, self.scratch_root / "out")
            except validate.UnsafeFile as exc:
                worker.kill()  # only a subverted worker hands back such a file
                reply = _sandbox_failure("UnsafeOutput", f"output refused: {exc}")
            if worker.proc is None and was_running:
                self.restarts += 1
            return reply
        finally:
            self._idle.put(worker)

    def worker_pids(self) -> list[int]:
        """PIDs of the running worker processes (bwrap's, when sandboxed)."""
        workers = list(self._idle.queue)
        return [w.proc.pid for w in workers if w.proc is not None]

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().kill()
        self._scratch.close()


class RenderPool:
    """Render many programs in parallel through warm, sandboxed workers.

    The pool is the one front every caller uses (CLI, agent, bench, rewards): cache lookup,
    static preflight, then the job runs on its runner (local workers by default, Ray actors with
    `manimatic.executors.make_executor("ray")`), and outputs land in the content-addressed store.

    Args:
        workers: parallel renders (default: CPU count).
        sandbox: "auto" (bubblewrap when it works here, else rlimits + warning), "bwrap"
            (required), or "none" (rlimits, audit hook and timeout only).
        limits: per-job resource limits.
        cache: a RenderCache, True for the default one, False for none.
        runner: where jobs run; default a LocalRunner of `workers` warm workers.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        sandbox: SandboxMode = "auto",
        limits: sbx.Limits | None = None,
        cache: RenderCache | bool = True,
        runner: JobRunner | None = None,
    ) -> None:
        self.limits = limits or sbx.Limits()
        self.runner = runner or LocalRunner(workers, sandbox=sandbox, disk_mb=self.limits.disk_mb)
        self.size = self.runner.slots
        self.cache = RenderCache.default() if cache is True else (cache or None)
        # Outputs always land in a content-addressed store; with the cache off it is only written.
        self.store = self.cache or RenderCache(paths.cache_dir() / "renders-uncached")
        self.stats = PoolStats()
        self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="render")
        self._closed = False

    # ------------------------------------------------------------------ public API

    def submit(self, code: str, **options: object) -> Future[RenderResult]:
        """Queue a render; options are `RenderRequest` fields (scene, quality, timeout...)."""
        request = RenderRequest(code=code, **options)  # type: ignore[arg-type]
        return self.submit_request(request)

    def submit_request(self, request: RenderRequest) -> Future[RenderResult]:
        if self._closed:
            raise RenderPoolError("the render pool is closed")
        self.stats.submitted += 1
        return self._executor.submit(self._render, request)

    def render(self, code: str, **options: object) -> RenderResult:
        """Render one program and wait for its result."""
        return self.submit(code, **options).result()

    def map(self, requests: list[RenderRequest]) -> list[RenderResult]:
        """Render all requests in parallel; results in input order."""
        futures = [self.submit_request(r) for r in requests]
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.runner.close()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _render(self, request: RenderRequest) -> RenderResult:
        started = time.monotonic()
        key = request.key()
        # The static check comes first, cache or not: a result must not depend on what happens
        # to be cached (code the preflight refuses would otherwise pass on a warm cache where a
        # run without preflight had rendered it). It is deterministic and takes milliseconds.
        report = _static_check(request) if request.preflight else None
        if report is not None and not report.ok:
            result = _preflight_failure(request, report)
            self.stats.preflight_failures += 1
            result.elapsed_s = time.monotonic() - started
            return result
        if self.cache and request.use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                hit.file = request.file
                hit.elapsed_s = time.monotonic() - started
                return _deliver(hit, request.out_dir)
        try:
            reply = self.runner.run(self._job(request))
        except RenderPoolError:
            raise  # the pool itself is broken (no worker starts, Ray lost): not this job's fault
        except Exception as exc:  # noqa: BLE001 - whatever a job did, it gets one result
            reply = _sandbox_failure(type(exc).__name__, f"the render runner failed: {exc}")
        self.stats.rendered += 1
        result = result_from_reply(reply, dry_run=request.dry_run)
        result.file = request.file
        if not result.scenes:  # the job died before it said: the static check's names
            result.scenes = (report or _static_check(request)).scenes
        if self.store.cacheable(result) or result.outputs:
            result = self.store.put(key, result)
        result.elapsed_s = time.monotonic() - started
        return _deliver(result, request.out_dir)

    def _job(self, request: RenderRequest) -> dict:
        """The job as it travels to a worker: code and options, never file paths."""
        return {
            "code": request.code,
            "scene": request.scene,
            "quality": request.quality,
            "timeout": request.timeout,
            "dry_run": request.dry_run,
            "trace": request.trace,
            "tex_template": request.tex_template,
            "format": request.format,
            "limits": self.limits.to_dict(),
        }


def _collect_outputs(reply: dict, source_root: Path, out_root: Path) -> dict:
    """Copy the reply's files, each a regular file strictly inside `source_root`, to our side.

    The worker already validated and decoded them; this is the host's own check that it only
    ever reads what the worker staged (no symlink, no path elsewhere), copied, never moved.
    """
    if not reply.get("outputs") and not reply.get("traces"):
        return reply
    target = Path(tempfile.mkdtemp(prefix="job-", dir=_ensure(out_root)))
    for kind in ("outputs", "traces"):
        paths_in = reply.get(kind) or []
        if not isinstance(paths_in, list):
            raise validate.UnsafeFile(f"{kind} is not a list")
        reply[kind] = [
            str(validate.copy_inside(source_root, str(src), target, MAX_OUTPUT_BYTES))
            for src in paths_in
        ]
    return reply


def result_from_reply(reply: object, *, dry_run: bool = False) -> RenderResult:
    """A runner's reply as a RenderResult; a malformed one is a `sandbox` failure of this job.

    Fields are reduced to the contract (known stages and categories, bounded text), and `ok`
    needs outputs unless it was a dry run.
    """
    try:
        if not isinstance(reply, dict):
            raise TypeError("the reply is not an object")
        raw_error = reply.get("error")
        error = validate.sanitize_error(raw_error) if raw_error is not None else None
        ok = reply.get("ok") is True and error is None
        outputs = [str(p) for p in reply.get("outputs") or []]
        traces = [str(p) for p in reply.get("traces") or []]
        if ok and not dry_run and not outputs:
            ok = False
            message = "the render reported no output file"
            error = failure("output", "no_output", "NoOutputError", message)["error"]
        if not ok and error is None:
            error = failure(
                "sandbox", "sandbox", "ProtocolError", "the render failed without an error"
            )["error"]
        result = RenderResult(
            ok=ok,
            scenes=validate.names(reply.get("scenes")),
            stage=None if ok else validate.sanitize_stage(reply.get("stage")),
            error=RenderError.from_dict(error) if error else None,
            outputs=outputs,
            traces=traces,
            elapsed_s=float(reply.get("elapsed_s") or 0.0),
            stdout=validate.text(reply.get("stdout"), 20_000) or "",
            stderr=validate.text(reply.get("stderr"), 20_000) or "",
            truncated=bool(reply.get("truncated")),
        )
        if not ok and result.error and result.error.category == "no_output":
            result.stage = result.stage if result.stage != "sandbox" else "output"
        return result
    except (TypeError, ValueError, KeyError) as exc:
        return RenderResult.failure(
            "sandbox", "sandbox", "ProtocolError", f"malformed render reply ({exc})"
        )


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _deliver(result: RenderResult, out_dir: Path | None) -> RenderResult:
    """Copy outputs to the caller's directory, if one was asked for."""
    return result if out_dir is None else copy_outputs(result, Path(out_dir))


def copy_outputs(result: RenderResult, out_dir: Path) -> RenderResult:
    """The result with its outputs copied into `out_dir` (created when needed)."""
    if not result.outputs:
        return result
    out_dir = _ensure(out_dir)
    copied = []
    for src in result.outputs:
        dst = out_dir / Path(src).name
        shutil.copyfile(src, dst)
        copied.append(str(dst.resolve()))
    return dataclasses.replace(result, outputs=copied)


def _static_check(request: RenderRequest) -> CheckReport:
    """The preflight's `CheckReport` of the request's code (static: nothing is executed)."""
    # Imported here, not at the top: the preflight imports the render package, whose __init__
    # imports this module. An import failure is a bug and surfaces (no silent unchecked render).
    from manimatic.render.preflight import check_code

    return check_code(request.code, request.file)


def _preflight_failure(request: RenderRequest, report: CheckReport) -> RenderResult:
    """A failed static check as a RenderResult (stage `preflight`)."""
    finding = report.findings[0]
    lines = request.code.splitlines()
    excerpt = lines[finding.line - 1] if finding.line and 0 < finding.line <= len(lines) else None
    return RenderResult.failure(
        "preflight",
        finding.category,
        finding.error_type,  # what the runtime would raise: NameError, AttributeError...
        finding.message,
        file=request.file,
        scenes=report.scenes,
        line=finding.line,
        excerpt=excerpt,
        hint=finding.suggestion,
    )

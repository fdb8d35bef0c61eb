"""A warm render worker: imports manim once, then forks a fresh child per job.

Run by the pool (inside bubblewrap when available) as
``python -m manimatic.render.worker SCRATCH_DIR [--drop-uid UID] [--worker-uid UID]``. It speaks
JSON lines: one job per line on stdin, one reply per line on the original stdout, each reply
carrying the job's `id`. The job child (`manimatic.render.job`) cannot reach that channel (it
closes every descriptor above 2 and runs as another uid), so it cannot answer for itself or for
the jobs after it.

The reply is the worker's own account of what it observed: the child's exit status, processes
it left behind, its logs read through descriptors the worker opened before the job started, and
its outputs, which a validator child with no privileges copies out of the job directory
(regular files only, no symlinks, never moved) and decodes before anything counts as `ok`.

Started as root (`--worker-uid`), the worker runs as that uid with root only as its saved uid:
it switches back briefly to prepare and clean up a job's directory and to kill the job's
leftovers (another uid's processes), and never while it handles anything the job wrote.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import select
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.render.job import CODE_NAME, QUALITIES, REPORT_NAME, failure

LOG_TAIL_BYTES = 16_000
VALIDATE_TIMEOUT_S = 60.0  # decoding every frame of the outputs; the pool waits for it
MAX_VERDICT_BYTES = 4_000_000


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


@dataclass
class Identity:
    """Who the worker and its jobs run as.

    Attributes:
        job_uid: the uid a job drops to (None: the job keeps the worker's uid).
        worker_uid: the worker's own uid when started as root (None: not root, nothing to switch).
    """

    job_uid: int | None = None
    worker_uid: int | None = None

    @property
    def privileged(self) -> bool:
        return self.worker_uid is not None

    def become_worker(self) -> None:
        """From root: run as `worker_uid`, keeping root only as the saved uid."""
        if not self.privileged:
            _prctl(4, 0)  # PR_SET_DUMPABLE 0: a same-uid job cannot open /proc/<worker>/fd
            return
        os.setgroups([])
        os.setresgid(0, self.worker_uid, 0)
        os.setresuid(0, self.worker_uid, 0)
        _prctl(1, signal.SIGKILL)  # a credential change clears the parent-death signal

    @contextlib.contextmanager
    def root(self):
        """Root for the block (directory setup, cleanup, killing the job's processes)."""
        if not self.privileged:
            yield
            return
        os.seteuid(0)
        try:
            yield
        finally:
            os.seteuid(self.worker_uid)
            _prctl(1, signal.SIGKILL)

    def drop_for_good(self) -> None:
        """In a child: become `worker_uid` for good (no saved root, no capabilities)."""
        if not self.privileged:
            return
        os.seteuid(0)
        os.setgroups([])
        os.setresgid(self.worker_uid, self.worker_uid, self.worker_uid)
        os.setresuid(self.worker_uid, self.worker_uid, self.worker_uid)


def _read_tail(fd: int) -> tuple[str, bool]:
    """The last LOG_TAIL_BYTES of a log, read through the worker's own descriptor."""
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - LOG_TAIL_BYTES)
        data = os.pread(fd, LOG_TAIL_BYTES, start)
    except OSError:
        return "", False
    return data.decode("utf-8", errors="replace"), size > LOG_TAIL_BYTES


# --------------------------------------------------------------------------- processes


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_leftovers(job_pgid: int) -> int:
    """Kill the job's process group and every process it left behind.

    Returns how many distinct processes other than the job itself were still alive (each is
    counted once, however many kill attempts it took).
    """
    me, my_group = os.getpid(), os.getpgid(0)
    seen: set[int] = set()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job_pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        _reap()
        children = _children_of(me)  # orphans are re-parented to us (child subreaper)
        if not children:
            break
        for pid in children:
            if pid != job_pgid:
                seen.add(pid)
            try:
                group = os.getpgid(pid)
                if group != my_group:
                    os.killpg(group, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    _reap()
    return len(seen)


def _wait(pid: int, timeout: float) -> int | None:
    """Wait for the child; its wait status, or None on timeout."""
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.01))
    finally:
        if pidfd is not None:
            os.close(pidfd)


# --------------------------------------------------------------------------- outcomes


def _stuck_line(stderr_text: str, code_path: Path) -> int | None:
    """Where the job was when it timed out, from the faulthandler dump (innermost first)."""
    match = re.search(rf'File "{re.escape(str(code_path))}", line (\d+)', stderr_text)
    return int(match.group(1)) if match else None


def _outcome_without_result(status: int, job: dict) -> dict:
    limits = job.get("limits", {})
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return failure(
                "timeout", "timeout", "CPUTimeLimit", "the scene used up its CPU-time limit"
            )
        if sig == signal.SIGXFSZ:
            return failure(
                "sandbox",
                "sandbox",
                "FileSizeLimit",
                f"the scene wrote a file larger than {limits.get('file_mb', '?')} MB "
                "(output or printed text)",
                hint="print less and keep scenes short",
            )
        if sig == signal.SIGKILL:
            return failure(
                "sandbox",
                "memory",
                "Killed",
                "the scene process was killed by SIGKILL (most likely the kernel's "
                "out-of-memory killer)",
                hint="the scene needs too much memory; use fewer or smaller objects",
            )
        if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT):
            name = signal.Signals(sig).name
            return failure(
                "execute",
                "other_runtime",
                "Crash",
                f"the scene process crashed with {name} in native code (a bug in a C "
                "extension or a ctypes call), not with a Python exception",
            )
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return failure(
            "execute", "other_runtime", "Crash", f"the scene process was ended by signal {name}"
        )
    code = os.WEXITSTATUS(status)
    return failure(
        "execute",
        "other_runtime",
        "ProcessExit",
        f"the scene process exited with status {code} before finishing "
        "(os._exit or a crash in native code)",
    )


def expected_size(quality: str) -> tuple[int, int]:
    """Pixel width and height of every frame manim writes at this quality."""
    from manim.constants import QUALITIES as MANIM_QUALITIES

    entry = MANIM_QUALITIES[QUALITIES[quality]]
    return int(entry["pixel_width"]), int(entry["pixel_height"])


# --------------------------------------------------------------------------- validation


def validate_job(job: dict, job_dir: Path, out_dir: Path) -> dict:
    """Read the job's claims and copy + decode its outputs into `out_dir` (validator child).

    Returns {"report": sanitized claims or None, "outputs", "traces", "problem"}, where problem
    is None or [category, type, message] for the first output that failed validation.
    """
    from manimatic.render import validate as v

    try:
        raw = v.read_report(job_dir, REPORT_NAME)
    except v.UnsafeFile as exc:
        return {"report": None, "problem": ["sandbox", "UnsafeReport", str(exc)]}
    if raw is None:
        return {"report": None, "problem": None}
    report = {
        "ok": raw.get("ok") is True,
        "stage": v.sanitize_stage(raw.get("stage")),
        "error": v.sanitize_error(raw.get("error")),
        "scenes": v.names(raw.get("scenes")),
    }
    verdict: dict[str, Any] = {"report": report, "outputs": [], "traces": [], "problem": None}
    if not report["ok"] or job.get("dry_run"):
        return verdict
    limit = int(job.get("limits", {}).get("file_mb", 512)) * 1024 * 1024
    width, height = expected_size(job.get("quality", "l"))
    claimed = v.names(raw.get("outputs"))
    if len(claimed) != len(report["scenes"]):
        verdict["problem"] = [
            "no_output",
            "NoOutputError",
            f"{len(report['scenes'])} scene(s) but {len(claimed)} output file(s)",
        ]
        return verdict
    try:
        for rel in claimed:
            copied = v.copy_inside(job_dir, rel, out_dir, limit)
            v.check_media(copied, width, height)
            verdict["outputs"].append(str(copied))
        for rel in v.names(raw.get("traces")):
            copied = v.copy_inside(job_dir, rel, out_dir, v.MAX_TRACE_BYTES)
            try:
                json.loads(copied.read_bytes())
            except ValueError:
                raise v.InvalidMedia(f"{copied.name} is not a JSON trace") from None
            verdict["traces"].append(str(copied))
    except v.UnsafeFile as exc:
        verdict["problem"] = ["sandbox", "UnsafeOutput", f"output refused: {exc}"]
    except (v.InvalidMedia, FileExistsError) as exc:
        verdict["problem"] = ["no_output", "InvalidOutput", f"output is not a real render: {exc}"]
    return verdict


_pending_validators: list[int] = []


def _reap_validators() -> None:
    while _pending_validators:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(_pending_validators.pop(), 0)


def _run_validator(job: dict, job_dir: Path, out_dir: Path, ident: Identity) -> dict:
    """`validate_job` in a child that holds no privileges at all; its verdict."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_end)
            ident.drop_for_good()
            data = json.dumps(validate_job(job, job_dir, out_dir)).encode()
        except BaseException as exc:  # noqa: BLE001
            data = json.dumps({"report": None, "problem": ["sandbox", "ValidatorError", str(exc)]})
            data = data.encode()
            status = 1
        with contextlib.suppress(OSError):
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        os._exit(status)
    os.close(write_end)
    chunks, size, late = [], 0, False
    deadline = time.monotonic() + VALIDATE_TIMEOUT_S
    try:
        while size <= MAX_VERDICT_BYTES:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                late = True
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        # Its exit (tearing down a copy of a manim-sized address space) overlaps the reply; it
        # is reaped before the next job starts, so it never counts as that job's leftover.
        _pending_validators.append(pid)
    try:
        verdict = json.loads(b"".join(chunks))
        assert isinstance(verdict, dict)
        return verdict
    except (ValueError, AssertionError):
        why = f"took longer than {VALIDATE_TIMEOUT_S:g} s" if late else "gave no verdict"
        return {"report": None, "problem": ["sandbox", "ValidatorError", f"output check {why}"]}


# --------------------------------------------------------------------------- one job


def _prepare(job: dict, scratch: Path, ident: Identity) -> tuple[Path, int, int]:
    """A fresh job directory and log files; descriptors opened before the job exists."""
    job_root = scratch / "job"
    job_dir = job_root / "run"
    with ident.root():
        shutil.rmtree(job_dir, ignore_errors=True)  # symlink-safe (fd-based) on Linux
        for name in ("stdout.log", "stderr.log"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(job_root / name)
        job_dir.mkdir(mode=0o755)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out_fd = os.open(job_root / "stdout.log", flags, 0o600)
        err_fd = os.open(job_root / "stderr.log", flags, 0o600)
        code_fd = os.open(job_dir / CODE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(code_fd, "w", encoding="utf-8") as fh:
            fh.write(job["code"])
        if ident.job_uid is not None:
            os.chown(job_dir, ident.job_uid, ident.job_uid)
            os.chown(job_dir / CODE_NAME, ident.job_uid, ident.job_uid)
    return job_dir, out_fd, err_fd


def _fresh_out_dir(scratch: Path, seq: int) -> Path:
    """Where the validator puts this job's outputs; earlier jobs' were taken by the pool."""
    out_root = scratch / "out"
    out_root.mkdir(mode=0o755, exist_ok=True)
    for old in out_root.iterdir():
        shutil.rmtree(old, ignore_errors=True)
    out_dir = out_root / str(seq)
    out_dir.mkdir(mode=0o755)
    return out_dir


def run_one(job: dict, scratch: Path, ident: Identity, recorder: Any, seq: int = 0) -> dict:
    """Render one job in a fresh child process and describe what happened."""
    from manimatic.render.job import child

    _reap_validators()
    job_dir, out_fd, err_fd = _prepare(job, scratch, ident)
    out_dir = _fresh_out_dir(scratch, seq)
    timeout = float(job["timeout"])
    started = time.monotonic()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
        if pid == 0:
            child(job, job_dir, ident.job_uid, recorder, out_fd, err_fd)
        status = _wait(pid, timeout)
        timed_out = status is None
        with ident.root():  # the job's processes belong to another uid
            if timed_out:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGUSR1)  # faulthandler: dump where it is stuck
                    _wait(pid, 0.3)
            leftovers = kill_leftovers(pid)
        if timed_out:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = 0
        elapsed = time.monotonic() - started
        stdout, cut_out = _read_tail(out_fd)
        stderr, cut_err = _read_tail(err_fd)
    finally:
        os.close(out_fd)
        os.close(err_fd)

    if timed_out:
        line = _stuck_line(stderr, job_dir / CODE_NAME)
        lines = job["code"].splitlines()
        reply = failure(
            "timeout",
            "timeout",
            "TimeoutError",
            f"the scene did not finish within {timeout:g} s",
            line=line,
            excerpt=lines[line - 1] if line and line <= len(lines) else None,
            hint="shorten run_time and waits, and make sure loops and updaters end",
        )
    else:
        reply = _judge(job, status, leftovers, _run_validator(job, job_dir, out_dir, ident))
    reply.setdefault("scenes", [])
    reply.setdefault("outputs", [])
    reply.setdefault("traces", [])
    reply.update(elapsed_s=elapsed, stdout=stdout, stderr=stderr, truncated=cut_out or cut_err)
    return reply


def _judge(job: dict, status: int, leftovers: int, verdict: dict) -> dict:
    """The reply, from what was observed; the job's report only ever explains a failure."""
    report, problem = verdict.get("report"), verdict.get("problem")
    scenes = list(report["scenes"]) if report else []
    clean_exit = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if report is None:
        if problem:
            return failure("sandbox", problem[0], problem[1], problem[2])
        return _outcome_without_result(status, job)
    if not report["ok"]:
        if os.WIFSIGNALED(status):
            return _outcome_without_result(status, job)
        error = report["error"] or {
            "category": "sandbox",
            "type": "Error",
            "message": "the job reported a failure without saying why",
            "line": None,
        }
        stage = "sandbox" if error["category"] == "sandbox" else report["stage"]
        return {"ok": False, "stage": stage, "error": error, "scenes": scenes}
    if not clean_exit:  # it said ok, then died: believe the exit status
        return {
            **_outcome_without_result(status, job),
            "scenes": scenes,
        }
    if problem:
        stage = "sandbox" if problem[0] == "sandbox" else "output"
        return {**failure(stage, problem[0], problem[1], problem[2]), "scenes": scenes}
    if leftovers:
        return failure(
            "sandbox",
            "sandbox",
            "LeftoverProcess",
            f"the scene left {leftovers} process(es) running after it finished; they were killed",
            scenes=scenes,
        )
    return {
        "ok": True,
        "stage": None,
        "error": None,
        "scenes": scenes,
        "outputs": list(verdict.get("outputs") or []),
        "traces": list(verdict.get("traces") or []),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scratch", type=Path)
    parser.add_argument("--drop-uid", type=int, default=None)
    parser.add_argument("--worker-uid", type=int, default=None)
    args = parser.parse_args(argv)
    ident = Identity(job_uid=args.drop_uid, worker_uid=args.worker_uid)

    # Keep the protocol channel private: anything else printing to fd 1 goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of a job become our children, to be killed
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the pool

    started = time.monotonic()
    import manim  # noqa: F401 - the point of a warm worker

    from manimatic.render import trace

    recorder = trace.TraceRecorder()
    trace.install(recorder)
    import av  # noqa: F401 - warm for the validator
    import PIL.Image  # noqa: F401

    import manimatic.render.errors  # noqa: F401 - warm for the child
    import manimatic.render.sandbox  # noqa: F401
    import manimatic.render.validate  # noqa: F401

    ident.become_worker()
    ready = {
        "ready": True,
        "pid": os.getpid(),
        "import_s": round(time.monotonic() - started, 3),
        "manim_version": manim.__version__,
    }
    proto.write(json.dumps(ready) + "\n")

    for seq, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        job_id = None
        try:
            job = json.loads(line)
            job_id = job.get("id")
            reply = run_one(job, args.scratch, ident, recorder if job.get("trace") else None, seq)
        except Exception as exc:  # noqa: BLE001 - the worker itself must keep serving
            reply = failure("sandbox", "sandbox", type(exc).__name__, f"worker error: {exc}")
        reply["id"] = job_id
        proto.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()

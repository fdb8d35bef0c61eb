"""A warm render worker: imports manim once, then forks a fresh child per job.

Run by the pool (inside bubblewrap when available) as
``python -m manimatic.render.worker SCRATCH_DIR [--drop-uid UID]``. It speaks JSON lines: one job
per line on stdin, one reply per line on the original stdout. The child renders the job and dies,
so no state leaks between jobs; the worker kills the child's whole process group and every
orphan it adopted (it is a child subreaper) before answering.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import faulthandler
import importlib.util
import inspect
import json
import os
import random
import re
import select
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

QUALITIES = {
    "l": "low_quality",
    "m": "medium_quality",
    "h": "high_quality",
    "p": "production_quality",
    "k": "fourk_quality",
}
LOG_TAIL_BYTES = 16_000
CODE_NAME = "scene.py"


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _tail(path: Path) -> tuple[str, bool]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size > LOG_TAIL_BYTES:
                fh.seek(size - LOG_TAIL_BYTES)
            data = fh.read()
    except OSError:
        return "", False
    return data.decode("utf-8", errors="replace"), size > LOG_TAIL_BYTES


def _failure(stage: str, category: str, type_: str, message: str, **extra: Any) -> dict:
    error = {"category": category, "type": type_, "message": message, "line": None}
    error.update({k: extra.pop(k) for k in ("line", "excerpt", "hint", "traceback") if k in extra})
    return {"ok": False, "stage": stage, "error": error, **extra}


# --------------------------------------------------------------------------- the job (child)


def _scene_classes(module: Any, module_name: str) -> list[type]:
    from manim import Scene

    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Scene)
        and obj.__module__ == module_name
        and obj.__name__ != "Scene"
    ]


def _run_job(job: dict, job_dir: Path, recorder: Any) -> dict:
    """Import the user's module and render its scenes. Runs in the forked child."""
    from manim import tempconfig

    from manimatic.render.errors import error_from_exception

    code_path = job_dir / CODE_NAME
    source = job["code"]
    module_name = "manimatic_user_scene"
    namespace: dict = {}

    def failed(stage: str, exc: BaseException, **extra: Any) -> dict:
        err = error_from_exception(
            exc, user_file=str(code_path), source=source, namespace=namespace
        ).to_dict()
        stage = "sandbox" if err["category"] == "sandbox" else stage
        return {"ok": False, "stage": stage, "error": err, **extra}

    random.seed(0)
    try:
        import numpy as np

        np.random.seed(0)
    except ImportError:
        pass

    try:
        spec = importlib.util.spec_from_file_location(module_name, code_path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        namespace = module.__dict__
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything, SystemExit too
        return failed("import", exc)

    classes = _scene_classes(module, module_name)
    all_names = [c.__name__ for c in classes]
    wanted = job.get("scene")
    if wanted:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        by_name = {c.__name__: c for c in classes}
        missing = [n for n in names if n not in by_name]
        if missing:
            available = ", ".join(all_names) or "none"
            return _failure(
                "import",
                "no_scene",
                "SceneNotFound",
                f"scene {missing[0]!r} is not defined in the module (scenes: {available})",
                scenes=all_names,
                hint="pass one of the defined scene names" if all_names else None,
            )
        classes = [by_name[n] for n in dict.fromkeys(names)]  # the order asked for, once each
    if not classes:
        return _failure(
            "import",
            "no_scene",
            "NoSceneError",
            "the module defines no Scene subclass, so there is nothing to render",
            scenes=[],
            hint="define a Scene subclass (or ThreeDScene...) with a construct() method",
        )

    scene_names = [c.__name__ for c in classes]
    options = {
        "media_dir": str(job_dir / "media"),
        "quality": QUALITIES[job.get("quality", "l")],
        "disable_caching": True,
        "progress_bar": "none",
        "verbosity": "WARNING",
        "preview": False,
        "dry_run": bool(job.get("dry_run")),
        "notify_outdated_version": False,
    }
    if job.get("format") and job["format"] != "mp4":
        options["format"] = job["format"]  # png: the last frame only, as manim's -s
    if job.get("tex_template"):
        from manim import TexTemplate

        options["tex_template"] = TexTemplate(preamble=job["tex_template"])

    outputs: list[str] = []
    traces: list[str] = []
    for cls in classes:
        try:
            with tempconfig(options):
                from manim import config

                scene = cls()
                if recorder is not None:
                    recorder.start(scene)
                scene.render()
                frame_w, frame_h = config.frame_width, config.frame_height
        except BaseException as exc:  # noqa: BLE001
            return failed("execute", exc, scenes=scene_names, outputs=outputs, traces=traces)
        if job.get("dry_run"):
            continue
        writer = scene.renderer.file_writer
        movie = Path(getattr(writer, "movie_file_path", "") or "")
        image = Path(getattr(writer, "image_file_path", "") or "")
        if movie.name and movie.is_file() and scene.renderer.num_plays > 0:
            outputs.append(str(movie))
        elif image.name and image.is_file():
            outputs.append(str(image))
        else:
            return _failure(
                "output",
                "no_output",
                "NoOutputError",
                f"scene {cls.__name__} rendered but wrote no video or image",
                scenes=scene_names,
                outputs=outputs,
            )
        if recorder is not None:
            trace_path = job_dir / f"{cls.__name__}.trace.json"
            traces.append(str(recorder.finish(trace_path, frame_w, frame_h)))
    return {
        "ok": True,
        "stage": None,
        "error": None,
        "scenes": scene_names,
        "outputs": outputs,
        "traces": traces,
    }


def _child(job: dict, job_dir: Path, drop_uid: int | None, recorder: Any) -> None:
    """Body of the forked job process; never returns."""
    from manimatic.render.sandbox import Limits, install_audit_hook, set_job_limits

    status = 0
    try:
        os.setsid()  # own process group: the worker kills it whole
        out = os.open(job_dir / "stdout.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(job_dir / "stderr.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=False)
        os.environ.update(HOME=str(job_dir), TMPDIR=str(job_dir / "tmp"), MPLCONFIGDIR=str(job_dir))
        (job_dir / "tmp").mkdir(exist_ok=True)
        os.chdir(job_dir)
        set_job_limits(Limits(**job.get("limits", {})), float(job["timeout"]), drop_uid)
        install_audit_hook(job_dir)
        result = _run_job(job, job_dir, recorder)
    except BaseException as exc:  # noqa: BLE001 - report, never propagate into the worker loop
        result = _failure(
            "sandbox",
            "sandbox",
            type(exc).__name__,
            f"job setup failed: {exc}",
            traceback="".join(traceback.format_exception(exc))[-2000:],
        )
        status = 3
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        tmp = job_dir / "result.json.tmp"
        tmp.write_text(json.dumps(result, default=str))
        tmp.rename(job_dir / "result.json")
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        status = 4
    os._exit(status)


# --------------------------------------------------------------------------- the worker


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
    """Kill the job's process group and every process it left behind; return how many."""
    me, my_group = os.getpid(), os.getpgid(0)
    killed = 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job_pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        _reap()
        children = _children_of(me)  # orphans are re-parented to us (child subreaper)
        if not children:
            break
        for pid in children:
            killed += 1
            try:
                group = os.getpgid(pid)
                if group != my_group:
                    os.killpg(group, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    _reap()
    return killed


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


def _stuck_line(stderr_text: str, code_path: Path) -> int | None:
    """Where the job was when it timed out, from the faulthandler dump (innermost first)."""
    match = re.search(rf'File "{re.escape(str(code_path))}", line (\d+)', stderr_text)
    return int(match.group(1)) if match else None


def _outcome_without_result(status: int, timeout: float, job: dict, stderr: str) -> dict:
    limits = job.get("limits", {})
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return _failure(
                "timeout", "timeout", "CPUTimeLimit", "the scene used up its CPU-time limit"
            )
        if sig == signal.SIGXFSZ:
            return _failure(
                "sandbox",
                "sandbox",
                "FileSizeLimit",
                f"the scene wrote a file larger than {limits.get('file_mb', '?')} MB "
                "(output or printed text)",
                hint="print less and keep scenes short",
            )
        if sig == signal.SIGKILL:
            return _failure(
                "sandbox",
                "memory",
                "Killed",
                "the scene process was killed (most likely out of memory)",
                hint="the scene needs too much memory; use fewer or smaller objects",
            )
        name = signal.Signals(sig).name
        return _failure(
            "execute",
            "other_runtime",
            "Crash",
            f"the scene process crashed with {name} (possibly out of memory under "
            f"the {limits.get('memory_mb', '?')} MB limit)",
        )
    code = os.WEXITSTATUS(status)
    return _failure(
        "execute",
        "other_runtime",
        "ProcessExit",
        f"the scene process exited with status {code} before finishing "
        "(os._exit or a crash in native code)",
    )


def run_one(job: dict, scratch: Path, drop_uid: int | None, recorder: Any) -> dict:
    """Render one job in a fresh child process and describe what happened."""
    job_dir = scratch / "job"
    shutil.rmtree(job_dir, ignore_errors=True)
    job_dir.mkdir(parents=True)
    (job_dir / CODE_NAME).write_text(job["code"], encoding="utf-8")
    if drop_uid is not None:
        os.chown(job_dir, drop_uid, drop_uid)
        os.chown(job_dir / CODE_NAME, drop_uid, drop_uid)
    timeout = float(job["timeout"])
    started = time.monotonic()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(job, job_dir, drop_uid, recorder)
    status = _wait(pid, timeout)
    timed_out = status is None
    if timed_out:
        try:
            os.kill(pid, signal.SIGUSR1)  # faulthandler: dump where it is stuck
            _wait(pid, 0.3)
        except ProcessLookupError:
            pass
    leftovers = kill_leftovers(pid)
    if timed_out:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
    elapsed = time.monotonic() - started

    stdout, cut_out = _tail(job_dir / "stdout.log")
    stderr, cut_err = _tail(job_dir / "stderr.log")
    result_file = job_dir / "result.json"
    if timed_out:
        line = _stuck_line(stderr, job_dir / CODE_NAME)
        lines = job["code"].splitlines()
        reply = _failure(
            "timeout",
            "timeout",
            "TimeoutError",
            f"the scene did not finish within {timeout:g} s",
            line=line,
            excerpt=lines[line - 1] if line and line <= len(lines) else None,
            hint="shorten run_time and waits, and make sure loops and updaters end",
        )
    elif result_file.is_file():
        reply = json.loads(result_file.read_text())
    else:
        reply = _outcome_without_result(status, timeout, job, stderr)
    if leftovers and reply.get("ok"):
        reply = _failure(
            "sandbox",
            "sandbox",
            "LeftoverProcess",
            f"the scene left {leftovers} process(es) running; they were killed",
            scenes=reply.get("scenes", []),
        )
    reply.setdefault("scenes", [])
    reply.setdefault("outputs", [])
    reply.setdefault("traces", [])
    reply.update(elapsed_s=elapsed, stdout=stdout, stderr=stderr, truncated=cut_out or cut_err)
    return reply


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scratch", type=Path)
    parser.add_argument("--drop-uid", type=int, default=None)
    args = parser.parse_args(argv)

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
    import manimatic.render.errors  # noqa: F401 - warm for the child
    import manimatic.render.sandbox  # noqa: F401

    ready = {
        "ready": True,
        "pid": os.getpid(),
        "import_s": round(time.monotonic() - started, 3),
        "manim_version": manim.__version__,
    }
    proto.write(json.dumps(ready) + "\n")

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            reply = run_one(
                job, args.scratch, args.drop_uid, recorder if job.get("trace") else None
            )
        except Exception as exc:  # noqa: BLE001 - the worker itself must keep serving
            reply = _failure("sandbox", "sandbox", type(exc).__name__, f"worker error: {exc}")
        proto.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()

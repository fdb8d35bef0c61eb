"""The job: the forked child that imports the user's module and renders its scenes.

Everything here runs in the child of a warm worker and, from the moment user code starts, is in
the attacker's hands: what it writes back (the report file, the outputs) is a *claim* that the
worker checks (see `manimatic.render.validate`), never a result the worker forwards. Before user
code runs the child drops to the job's uid, closes every inherited descriptor above 2 (the
worker's reply pipe among them), applies rlimits, refuses user namespaces (seccomp) and installs
the audit hook.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import inspect
import json
import os
import random
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from manimatic.render.quality import MANIM_QUALITY_NAMES as QUALITIES

CODE_NAME = "scene.py"
REPORT_NAME = "report.json"
REPORT_ROOM = 256 * 1024


def failure(stage: str, category: str, type_: str, message: str, **extra: Any) -> dict:
    """A failed reply in the worker protocol's shape."""
    error = {"category": category, "type": type_, "message": message, "line": None}
    error.update({k: extra.pop(k) for k in ("line", "excerpt", "hint", "traceback") if k in extra})
    return {"ok": False, "stage": stage, "error": error, **extra}


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


def run_job(job: dict, job_dir: Path, recorder: Any) -> dict:
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
            return failure(
                "import",
                "no_scene",
                "SceneNotFound",
                f"scene {missing[0]!r} is not defined in the module (scenes: {available})",
                scenes=all_names,
                hint="pass one of the defined scene names" if all_names else None,
            )
        classes = [by_name[n] for n in dict.fromkeys(names)]  # the order asked for, once each
    if not classes:
        return failure(
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
        # lexists: whatever is there goes to the worker, which judges it (a symlink is refused).
        if movie.name and os.path.lexists(movie) and scene.renderer.num_plays > 0:
            outputs.append(str(movie))
        elif image.name and os.path.lexists(image):
            outputs.append(str(image))
        else:
            return failure(
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


def _write_report(job_dir: Path, data: bytes) -> None:
    """Into the room taken before user code ran, else anew; never through a symlink."""
    path = job_dir / REPORT_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
        try:
            if os.fstat(fd).st_nlink == 1 and os.pwrite(fd, data, 0) == len(data):
                os.ftruncate(fd, len(data))
                return
        finally:
            os.close(fd)
    except OSError:
        pass
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # whatever user code left there (a symlink...) is not followed
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def child(
    job: dict, job_dir: Path, job_uid: int | None, recorder: Any, out_fd: int, err_fd: int
) -> NoReturn:
    """Body of the forked job process; never returns."""
    from manimatic.render.sandbox import (
        Limits,
        block_user_namespaces,
        install_audit_hook,
        set_job_limits,
    )

    status = 0
    try:
        os.setsid()  # own process group: the worker kills it whole
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        # The log files were opened by the worker in a directory the job cannot write: whatever
        # the job does to the names, the worker reads what was written through these.
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        set_job_limits(Limits(**job.get("limits", {})), float(job["timeout"]), job_uid)
        # Nothing inherited survives but stdin/stdout/stderr: not the reply pipe, not the
        # worker's log readers, not its pidfds.
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=False)
        os.umask(0o022)
        os.environ.update(HOME=str(job_dir), TMPDIR=str(job_dir / "tmp"), MPLCONFIGDIR=str(job_dir))
        os.chdir(job_dir)
        (job_dir / "tmp").mkdir(exist_ok=True)
        # The report's room, taken before user code can fill the disk (a job that fills its
        # tmpfs still gets its failure reported), and closed again: no descriptor above 2 is
        # open while user code runs. The report is the job's own claim; the worker checks it.
        report_fd = os.open(REPORT_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with contextlib.suppress(OSError):
            os.posix_fallocate(report_fd, 0, REPORT_ROOM)
        os.close(report_fd)
        block_user_namespaces()
        install_audit_hook(job_dir)
        result = run_job(job, job_dir, recorder)
    except BaseException as exc:  # noqa: BLE001 - report, never propagate into the worker loop
        result = failure(
            "sandbox",
            "sandbox",
            type(exc).__name__,
            f"job setup failed: {exc}",
            traceback="".join(traceback.format_exception(exc))[-2000:],
        )
        status = 3
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a full disk must not cost the report
            stream.flush()
    try:
        for kind in ("outputs", "traces"):  # relative names: the worker resolves them itself
            result[kind] = [os.path.relpath(p, job_dir) for p in result.get(kind) or []]
        _write_report(job_dir, json.dumps(result, default=str).encode())
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        status = 4
    os._exit(status)

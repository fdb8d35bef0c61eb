"""`manimatic doctor`: health checks of this machine, each with the fix when it fails."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import typer

from manimatic.commands._common import console, print_json


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True


def _module_version(name: str) -> str | None:
    if importlib.util.find_spec(name) is None:
        return None
    module = importlib.import_module(name)
    return str(getattr(module, "__version__", "installed"))


def _python_package(name: str, fix: str, required: bool = True) -> Check:
    version = _module_version(name)
    return Check(name, version is not None, version or "not installed", fix, required)


def _program(name: str, fix: str, required: bool = True) -> Check:
    path = shutil.which(name)
    return Check(name, path is not None, path or "not found on PATH", fix, required)


def _sandbox() -> Check:
    from manimatic.render.sandbox import bwrap_path

    path = bwrap_path()
    if path:
        return Check("bubblewrap sandbox", True, f"{path} works (no network, read-only root)")
    return Check(
        "bubblewrap sandbox",
        False,
        "not available: rlimits + audit hook + timeout only",
        "apt install bubblewrap (Linux); elsewhere renders run less isolated",
        False,
    )


def _cache() -> Check:
    from manimatic import paths

    try:
        path = paths.cache_dir()
        probe = path / ".doctor"
        probe.write_text("ok")
        probe.unlink()
        return Check("cache directory", True, str(path))
    except OSError as exc:
        return Check("cache directory", False, str(exc), "set MANIMATIC_HOME to a writable dir")


def _render() -> Check:
    from manimatic.render import RenderPool

    code = (
        "from manim import *\n"
        "class Doctor(Scene):\n"
        "    def construct(self):\n"
        "        self.add(Dot())\n"
    )
    with RenderPool(1, cache=False) as pool:
        result = pool.render(code, timeout=60)
    if result.ok:
        return Check("test render", True, f"ok in {result.elapsed_s:.2f}s")
    err = result.error
    return Check(
        "test render",
        False,
        f"{err.category}: {err.message}" if err else "failed",
        "see the failing check above, or run `manimatic render` on a file for details",
    )


def _weights(name: str, env: str, hub_id: str, size: str, without: str) -> Check:
    """Whether a metric model's weights load offline (cheap: no torch import, no download)."""
    import os

    from manimatic.metrics.embedders import locally_available

    source = os.environ.get(env) or hub_id
    reason = locally_available(source)
    if reason is None:
        where = f"${env}" if os.environ.get(env) else "the local Hugging Face cache"
        return Check(f"{name} weights", True, f"{source} (from {where})", required=False)
    return Check(
        f"{name} weights",
        False,
        f"not found: {reason}. Without them {without}",
        f"set {env} to a local copy of {hub_id}, or MANIMATIC_DOWNLOAD_MODELS=1 to fetch it "
        f"({size}) on first use",
        False,
    )


def _clip() -> Check:
    from manimatic.metrics.embedders import CLIP_HUB_ID, CLIP_PATH_ENV

    return _weights(
        "CLIP",
        CLIP_PATH_ENV,
        CLIP_HUB_ID,
        "~1.7 GB",
        "VS is its SSIM term only (semantic term null): not the study's VS, and it stays "
        "high even for unrelated scenes.",
    )


def _codebert() -> Check:
    from manimatic.metrics.code import CODEBERT_HUB_ID, CODEBERT_PATH_ENV

    return _weights(
        "CodeBERT",
        CODEBERT_PATH_ENV,
        CODEBERT_HUB_ID,
        "~500 MB",
        "the CodeBERT score and CBB are null (CodeBLEU is still computed).",
    )


CHECKS: list[Callable[[], Check]] = [
    lambda: _python_package(
        "manim", "pip install manim==0.22.0 (needs libcairo2-dev, libpango1.0-dev, pkg-config)"
    ),
    lambda: _program("latex", "apt install texlive-latex-base texlive-latex-extra (MathTex/Tex)"),
    lambda: _program("dvisvgm", "apt install dvisvgm (MathTex/Tex)"),
    _sandbox,
    _cache,
    lambda: _python_package(
        "torch", "pip install -e '.[hf]' 'torch==2.13.0' (hf: models, training)", False
    ),
    lambda: _python_package("transformers", "pip install -e '.[hf]' 'torch==2.13.0'", False),
    lambda: _python_package("trl", "pip install -e '.[train]' 'torch==2.13.0'", False),
    lambda: _python_package("codebleu", "pip install -e '.[metrics]'", False),
    lambda: _python_package("skimage", "pip install -e '.[metrics]'", False),
    _clip,
    _codebert,
    _render,
]


def doctor_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON list of checks."),
) -> None:
    """Check that this machine can render, sandbox, and run the optional parts."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # a broken check is itself a finding, not a crash
            results.append(Check(getattr(check, "__name__", "check"), False, str(exc)))
    if as_json:
        print_json([r.__dict__ for r in results])
    else:
        for r in results:
            mark = (
                "[green]ok[/]  " if r.ok else ("[red]FAIL[/]" if r.required else "[yellow]warn[/]")
            )
            console.print(f"{mark} {r.name}: {r.detail}", highlight=False)
            if not r.ok and r.fix:
                console.print(f"      fix: {r.fix}", highlight=False)
    if not all(r.ok for r in results if r.required):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)

"""Content-addressed cache of render results and their output files.

Key = hash(code, scene, quality, dry run, trace, manim version, TeX template, cache format). An
entry is a directory holding `result.json` and the outputs; it is written to a temporary
directory and renamed into place, so concurrent writers and a killed process never leave a half
entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from manimatic import paths
from manimatic.render.result import RenderResult
from manimatic.render.trace import TRACE_FORMAT

CACHE_FORMAT = 1
# Failures that depend on the machine's state rather than on the code are never cached.
UNCACHEABLE_CATEGORIES = {"timeout", "memory", "sandbox"}


@cache
def manim_version() -> str:
    try:
        return metadata.version("manim")
    except metadata.PackageNotFoundError:
        return "unknown"


def render_key(
    code: str,
    scene: str | None,
    quality: str,
    *,
    dry_run: bool = False,
    trace: bool = False,
    tex_template: str | None = None,
    output_format: str = "mp4",
) -> str:
    """The content address of a render: everything that changes its result."""
    fields = {
        "format": CACHE_FORMAT,
        "code": code,
        "scene": scene,
        "quality": quality,
        "dry_run": dry_run,
        "trace": TRACE_FORMAT if trace else False,
        "manim": manim_version(),
        "tex_template": tex_template or "default",
    }
    if output_format != "mp4":  # only then, so keys of mp4 renders made before stay valid
        fields["output_format"] = output_format
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass
class RenderCache:
    """Results and outputs on disk under `root` (default: the user cache dir)."""

    root: Path

    @classmethod
    def default(cls) -> RenderCache:
        return cls(paths.cache_dir() / "renders")

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> RenderResult | None:
        """A cached result whose output files all still exist, marked `cached=True`."""
        entry = self.entry(key)
        try:
            data = json.loads((entry / "result.json").read_text())
        except (OSError, ValueError):
            return None
        result = RenderResult.from_dict(data)
        result.outputs = [str(entry / name) for name in data.get("output_names", [])]
        result.traces = [str(entry / name) for name in data.get("trace_names", [])]
        if not all(Path(p).is_file() for p in result.outputs + result.traces):
            return None
        result.cached = True
        return result

    @staticmethod
    def cacheable(result: RenderResult) -> bool:
        return result.ok or (
            result.error is not None and result.error.category not in UNCACHEABLE_CATEGORIES
        )

    def put(self, key: str, result: RenderResult) -> RenderResult:
        """Move the result's files into the entry; return the result pointing at them."""
        entry = self.entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = entry.parent / f".{key}.{uuid.uuid4().hex}"
        staging.mkdir()
        names: dict[str, list[str]] = {"outputs": [], "traces": []}
        for kind in ("outputs", "traces"):
            for src in getattr(result, kind):
                name = Path(src).name
                shutil.move(src, staging / name)
                names[kind].append(name)
        data = result.to_dict(logs=True)
        data.update(output_names=names["outputs"], trace_names=names["traces"])
        # A result that depends on the machine (timeout, memory...) keeps its files but is never
        # served again: only `result.json` makes an entry a cache hit.
        name = "result.json" if self.cacheable(result) else "result.uncached.json"
        (staging / name).write_text(json.dumps(data))
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.rename(staging, entry)
        except OSError:  # another writer won the race: keep theirs
            shutil.rmtree(staging, ignore_errors=True)
        result.outputs = [str(entry / n) for n in names["outputs"]]
        result.traces = [str(entry / n) for n in names["traces"]]
        return result

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

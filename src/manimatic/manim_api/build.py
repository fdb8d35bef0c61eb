"""Introspect the installed manim once, in one child process, for every view of it.

`python -m manimatic.manim_api.build NAMESPACE.json DOCS.json` imports manim once and writes both
views: the preflight's namespace (`namespace_introspect`) and the docs index data
(`docs_introspect`). Whichever view is asked for first builds both, so the preflight, the error
hints, `<API_INFO>` and `manimatic docs` read one introspection of one manim. A child process,
from a clean directory, so importing manim (and any manim.cfg in the caller's directory) never
touches the caller.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from manimatic.paths import cache_dir

BUILD_TIMEOUT_S = 300


def manim_version() -> str:
    """Version of the installed manim, read from package metadata (no import)."""
    try:
        return metadata.version("manim")
    except metadata.PackageNotFoundError:  # a source checkout without metadata
        import manim

        return str(manim.__version__)


def docs_cache_path() -> Path:
    """The docs index cache for the installed manim version and the current index format."""
    from manimatic.manim_api.docs_introspect import FORMAT

    return cache_dir() / "docs" / f"api-manim-{manim_version()}-f{FORMAT}.json"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a concurrent reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def introspect_all(namespace_target: Path, docs_target: Path) -> None:
    """Run the one introspection in a child process; it writes both targets.

    Raises:
        RuntimeError: The child failed (manim is not importable, say); the message has the tail
            of its output.
    """
    env = dict(os.environ)
    env.setdefault("PYTHONWARNINGS", "ignore")
    with tempfile.TemporaryDirectory(prefix="manimatic-introspect-") as workdir:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "manimatic.manim_api.build",
                str(namespace_target),
                str(docs_target),
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    if proc.returncode != 0 or not namespace_target.exists() or not docs_target.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(
            "introspecting the installed manim failed (is manim importable in this Python?): "
            + " | ".join(tail)
        )
    # A search model saved beside an older docs file belongs to that file.
    shutil.rmtree(docs_target.with_suffix(".bm25"), ignore_errors=True)


def main(argv: list[str]) -> int:
    """Write the namespace JSON to `argv[0]` and the docs index JSON to `argv[1]`."""
    if len(argv) != 2:
        usage = "usage: python -m manimatic.manim_api.build NAMESPACE.json DOCS.json"
        print(usage, file=sys.stderr)
        return 2
    from manimatic.manim_api import docs_introspect, namespace_introspect

    write_json_atomic(Path(argv[0]), namespace_introspect.introspect())
    write_json_atomic(Path(argv[1]), docs_introspect.introspect_here())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

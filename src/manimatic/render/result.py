"""The renderer's result contract (docs/architecture.md section 5).

A failed program is an ordinary `RenderResult` with `ok=False`; only a broken sandbox or pool
raises (`RenderPoolError`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STAGES = ("preflight", "import", "execute", "output", "timeout", "sandbox")

CATEGORIES = (
    "syntax",
    "import",
    "name",
    "attribute",
    "type",
    "value",
    "latex",
    "index",
    "zero_division",
    "other_runtime",
    "no_scene",
    "no_output",
    "timeout",
    "memory",
    "sandbox",
)


class RenderPoolError(RuntimeError):
    """The sandbox or the worker pool itself is broken (not the rendered program)."""


class InfrastructureError(RenderPoolError):
    """A job kept failing for reasons outside the code (a worker or node died), after retries."""


@dataclass
class RenderError:
    """Why a render failed, pointing into the user's code."""

    category: str
    type: str
    message: str
    line: int | None = None
    excerpt: str | None = None
    hint: str | None = None
    traceback: str | None = None  # tail of the traceback, user frames only where possible

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(
                f"unknown error category {self.category!r}; expected one of {CATEGORIES}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderError:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass
class RenderResult:
    """Outcome of rendering one module (all its scenes, or the one asked for)."""

    ok: bool
    file: str | None = None
    scenes: list[str] = field(default_factory=list)
    stage: str | None = None  # set when ok is False
    error: RenderError | None = None
    outputs: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)  # scene traces (trace=True), one per scene
    elapsed_s: float = 0.0
    cached: bool = False
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False  # stdout/stderr were cut to their tails

    def to_dict(self, *, logs: bool = False) -> dict[str, Any]:
        """The JSON contract; `logs=True` also includes captured stdout/stderr."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "file": self.file,
            "scenes": list(self.scenes),
            "stage": self.stage,
            "error": self.error.to_dict() if self.error else None,
            "outputs": list(self.outputs),
            "elapsed_s": round(self.elapsed_s, 3),
            "cached": self.cached,
        }
        if self.traces:
            data["traces"] = list(self.traces)
        if data["error"] is not None:
            data["error"].pop("traceback", None)
            if logs:
                data["error"]["traceback"] = self.error.traceback  # type: ignore[union-attr]
        if logs:
            data.update(stdout=self.stdout, stderr=self.stderr, truncated=self.truncated)
        return data

    def _repr_html_(self) -> str:
        """Notebook display: the status, then each output inline (video or image)."""
        import html

        from manimatic.render.html import media_html, status_html

        what = f"{self.file or '<code>'} ({', '.join(self.scenes) or 'no scene'})"
        if self.ok:
            parts = [status_html(True, f"{what} in {self.elapsed_s:.2f} s")]
            parts += [media_html(p) for p in self.outputs]
        else:
            err = self.error
            where = f" line {err.line}" if err and err.line else ""
            parts = [status_html(False, f"{what}, stage {self.stage}{where}")]
            if err is not None:
                parts.append(f"<pre>{html.escape(f'{err.type}: {err.message}')}</pre>")
                if err.hint:
                    parts.append(f"<p>hint: {html.escape(err.hint)}</p>")
        return "\n".join(parts)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderResult:
        error = data.get("error")
        return cls(
            ok=bool(data["ok"]),
            file=data.get("file"),
            scenes=list(data.get("scenes") or []),
            stage=data.get("stage"),
            error=RenderError.from_dict(error) if error else None,
            outputs=list(data.get("outputs") or []),
            traces=list(data.get("traces") or []),
            elapsed_s=float(data.get("elapsed_s") or 0.0),
            cached=bool(data.get("cached")),
            stdout=data.get("stdout") or "",
            stderr=data.get("stderr") or "",
            truncated=bool(data.get("truncated")),
        )

    @classmethod
    def failure(
        cls,
        stage: str,
        category: str,
        type_: str,
        message: str,
        *,
        file: str | None = None,
        scenes: list[str] | None = None,
        line: int | None = None,
        excerpt: str | None = None,
        hint: str | None = None,
        elapsed_s: float = 0.0,
    ) -> RenderResult:
        return cls(
            ok=False,
            file=file,
            scenes=scenes or [],
            stage=stage,
            error=RenderError(category, type_, message, line, excerpt, hint),
            elapsed_s=elapsed_s,
        )

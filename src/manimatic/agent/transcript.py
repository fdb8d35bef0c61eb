"""The record of one generation: every model call, what it was sent, what came back, how it
rendered, and what produced it (strategy arguments, model spec, options, versions).

A transcript is plain JSON (`save`/`load`), written after every round when a path is given, so a
run that dies on an LLM error still leaves everything up to that point on disk. Replaying a run
means turning its replies into a `scripted:` file (`Transcript.replies()`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from manimatic import provenance
from manimatic.agent.extract import Extraction
from manimatic.render import RenderResult

FORMAT_VERSION = 1
now_iso = provenance.utc_now  # the one clock of every record: UTC
STATUSES = ("running", "success", "failed", "error")
ROUND_KINDS = ("initial", "doc_pass", "feedback")


def versions() -> dict[str, str | None]:
    """Versions that change what a run produces: manimatic, manim, Python (`provenance`)."""
    return provenance.versions()


@dataclass
class Round:
    """One model call and, when it ends an attempt, the render of its code.

    Attributes:
        attempt: The render attempt this call belongs to (1 = first; the doc pass shares it).
        kind: "initial" (first generation), "doc_pass" (RITL-DOC's check before the first
            render), "feedback" (a RITL round after a failed render) or "critic" (a round after
            a render that succeeded with layout findings; `result["critique"]` holds them).
        messages: The conversation sent, as `{"role", "content"}` dicts.
        reply: The raw reply text (None when the call failed).
        extraction: `Extraction.to_dict()` of the reply.
        api_info: The `<API_INFO>` text put in this call's prompt, if any.
        rendered_code: The code rendered at the end of this call (None when nothing was rendered
            after it: an initial generation that the doc pass revises, or a reply with no code).
        result: `RenderResult.to_dict(logs=True)` of that render, or of the failure that stood in
            for it (no code, code too large); None when the attempt goes on (doc pass next).
        feedback: The feedback this round's failure produced for the next prompt.
        llm_s: Wall time of the model call.
        render_s: Wall time of the render (0 when nothing was rendered).
        usage: Token counts of the call.
        model: The model that answered, as the backend named it.
        error: The LLM error that ended the run in this call, if any.
        notes: Anything else worth knowing (skipped doc pass, API info unavailable...).
    """

    attempt: int
    kind: str
    messages: list[dict[str, str]]
    reply: str | None = None
    extraction: dict[str, Any] | None = None
    api_info: str | None = None
    rendered_code: str | None = None
    result: dict[str, Any] | None = None
    feedback: str | None = None
    llm_s: float = 0.0
    render_s: float = 0.0
    usage: dict[str, int | None] = field(default_factory=dict)
    model: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        """The code extracted from the reply, or None when there was none."""
        if not self.extraction or not self.extraction.get("found"):
            return None
        return self.extraction.get("code")

    @property
    def render_result(self) -> RenderResult | None:
        """The render result as an object."""
        return RenderResult.from_dict(self.result) if self.result else None

    def extraction_obj(self) -> Extraction | None:
        """The extraction as an object."""
        return Extraction.from_dict(self.extraction) if self.extraction else None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Round:
        """Inverse of `to_dict`; unknown keys (from newer versions) are ignored."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Transcript:
    """Everything about one `generate` run.

    Attributes:
        description: The task description.
        model: The model spec (`openai:gpt-4.1`, `scripted:replies.jsonl`...).
        strategy: `Strategy.to_dict()`.
        options: `GenerationOptions.to_dict()`.
        render: Render settings (quality, timeout).
        versions: manimatic / manim / Python versions.
        format_version: Version of this record's layout.
        started_at: UTC start time.
        finished_at: UTC end time (None while running).
        status: "running", "success", "failed" (no attempt rendered) or "error" (an LLM or
            render-pool error stopped the run).
        error: The error that stopped the run, or a summary of the last failure.
        rounds: Every model call, in order.
        final: The outcome: code, success, attempts, video, code_path.
        protocol: `Protocol.to_dict()` (extraction, feedback, preflight, timeouts...).
        prompts: Name and source of the prompt templates (`PromptSet.to_dict()` without the
            templates: they are in every round's messages).
    """

    description: str
    model: str
    strategy: dict[str, Any]
    options: dict[str, Any]
    render: dict[str, Any]
    versions: dict[str, str | None] = field(default_factory=versions)
    format_version: int = FORMAT_VERSION
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    status: str = "running"
    error: str | None = None
    rounds: list[Round] = field(default_factory=list)
    final: dict[str, Any] | None = None
    protocol: dict[str, Any] | None = None
    prompts: dict[str, Any] | None = None

    @property
    def attempts(self) -> int:
        """Render attempts made so far."""
        return max((r.attempt for r in self.rounds), default=0)

    @property
    def total_tokens(self) -> int:
        """Tokens used over all calls (those the backend reported)."""
        return sum((r.usage or {}).get("total_tokens") or 0 for r in self.rounds)

    def token_totals(self) -> dict[str, int | None]:
        """prompt/completion/total tokens summed over the calls that reported each (None when
        no call did: a backend that reports nothing is not a run that used 0 tokens)."""
        totals: dict[str, int | None] = {}
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            known = [
                (r.usage or {}).get(key)
                for r in self.rounds
                if (r.usage or {}).get(key) is not None
            ]
            totals[key] = sum(known) if known else None  # type: ignore[arg-type]
        return totals

    def replies(self) -> list[str]:
        """The raw replies in order: write them with `write_script` to replay the run."""
        return [r.reply for r in self.rounds if r.reply is not None]

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        data = asdict(self)
        data["rounds"] = [r.to_dict() for r in self.rounds]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Inverse of `to_dict`.

        Raises:
            ValueError: The record is from a newer, incompatible format.
        """
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"transcript format {version!r} is newer than this manimatic reads "
                f"({FORMAT_VERSION}); upgrade manimatic."
            )
        fields_ = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields_["rounds"] = [Round.from_dict(r) for r in data.get("rounds") or []]
        return cls(**fields_)

    def save(self, path: str | Path) -> Path:
        """Write the transcript as JSON, atomically (a crash never leaves half a file).

        Args:
            path: Target file; parent directories are created.

        Returns:
            The path written.
        """
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, ensure_ascii=False, indent=1)
                fh.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        """Read a transcript written by `save`.

        Raises:
            OSError: The file cannot be read.
            ValueError: It is not a transcript.
        """
        text = Path(path).expanduser().read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a transcript (invalid JSON: {exc.msg})") from None
        if not isinstance(data, dict) or "rounds" not in data:
            raise ValueError(f"{path}: not a transcript (no 'rounds')")
        return cls.from_dict(data)

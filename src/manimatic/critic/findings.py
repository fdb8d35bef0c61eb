"""What the critic reports: one `Finding` per defect a viewer would see."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The defect kinds, in the order reports list them.
KINDS = ("off_frame", "overlap", "tiny_text", "invisible", "empty_frame")


@dataclass
class Finding:
    """One layout defect.

    Attributes:
        kind: One of KINDS.
        time: Seconds into the scene's video where the defect is first seen.
        objects: The objects involved, described for a reader (`Text('Hello')`, `Axes`).
        message: What is wrong, in one sentence.
        suggestion: How to fix it in Manim code, in one sentence.
        scene: The scene it was found in (files may hold several).
    """

    kind: str
    time: float
    objects: list[str]
    message: str
    suggestion: str
    scene: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}; expected one of {KINDS}")
        self.time = round(float(self.time), 2)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` contract: kind, time, objects, message, suggestion."""
        data = asdict(self)
        data.pop("scene")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            kind=data["kind"],
            time=float(data.get("time") or 0.0),
            objects=list(data.get("objects") or []),
            message=data.get("message") or "",
            suggestion=data.get("suggestion") or "",
            scene=data.get("scene"),
        )


def count_by_kind(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each kind (every kind present, zeros included)."""
    counts = dict.fromkeys(KINDS, 0)
    for finding in findings:
        counts[finding.kind] += 1
    return counts

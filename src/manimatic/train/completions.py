"""What TRL hands a reward function as a completion, as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        return "".join(
            str(m.get("content") or "") if isinstance(m, dict) else str(m) for m in completion
        )
    return "" if completion is None else str(completion)

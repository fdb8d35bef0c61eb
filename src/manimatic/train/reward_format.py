"""The format term: did the model answer in the trained `<CODE>```python ...```</CODE>` form?

A plain TRL reward callable that needs no rendering:

    format_reward(prompts, completions) -> [1.0, 0.5, 0.0, ...]

1.0 for a closed `<CODE>` block (the format `manimatic.agent.prompts.answer_text` trains), 0.5
for a closed fenced block without the tags, 0 for raw code, an unterminated block (a reply cut
off by the token limit), code only inside `<think>`, or no code. The extraction is the agent's
own (`manimatic.agent.extract.extract_code`), so training rewards what inference will parse.
"""

from __future__ import annotations

from typing import Any

from manimatic.agent.extract import extract_code
from manimatic.train.completions import completion_text

FORMAT_SCORES = {"code_tag": 1.0, "fence": 0.5}


def format_score(text: str) -> float:
    """The format term of one reply, in [0, 1]."""
    ext = extract_code(text)
    if not ext.found or not ext.terminated or ext.in_think:
        return 0.0
    return FORMAT_SCORES.get(ext.method, 0.0)


def format_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward callable: the format term of each completion.

    Args:
        prompts: The prompts (unused).
        completions: TRL completions (strings or conversational message lists).
        **kwargs: Dataset columns and TRL extras (unused).

    Returns:
        One score per completion.
    """
    return [format_score(completion_text(c)) for c in completions]


format_reward.__name__ = "format"

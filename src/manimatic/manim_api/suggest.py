"""The one "did you mean": close names for a misspelt or removed manim name.

Used by the preflight's findings, the runtime error hints and the docs (`ApiIndex.closest`, which
puts known renames first), so all three suggest the same name for the same mistake.

The score is difflib's ratio plus credit for stemmed word parts the candidate shares with the
name: plain difflib ranks "shoelace_direction" near "ShowCreation", while crediting "creat" puts
"Create" first. A candidate that differs only in case always wins.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from manimatic.manim_api.text import identifier_parts, stem

CUTOFF = 0.72  # score (ratio + 0.3 per shared part) a candidate needs to be suggested
PART_CREDIT = 0.3


def close_names(name: str, pool: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` candidates from `pool` close to `name`, best first (never `name` itself)."""
    low_name = name.lower()
    parts = {stem(p) for p in identifier_parts(name)[1:] if len(p) > 2}
    lowered: dict[str, str] = {}
    for cand in pool:
        lowered.setdefault(cand.lower(), cand)
    scored = []
    for low, cand in lowered.items():
        if cand == name:
            continue
        if low == low_name:
            scored.append((10.0, cand))  # the same name in another case
            continue
        # Spelling is compared case and all ("cirle" is nearer "cirle2" than "Circle").
        matcher = difflib.SequenceMatcher(None, name, cand)
        if matcher.real_quick_ratio() < 0.3 and not any(p in low for p in parts):
            continue  # cheap reject: most of the pool shares nothing with the name
        score = matcher.ratio() + PART_CREDIT * sum(p in low for p in parts)
        if score >= CUTOFF:
            scored.append((score, cand))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [cand for _, cand in scored[:n]]


def closest_name(name: str, pool: Iterable[str]) -> str | None:
    """The best candidate, or None."""
    found = close_names(name, pool, 1)
    return found[0] if found else None

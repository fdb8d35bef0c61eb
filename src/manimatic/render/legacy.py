"""Known renames from ManimGL / pre-CE manim to Manim CE (data in `legacy_api.json`).

The table only says what an old name became; whether a name is valid is always decided by
introspecting the installed manim, so an entry never flags a name that still exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Kind = Literal["names", "methods", "kwargs", "modules"]


@dataclass(frozen=True)
class LegacyEntry:
    old: str
    replacement: str
    note: str | None
    kind: Kind

    def suggestion(self) -> str:
        text = f"use {self.replacement}"
        return f"{text} ({self.note})" if self.note else text


@cache
def _table() -> dict[str, dict[str, dict]]:
    raw = json.loads(resources.files("manimatic.render").joinpath("legacy_api.json").read_text())
    return {kind: raw.get(kind, {}) for kind in ("names", "methods", "kwargs", "modules")}


def lookup(old: str, kind: Kind = "names") -> LegacyEntry | None:
    """The CE replacement for a legacy name of the given kind, if one is known."""
    entry = _table()[kind].get(old)
    if not entry:
        return None
    return LegacyEntry(old, entry["replacement"], entry.get("note"), kind)


def entries(kind: Kind) -> list[LegacyEntry]:
    """Every known rename of one kind."""
    return [e for name in _table()[kind] if (e := lookup(name, kind))]

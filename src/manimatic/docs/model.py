"""Result types of the API index."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ApiEntry:
    """One documented object of the installed manim.

    Attributes:
        name: how code reaches it: "Create", "CoordinateSystem.plot", or "Axes.plot" when looked
            up through a subclass.
        qualname: the defining object's qualified name ("CoordinateSystem.plot").
        kind: one of "class", "function", "method" (properties included), "constant", "module".
        signature: `name` followed by the verbatim `inspect.signature` ("Create(mobject: ...)");
            "UP = array([0., 1., 0.])" for constants, "module manim.x" for modules.
        summary: the first paragraph of the docstring, on one line.
        doc: the full docstring cut before its "Examples" section (Sphinx roles simplified).
        module: the defining module.
    """

    name: str
    qualname: str
    kind: str
    signature: str
    summary: str
    doc: str
    module: str


@dataclass
class SearchHit:
    """One search result; `name` is what to write in code, `qualname` where it is defined."""

    name: str
    signature: str
    summary: str
    score: float
    qualname: str
    kind: str

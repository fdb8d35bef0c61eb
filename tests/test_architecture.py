"""The import rules of docs/architecture.md section 2: layers point down, no module-level cycles."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "manimatic"

# Package -> the manimatic packages it may import (docs/architecture.md section 2); commands and
# cli may import anything. `paths`, `provenance` and the package root are open to all.
OPEN = {"paths", "provenance", "sqlite_db", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "paths": set(),
    "provenance": set(),
    "metrics": set(),
    "llm": set(),
    "manim_api": set(),
    "render": {"manim_api"},
    "docs": {"manim_api", "render"},
    "executors": {"render"},
    "scoring": {"metrics", "render"},
    "agent": {"llm", "render", "docs", "scoring", "critic"},
    # The critic's feedback turns are written with the agent's prompt set (agent.prompts): the
    # one arrow back up, lazy; see docs/architecture.md section 2.
    "critic": {"agent", "llm", "metrics", "render"},
}
ALLOWED["bench"] = set(ALLOWED) | {"agent"}
ALLOWED["train"] = ALLOWED["bench"] | {"bench"}
ALLOWED["study"] = ALLOWED["train"] | {"train"}
ALLOWED["web"] = ALLOWED["bench"] | {"bench"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(("manimatic", *parts)).removesuffix(".__init__")
        out[name] = path
    return out


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("manimatic"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("manimatic"))
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_layers_point_down() -> None:
    problems = []
    for name, path in _modules().items():
        own = _package(name)
        if own not in ALLOWED:
            continue
        for target in _imports(path, top_level_only=False):
            other = _package(target)
            if other == own or other in OPEN or other == "__version__":
                continue
            if other not in ALLOWED[own]:
                problems.append(f"{name} imports {target}")
    assert not problems, "imports against docs/architecture.md section 2:\n" + "\n".join(problems)


def test_no_module_level_import_cycles() -> None:
    modules = _modules()
    graph = {
        name: {t for t in _imports(path, top_level_only=True) if t in modules and t != name}
        for name, path in modules.items()
    }
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)

"""Module-wide facts the preflight rules need, gathered in one walk over the syntax tree.

Mostly reasons to stay silent: code that rewrites namespaces (`exec`, `globals()`), attributes
created under computed names (`setattr(obj, name, ...)`, `obj.set(**kw)`), the OpenGL renderer
(its classes differ from the introspected Cairo ones), classes built with `type(...)`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from manimatic.render.preflight_scope import ScopeAnalysis

# Names whose use makes the module's globals unknowable.
_NAMESPACE_MAGIC = frozenset({"exec", "globals", "locals", "vars", "__builtins__", "__dict__"})
# Attribute names whose use makes any object's attributes unknowable.
_ATTRIBUTE_MAGIC = frozenset({"__dict__", "__setattr__", "__getattr__", "__getattribute__"})
# Methods whose keyword arguments become attributes (Mobject.set, play/animate on animations).
_KWARGS_TO_ATTRS = frozenset({"set", "play", "animate"})
_ATTR_FUNCTIONS = frozenset({"setattr", "hasattr", "getattr", "delattr"})


@dataclass
class ModuleFacts:
    """What one walk over a module found.

    Attributes:
        assigned_attrs: attribute names the module sets, deletes or tests anywhere
            (`x.a = ...`, `setattr(x, "a", ...)`, `hasattr(x, "a")`, `mob.set(a=...)`).
        attrs_unknowable: attributes may be created under names we cannot see.
        names_unknowable: global names may be created under names we cannot see.
        opengl: the module mentions OpenGL (renderer switch: other classes).
        own_class_attrs: every name bound in the body of a class of the module.
        dynamic_type: `type(name, bases, dict)` builds classes we cannot see.
        import_nodes: every import statement, in no particular order.
    """

    assigned_attrs: set[str] = field(default_factory=set)
    attrs_unknowable: bool = False
    names_unknowable: bool = False
    opengl: bool = False
    own_class_attrs: set[str] = field(default_factory=set)
    dynamic_type: bool = False
    import_nodes: list[ast.Import | ast.ImportFrom] = field(default_factory=list)


def gather_facts(tree: ast.Module, scopes: ScopeAnalysis) -> ModuleFacts:
    """Walk `tree` once and collect the `ModuleFacts`."""
    facts = ModuleFacts()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if not isinstance(node.ctx, ast.Load):
                facts.assigned_attrs.add(node.attr)
            if node.attr in _ATTRIBUTE_MAGIC:
                facts.attrs_unknowable = True
            if node.attr == "modules":
                facts.names_unknowable = True  # sys.modules[__name__] games
            if "opengl" in node.attr.lower():
                facts.opengl = True
        elif isinstance(node, ast.Name):
            if node.id in _NAMESPACE_MAGIC:
                facts.names_unknowable = facts.attrs_unknowable = True
            if "opengl" in node.id.lower():
                facts.opengl = True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "opengl" in node.value.lower():
                facts.opengl = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            facts.import_nodes.append(node)
            modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(m.split(".")[0] == "builtins" for m in modules):
                facts.names_unknowable = True  # `builtins.x = ...` defines x everywhere
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in ("__getattr__", "__getattribute__", "__setattr__"):
                facts.attrs_unknowable = True
        elif isinstance(node, ast.Call):
            _call_facts(node, facts)
    for scope in scopes.all_scopes():
        if scope.kind == "class":
            facts.own_class_attrs |= scope.local
    return facts


def _call_facts(node: ast.Call, facts: ModuleFacts) -> None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in _ATTR_FUNCTIONS and len(node.args) >= 2:
        name = node.args[1]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            facts.assigned_attrs.add(name.value)
        elif func.id in ("setattr", "delattr"):
            facts.attrs_unknowable = True
    if isinstance(func, ast.Name) and func.id == "type" and len(node.args) == 3:
        facts.dynamic_type = True
    if isinstance(func, ast.Attribute) and func.attr in _KWARGS_TO_ATTRS:
        for kw in node.keywords:
            if kw.arg is None:
                facts.attrs_unknowable = True
            else:
                facts.assigned_attrs.add(kw.arg)

"""Python scoping for the preflight: which binding, if any, each name load refers to.

A flow-insensitive model of CPython's rules: a name bound anywhere in a function is local to the
whole function; class bodies are invisible to the functions and comprehensions inside them;
comprehensions have their own scope, except for the first iterable and for walrus targets;
`global`/`nonlocal` redirect bindings. Being flow-insensitive errs on the safe side: a name used
before its assignment resolves, so it is never reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(eq=False)
class Binding:
    """One place that binds a name, with the assigned value when it is a simple assignment."""

    name: str
    node: ast.AST
    kind: str  # assign, param, import, def, class, loop, with, except, walrus, del, other...
    value: ast.expr | None = None
    module: str | None = None  # for imports: the module imported from
    imported: str | None = None  # for `from m import x`: the name x
    origin: Scope | None = None  # the scope the binding statement itself runs in


@dataclass(eq=False)
class Scope:
    """A module, class, function, lambda or comprehension scope."""

    kind: str
    node: ast.AST
    parent: Scope | None
    raw: dict[str, list[Binding]] = field(default_factory=dict)
    global_decls: set[str] = field(default_factory=set)
    nonlocal_decls: set[str] = field(default_factory=set)
    children: list[Scope] = field(default_factory=list)
    local: set[str] = field(default_factory=set)  # filled by `resolve_bindings`

    def bind(self, binding: Binding) -> None:
        self.raw.setdefault(binding.name, []).append(binding)


@dataclass(frozen=True)
class StarImport:
    module: str  # "" for a relative `from . import *`
    level: int
    node: ast.ImportFrom


class ScopeAnalysis(ast.NodeVisitor):
    """Builds the scope tree of a module and records every name load with its scope."""

    def __init__(self, tree: ast.Module) -> None:
        self.module = Scope("module", tree, None)
        self.scope = self.module
        self.loads: list[tuple[ast.Name, Scope]] = []
        self.star_imports: list[StarImport] = []
        self.scope_of: dict[int, Scope] = {}  # id(def/lambda/class node) -> its scope
        self.effective: dict[tuple[int, str], list[Binding]] = {}
        # id(Attribute.value or Call.func) -> that Attribute or Call: what the rules look up.
        self.parent_of: dict[int, ast.AST] = {}
        self.visit_module(tree)
        self._resolve_bindings()

    # -- building --------------------------------------------------------------------------
    def visit_module(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.visit(stmt)

    def _enter(self, kind: str, node: ast.AST) -> Scope:
        scope = Scope(kind, node, self.scope)
        self.scope.children.append(scope)
        self.scope_of[id(node)] = scope
        return scope

    def _bind_name(self, name: str, node: ast.AST, kind: str, **extra: object) -> None:
        binding = Binding(name, node, kind, origin=self.scope, **extra)  # type: ignore[arg-type]
        self.scope.bind(binding)

    def _visit_arguments_defaults(self, args: ast.arguments) -> None:
        for default in args.defaults:
            self.visit(default)
        for kw_default in args.kw_defaults:
            if kw_default is not None:
                self.visit(kw_default)

    def _bind_arguments(self, args: ast.arguments) -> None:
        every = args.posonlyargs + args.args + args.kwonlyargs
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in every:
            self._bind_name(arg.arg, arg, "param")

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_arguments_defaults(node.args)
        # Annotations are skipped: they may be strings or never evaluated (PEP 563).
        self._bind_name(node.name, node, "def")
        outer = self.scope
        self.scope = self._enter("function", node)
        for param in getattr(node, "type_params", []) or []:
            self._bind_name(param.name, param, "param")
        self._bind_arguments(node.args)
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_arguments_defaults(node.args)
        outer = self.scope
        self.scope = self._enter("function", node)
        self._bind_arguments(node.args)
        self.visit(node.body)
        self.scope = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
        for keyword in node.keywords:
            self.visit(keyword.value)
        self._bind_name(node.name, node, "class")
        outer = self.scope
        self.scope = self._enter("class", node)
        for param in getattr(node, "type_params", []) or []:
            self._bind_name(param.name, param, "param")
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    def _visit_comprehension(self, node: ast.expr) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        outer = self.scope
        self.scope = self._enter("comprehension", node)
        for index, generator in enumerate(generators):
            self.visit(generator.target)
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)  # type: ignore[attr-defined]
        self.scope = outer

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension
    visit_DictComp = _visit_comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        target = self.scope
        while target.kind == "comprehension" and target.parent is not None:
            target = target.parent  # PEP 572: binds in the enclosing non-comprehension scope
        target.bind(
            Binding(node.target.id, node.target, "walrus", value=node.value, origin=self.scope)
        )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.parent_of[id(node.value)] = node
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        self.parent_of[id(node.func)] = node
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.append((node, self.scope))
        else:
            kind = "del" if isinstance(node.ctx, ast.Del) else "other"
            self._bind_name(node.id, node, kind)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and len(node.targets) == 1:
                self._bind_name(target.id, target, "assign", value=node.value)
            else:
                self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        if isinstance(node.target, ast.Name):
            if node.value is not None:
                self._bind_name(node.target.id, node.target, "assign", value=node.value)
            else:
                self._bind_name(node.target.id, node.target, "other")
        else:
            self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            # `x += 1` reads x too; it is local here, so the read needs no separate check.
            self._bind_name(node.target.id, node.target, "other")
        else:
            self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind_name(alias.asname, node, "import", module=alias.name)
            else:
                # `import a.b.c` binds `a`; `module` keeps the full path (it makes `a.b` usable).
                self._bind_name(alias.name.split(".")[0], node, "import", module=alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(StarImport(module, node.level, node))
                continue
            full = module if not node.level else "." * node.level + module
            self._bind_name(
                alias.asname or alias.name, node, "import", module=full, imported=alias.name
            )

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.global_decls.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.nonlocal_decls.update(node.names)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind_name(node.name, node, "except")
        for stmt in node.body:
            self.visit(stmt)

    def visit_MatchAs(self, node: ast.AST) -> None:
        self.generic_visit(node)
        name = getattr(node, "name", None)
        if name:
            self._bind_name(name, node, "other")

    def visit_MatchStar(self, node: ast.AST) -> None:
        name = getattr(node, "name", None)
        if name:
            self._bind_name(name, node, "other")

    def visit_MatchMapping(self, node: ast.AST) -> None:
        self.generic_visit(node)
        rest = getattr(node, "rest", None)
        if rest:
            self._bind_name(rest, node, "other")

    def visit_TypeAlias(self, node: ast.AST) -> None:
        name = getattr(node, "name", None)
        if isinstance(name, ast.Name):
            self._bind_name(name.id, name, "other")

    def visit_arg(self, node: ast.arg) -> None:
        return None  # annotations are not checked

    # -- resolving -------------------------------------------------------------------------
    def all_scopes(self) -> list[Scope]:
        """Every scope of the module, the module first."""
        found, stack = [], [self.module]
        while stack:
            scope = stack.pop()
            found.append(scope)
            stack.extend(scope.children)
        return found

    def _nonlocal_target(self, scope: Scope, name: str) -> Scope | None:
        parent = scope.parent
        while parent is not None and parent.kind != "module":
            if parent.kind != "class" and (name in parent.raw or name in parent.nonlocal_decls):
                if name in parent.nonlocal_decls:
                    return self._nonlocal_target(parent, name)
                if name in parent.global_decls:
                    return self.module
                return parent
            parent = parent.parent
        return None

    def _target_scope(self, scope: Scope, name: str) -> Scope | None:
        if scope.kind == "module" or name in scope.global_decls:
            return self.module
        if name in scope.nonlocal_decls:
            return self._nonlocal_target(scope, name)
        return scope

    def _resolve_bindings(self) -> None:
        for scope in self.all_scopes():
            for name, bindings in scope.raw.items():
                target = self._target_scope(scope, name)
                if target is None:
                    continue
                self.effective.setdefault((id(target), name), []).extend(bindings)
                target.local.add(name)
            # A declared global is a module name even when only assigned through setattr & co.
            self.module.local.update(scope.global_decls)

    def resolve(self, name: str, scope: Scope) -> Scope | None:
        """The scope whose binding `name` refers to when loaded in `scope`; None: not bound.

        None means the module does not bind it: it may still be a builtin or star-imported.
        """
        if scope.kind != "module":
            if name in scope.global_decls:
                return self.module if name in self.module.local else None
            if name in scope.nonlocal_decls:
                return self._nonlocal_target(scope, name)
            if name in scope.local:
                return scope
            parent = scope.parent
            while parent is not None and parent.kind != "module":
                if parent.kind != "class":
                    if name in parent.global_decls:
                        break
                    if name in parent.nonlocal_decls:
                        return self._nonlocal_target(parent, name)
                    if name in parent.local:
                        return parent
                parent = parent.parent
        return self.module if name in self.module.local else None

    def bindings(self, scope: Scope, name: str) -> list[Binding]:
        """Every binding of `name` that lands in `scope` (after global/nonlocal redirection)."""
        return self.effective.get((id(scope), name), [])


def enclosing_handlers(tree: ast.Module) -> dict[int, list[ast.ExceptHandler]]:
    """For every node inside a `try` body: the handlers that would catch its exceptions."""
    guarded: dict[int, list[ast.ExceptHandler]] = {}
    try_types = (ast.Try, getattr(ast, "TryStar", ast.Try))
    stack: list[tuple[ast.AST, list[ast.ExceptHandler]]] = [(tree, [])]
    while stack:  # iterative: deeply nested expressions must not hit the recursion limit
        node, handlers = stack.pop()
        if handlers:
            guarded[id(node)] = handlers
        if isinstance(node, try_types):
            inner = handlers + list(node.handlers)  # type: ignore[attr-defined]
            stack.extend((stmt, inner) for stmt in node.body)  # type: ignore[attr-defined]
            for part in (node.handlers, node.orelse, node.finalbody):  # type: ignore[attr-defined]
                stack.extend((stmt, handlers) for stmt in part)
            continue
        stack.extend((child, handlers) for child in ast.iter_child_nodes(node))
    return guarded


def unconditional_statements(tree: ast.Module) -> set[int]:
    """Ids of the statements that surely run when the module is imported.

    Module and class bodies, `with` bodies, `try` bodies and `finally` blocks; not the bodies of
    functions, branches, loops or exception handlers (a fallback import there may never run).
    """
    found: set[int] = set()
    stack: list[ast.stmt] = list(tree.body)
    try_types = (ast.Try, getattr(ast, "TryStar", ast.Try))
    while stack:
        stmt = stack.pop()
        found.add(id(stmt))
        if isinstance(stmt, (ast.ClassDef, ast.With, ast.AsyncWith)):
            stack.extend(stmt.body)
        elif isinstance(stmt, try_types):
            stack.extend(stmt.body + stmt.finalbody)  # type: ignore[attr-defined]
    return found

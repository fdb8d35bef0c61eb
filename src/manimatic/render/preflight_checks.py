"""The preflight's rules over one parsed module (used by `preflight.check_code`).

Every rule is conservative: it reports only what will fail for sure and stays silent when the
code does something it cannot follow (star imports of unknown modules, `exec`, `setattr` with
computed names, custom `__getattr__`, try/except around the use, re-assigned variables...).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from manimatic.manim_api.namespace import BUILTIN_NAMES, ClassInfo, ManimNamespace
from manimatic.manim_api.suggest import closest_name
from manimatic.render import legacy
from manimatic.render.preflight_facts import gather_facts
from manimatic.render.preflight_scope import (
    Binding,
    Scope,
    ScopeAnalysis,
    enclosing_handlers,
    unconditional_statements,
)

# line, col, code, message, suggestion, error type
RawFinding = tuple[int, int, str, str, "str | None", str]

_CATCH_ALL = frozenset({"Exception", "BaseException"})
_UNKNOWN = "unknown"
_OBJECT_ATTRS = frozenset(dir(object)) | {"__dict__", "__module__", "__weakref__"}


@dataclass
class KnownType:
    """What an expression is known to be: an instance of manim classes and/or module classes."""

    manim: list[ClassInfo]
    own: bool = False  # a class defined in the checked module (its names: facts.own_class_attrs)
    name: str = ""


def _handler_names(handler: ast.ExceptHandler) -> set[str] | None:
    """Exception names a handler catches, or None when it catches anything / is unclear."""
    if handler.type is None:
        return None
    items = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = set()
    for item in items:
        if isinstance(item, ast.Name):
            names.add(item.id)
        elif isinstance(item, ast.Attribute):
            names.add(item.attr)
        else:
            return None
    return None if names & _CATCH_ALL else names


def _closest(word: str, candidates: set[str] | frozenset[str]) -> str | None:
    # Private names are suggested only for a private name (`_x` -> `_y`).
    pool = [c for c in candidates if not c.startswith("_") or word.startswith("_")]
    return closest_name(word, sorted(pool))


def _did_you_mean(word: str, candidates: set[str] | frozenset[str]) -> str | None:
    match = _closest(word, candidates)
    return f"did you mean {match}?" if match else None


class ModuleChecker:
    """Applies the preflight rules to one module; `run()` returns (scenes, raw findings)."""

    def __init__(self, tree: ast.Module, ns: ManimNamespace) -> None:
        self.tree = tree
        self.ns = ns
        self.scopes = ScopeAnalysis(tree)
        self.module = self.scopes.module
        self.parents = self.scopes.parent_of
        self._guards: dict[int, list[ast.ExceptHandler]] | None = None  # built when needed
        self.findings: list[RawFinding] = []
        self.facts = gather_facts(tree, self.scopes)
        self._imports()
        self._own_types: dict[int, KnownType | None] = {}
        self._children: dict[int, list[ast.ClassDef]] | None = None  # class -> subclasses

    # -- module-wide facts -------------------------------------------------------------------
    def _imports(self) -> None:
        self.manim_star = False
        self.imports_manim = False
        self.other_star: set[str] = set()
        for star in self.scopes.star_imports:
            top = star.module.split(".")[0]
            if star.level == 0 and star.module == "manim":
                self.manim_star = True
            elif star.level == 0 and star.module in self.ns.star_modules:
                self.other_star |= self.ns.star_modules[star.module]
            else:
                self.facts.names_unknowable = True
            if star.level == 0 and top == "manim":
                self.imports_manim = True
        for bindings in self.module.raw.values():
            for binding in bindings:
                module = (binding.module or "").split(".")[0]
                if binding.kind == "import" and module == "manim":
                    self.imports_manim = True

    def _guarded(self, node: ast.AST, *errors: str) -> bool:
        """Whether a try around `node` catches any of `errors` (or something unclear)."""
        if self._guards is None:
            self._guards = enclosing_handlers(self.tree)
        for handler in self._guards.get(id(node), []):
            names = _handler_names(handler)
            if names is None or names & set(errors):
                return True
        return False

    def _add(
        self,
        node: ast.AST,
        code: str,
        message: str,
        suggestion: str | None,
        error_type: str = "",
    ) -> None:
        """Record a finding; `error_type` is the exception the runtime would raise there."""
        line = getattr(node, "lineno", 1) or 1
        col = (getattr(node, "col_offset", 0) or 0) + 1
        self.findings.append((line, col, code, message, suggestion, error_type))

    # -- resolving what names refer to ------------------------------------------------------
    def _module_binding(self, name: str) -> Binding | None:
        """The single module-level binding of `name`, if there is exactly one."""
        found = self.scopes.bindings(self.module, name)
        return found[0] if len(found) == 1 else None

    def _is_manim_module(self, node: ast.expr, scope: Scope) -> bool:
        """Whether `node` is a name bound only by `import manim` / `import manim as mn`."""
        if not isinstance(node, ast.Name) or self.scopes.resolve(node.id, scope) is not self.module:
            return False
        found = self.scopes.bindings(self.module, node.id)
        return bool(found) and all(
            b.kind == "import"
            and b.imported is None
            and (
                b.module == "manim" or ((b.module or "").startswith("manim.") and b.name == "manim")
            )
            for b in found
        )

    def _manim_export(self, node: ast.expr, scope: Scope) -> str | None:
        """The manim export `node` names for sure (`Circle`, `mn.Circle`, an alias), else None."""
        if isinstance(node, ast.Attribute) and self._is_manim_module(node.value, scope):
            return node.attr if node.attr in self.ns.star else None
        if not isinstance(node, ast.Name):
            return None
        target = self.scopes.resolve(node.id, scope)
        if target is None:
            if (
                self.manim_star
                and node.id in self.ns.star
                and node.id not in self.other_star
                and not self.facts.names_unknowable
            ):
                return node.id
            return None
        if target is not self.module:
            return None
        binding = self._module_binding(node.id)
        if binding and binding.kind == "import" and binding.module == "manim":
            return binding.imported if binding.imported in self.ns.star else None
        return None

    def _own_class(self, node: ast.expr, scope: Scope) -> ast.ClassDef | None:
        if not isinstance(node, ast.Name) or self.scopes.resolve(node.id, scope) is not self.module:
            return None
        binding = self._module_binding(node.id)
        if binding and binding.kind == "class" and isinstance(binding.node, ast.ClassDef):
            return binding.node
        return None

    def own_type(self, cls: ast.ClassDef, seen: frozenset[int] = frozenset()) -> KnownType | None:
        """The manim bases of a module class, when every base is understood."""
        if id(cls) in self._own_types:
            return self._own_types[id(cls)]
        result: KnownType | None = None
        scope = self.scopes.scope_of.get(id(cls))
        plain = not cls.decorator_list and not cls.keywords
        if id(cls) not in seen and plain and scope is not None and "__new__" not in scope.local:
            result = KnownType([], own=True, name=cls.name)
            for base in cls.bases:
                export = self._manim_export(base, self.module)
                info = self.ns.exported_class(export) if export else None
                own = self._own_class(base, self.module)
                if info is not None:
                    result.manim.append(info)
                elif own is not None:
                    inner = self.own_type(own, seen | {id(cls)})
                    if inner is None:
                        result = None
                        break
                    result.manim.extend(inner.manim)
                elif not (isinstance(base, ast.Name) and base.id == "object"):
                    result = None
                    break
        self._own_types[id(cls)] = result
        return result

    def type_of(self, node: ast.Name, scope: Scope) -> KnownType | None:
        """The class of a variable assigned once from a constructor call, or of `self`."""
        target = self.scopes.resolve(node.id, scope)
        if target is None:
            return None
        found = self.scopes.bindings(target, node.id)
        if len(found) != 1:
            return None
        binding = found[0]
        if binding.kind == "param":
            return self._self_type(binding, target)
        if binding.kind != "assign" or not isinstance(binding.value, ast.Call):
            return None
        call, origin = binding.value, binding.origin or target
        export = self._manim_export(call.func, origin)
        info = self.ns.exported_class(export) if export else None
        if info is not None:
            return None if info.new_type else KnownType([info], name=info.name)
        own = self._own_class(call.func, origin)
        return self.own_type(own) if own is not None else None

    def _self_type(self, binding: Binding, scope: Scope) -> KnownType | None:
        func = scope.node
        cls_scope = scope.parent
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or cls_scope is None:
            return None
        if cls_scope.kind != "class" or cls_scope.parent is not self.module:
            return None
        positional = func.args.posonlyargs + func.args.args
        if not positional or positional[0] is not binding.node:
            return None
        for decorator in func.decorator_list:
            plain = isinstance(decorator, ast.Name) and decorator.id == "property"
            accessor = isinstance(decorator, ast.Attribute) and decorator.attr in (
                "setter",
                "getter",
            )
            if not (plain or accessor):
                return None  # staticmethod, classmethod or anything that may rebind it
        assert isinstance(cls_scope.node, ast.ClassDef)
        known = self.own_type(cls_scope.node)
        if known is None or self.facts.dynamic_type:
            return None
        # `self` may also be an instance of a subclass (a mixin's self is): it has their bases too.
        merged = KnownType(list(known.manim), own=True, name=known.name)
        for sub in self._subclasses(cls_scope.node):
            sub_scope = self.scopes.scope_of.get(id(sub))
            sub_known = self.own_type(sub)
            if sub_known is None or sub_scope is None or sub_scope.parent is not self.module:
                return None
            merged.manim.extend(i for i in sub_known.manim if i not in merged.manim)
        return merged

    def _subclasses(self, cls: ast.ClassDef) -> list[ast.ClassDef]:
        """Every class of the module deriving from `cls`, directly or not (module level only)."""
        if self._children is None:
            self._children = {}
            for scope in self.scopes.all_scopes():
                if scope.kind != "class" or scope.parent is None:
                    continue
                node = scope.node
                assert isinstance(node, ast.ClassDef)
                for base in node.bases:
                    parent = self._own_class(base, scope.parent)
                    if parent is not None:
                        self._children.setdefault(id(parent), []).append(node)
        found: list[ast.ClassDef] = []
        stack = list(self._children.get(id(cls), []))
        while stack:
            node = stack.pop()
            if node not in found:
                found.append(node)
                stack.extend(self._children.get(id(node), []))
        return found

    # -- rules --------------------------------------------------------------------------------
    def run(self) -> tuple[list[str], list[RawFinding]]:
        self._check_imports()
        for node, scope in self.scopes.loads:
            self._check_name(node, scope)
            parent = self.parents.get(id(node))
            if isinstance(parent, ast.Call) and parent.func is node:
                self._check_call_kwargs(parent, node, scope, None)
            elif isinstance(parent, ast.Attribute) and parent.value is node:
                self._check_attribute(parent, node, scope)
        scenes = self._scenes()
        unique = sorted(set(self.findings), key=lambda f: (f[0], f[1], f[2], f[3]))
        return scenes, unique

    def _check_imports(self) -> None:
        surely_run = unconditional_statements(self.tree)
        for node in self.facts.import_nodes:
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "manim":
                    self._check_manim_from_import(node)
            else:
                continue
            for module in modules:
                entry = legacy.lookup(module, "modules") or legacy.lookup(
                    module.split(".")[0], "modules"
                )
                certain = id(node) in surely_run and not self._guarded(
                    node, "ImportError", "ModuleNotFoundError"
                )
                if entry is not None and module.split(".")[0] != "manim" and certain:
                    self._add(
                        node,
                        "manimgl_import",
                        f"`{module}` is ManimGL (or pre-CE manim), not Manim Community Edition",
                        entry.suggestion(),
                    )

    def _check_manim_from_import(self, node: ast.ImportFrom) -> None:
        if self._guarded(node, "ImportError"):
            return
        for alias in node.names:
            name = alias.name
            if name == "*" or name in self.ns.package_dir or name in self.ns.submodules:
                continue
            entry = legacy.lookup(name, "names")
            message = f"cannot import name '{name}' from 'manim'"
            if entry is not None:
                self._add(node, "legacy_api", message, entry.suggestion(), "ImportError")
            else:
                hint = _did_you_mean(name, self.ns.names)
                self._add(node, "unknown_name", message, hint, "ImportError")

    def _check_name(self, node: ast.Name, scope: Scope) -> None:
        name = node.id
        if self.scopes.resolve(name, scope) is not None or name in BUILTIN_NAMES:
            return
        if (self.manim_star and name in self.ns.star) or name in self.other_star:
            return
        if self.facts.names_unknowable or self._guarded(node, "NameError"):
            return
        message = f"name '{name}' is not defined"
        if name in self.ns.star:
            hint = "add `from manim import *`"
            if self.imports_manim:
                hint += f" (or import {name} from manim)"
            self._add(node, "missing_import", f"{message}: it is a manim name, not imported", hint)
            return
        entry = legacy.lookup(name, "names")
        if entry is not None:
            self._add(
                node,
                "legacy_api",
                f"{message}: {name} is not in Manim CE {self.ns.version}",
                entry.suggestion(),
            )
            return
        self._add(node, "unknown_name", message, self._name_hint(name, scope))

    def _name_hint(self, name: str, scope: Scope) -> str | None:
        walk: Scope | None = scope
        while walk is not None:
            if walk.kind == "class" and walk is not scope and name in walk.local:
                return f"use self.{name} (class attributes are not visible inside methods)"
            walk = walk.parent
        pool: set[str] = set(BUILTIN_NAMES) | self.module.local | self.other_star
        if self.imports_manim or self.manim_star:
            pool |= self.ns.names
        walk = scope
        while walk is not None:
            pool |= walk.local
            walk = walk.parent
        return _did_you_mean(name, pool)

    def _attr_exists(self, known: KnownType, attr: str, called: bool) -> bool | None:
        """True/False when known for sure; None when the receiver may have anything."""
        if attr in self.facts.assigned_attrs or attr in _OBJECT_ATTRS:
            return True
        if known.own and attr in self.facts.own_class_attrs:
            return True
        getset = False
        for info in known.manim:
            if self.ns.is_dynamic(info):
                return None
            if attr in self.ns.attributes(info):
                return True
            getset = getset or info.getset
        if getset and attr.startswith("set_"):
            return True  # Mobject.__getattr__ turns set_x into setattr(self, "x", value)
        if getset and attr.startswith("get_"):
            # Mobject.__getattr__ turns get_x into getattr(self, "x"): fails only when called.
            return True if not called else self._attr_exists(known, attr[4:], False)
        return False

    def _check_attribute(self, node: ast.Attribute, receiver: ast.Name, scope: Scope) -> None:
        parent = self.parents.get(id(node))
        called = isinstance(parent, ast.Call) and parent.func is node
        if not isinstance(node.ctx, ast.Load):
            return
        if self._is_manim_module(receiver, scope):
            self._check_module_attribute(node, receiver)
            if called:
                self._check_call_kwargs(parent, node, scope, None)  # type: ignore[arg-type]
            return
        if self.facts.attrs_unknowable or self.facts.opengl:
            return
        known = self.type_of(receiver, scope)
        if known is None or (not known.manim and not known.own):
            return
        exists = self._attr_exists(known, node.attr, called)
        if exists is False and not self._guarded(node, "AttributeError"):
            self._report_attribute(node, known)
        elif exists and called:
            self._check_call_kwargs(parent, node, scope, known)  # type: ignore[arg-type]

    def _attr_position(self, node: ast.Attribute) -> ast.AST:
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if end_line is None or end_col is None or end_line != node.lineno:
            return node
        marker = ast.Name(id=node.attr)
        marker.lineno, marker.col_offset = end_line, end_col - len(node.attr)
        return marker

    def _report_attribute(self, node: ast.Attribute, known: KnownType) -> None:
        attr = node.attr
        message = f"'{known.name}' object has no attribute '{attr}'"
        entry = legacy.lookup(attr, "methods")
        where = self._attr_position(node)
        if entry is not None:
            self._add(where, "legacy_api", message, entry.suggestion(), "AttributeError")
            return
        pool: set[str] = set()
        if known.own:
            pool |= self.facts.own_class_attrs | self.facts.assigned_attrs
        for info in known.manim:
            pool |= self.ns.attributes(info)
        self._add(where, "unknown_attribute", message, _did_you_mean(attr, pool))

    def _check_module_attribute(self, node: ast.Attribute, receiver: ast.Name) -> None:
        attr = node.attr
        if attr in self.ns.package_dir or attr in self.ns.submodules:
            return
        if self._guarded(node, "AttributeError"):
            return
        message = f"module 'manim' has no attribute '{attr}'"
        entry = legacy.lookup(attr, "names")
        where = self._attr_position(node)
        if entry is not None:
            self._add(where, "legacy_api", message, entry.suggestion(), "AttributeError")
        else:
            self._add(where, "unknown_attribute", message, _did_you_mean(attr, self.ns.names))

    def _check_call_kwargs(
        self, call: ast.Call, func: ast.expr, scope: Scope, receiver: KnownType | None
    ) -> None:
        """Keywords of `Cls(...)`, `function(...)` or `obj.method(...)` that will be refused."""
        if self.facts.opengl or self._guarded(call, "TypeError"):
            return
        accepted: frozenset[str] | None = None
        label = ""
        if receiver is not None:
            assert isinstance(func, ast.Attribute)
            if len(receiver.manim) != 1 or func.attr in self.facts.assigned_attrs:
                return
            if receiver.own and func.attr in self.facts.own_class_attrs:
                return
            accepted = self.ns.method_kwargs(receiver.manim[0], func.attr)
            label = f"{receiver.manim[0].name}.{func.attr}()"
        else:
            export = self._manim_export(func, scope)
            if export is None:
                return
            info = self.ns.exported_class(export)
            if info is not None:
                accepted, label = info.kwargs, f"{export}()"
            else:
                accepted, label = self.ns.functions.get(export), f"{export}()"
        if accepted is None:
            return
        for kw in call.keywords:
            if kw.arg is None or kw.arg in accepted:
                continue
            message = f"{label} got an unexpected keyword argument '{kw.arg}'"
            entry = legacy.lookup(kw.arg, "kwargs")
            if entry is not None:
                self._add(kw, "legacy_api", message, entry.suggestion(), "TypeError")
            else:
                self._add(kw, "unknown_kwarg", message, _did_you_mean(kw.arg, accepted))

    # -- scenes ------------------------------------------------------------------------------
    def _base_kind(self, base: ast.expr, seen: frozenset[int]) -> str:
        """Whether one base makes a Scene: "scene", "other" (known not to) or "unknown"."""
        is_object = isinstance(base, ast.Name) and base.id == "object"
        if is_object and self.scopes.resolve("object", self.module) is None:
            return "other"
        export = self._manim_export(base, self.module)
        if export is not None:
            return "scene" if self.ns.is_scene_name(export) else "other"
        own = self._own_class(base, self.module)
        if own is not None:
            return self._class_kind(own, seen)
        if isinstance(base, ast.Name) and self.scopes.resolve(base.id, self.module) is None:
            # Unresolved: a missing import of a Scene or a ManimGL/legacy Scene is still a scene
            # in intent; the name itself gets its own finding.
            if self.ns.is_scene_name(base.id):
                return "scene"
            entry = legacy.lookup(base.id, "names")
            if entry is not None and base.id.endswith("Scene"):
                return "scene"
        return _UNKNOWN

    def _class_kind(self, cls: ast.ClassDef, seen: frozenset[int] = frozenset()) -> str:
        if id(cls) in seen:
            return _UNKNOWN
        kinds = [self._base_kind(base, seen | {id(cls)}) for base in cls.bases]
        if "scene" in kinds:
            return "scene"
        if _UNKNOWN in kinds or cls.keywords:
            return _UNKNOWN
        return "other"

    def _scenes(self) -> list[str]:
        scenes: list[str] = []
        unknown = self.facts.dynamic_type or self.facts.names_unknowable
        classes = [
            scope.node
            for scope in self.module.children
            if scope.kind == "class" and isinstance(scope.node, ast.ClassDef)
        ]
        for cls in sorted(classes, key=lambda c: (c.lineno, c.col_offset)):
            kind = self._class_kind(cls)
            if kind == "scene" and cls.name not in scenes:
                scenes.append(cls.name)
            unknown = unknown or kind == _UNKNOWN
        if not scenes and not unknown:
            message = "no Scene subclass: manim would render nothing"
            hint = "define `class MyScene(Scene):` with a `def construct(self):` method"
            self.findings.append((1, 1, "no_scene", message, hint, ""))
        return scenes

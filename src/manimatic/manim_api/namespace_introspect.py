"""Introspect the installed manim for the static preflight (run once per manim version).

Everything the preflight knows about manim comes from here: the names `from manim import *`
exports, and for each class its MRO, class-level names, the instance attributes its source
assigns (`self.x = ...`), the keyword arguments its constructor accepts (following `**kwargs`
through the `__init__` chain) and the keyword arguments of its methods. Nothing is typed by hand.

The result is a plain JSON-able dict (layout below; `FORMAT` bumps when it changes). It is built
in a child process (`manim_api.build`, with the docs index data) so importing manim never touches
the caller's process, and `manim_api.namespace` caches it per manim version.

Layout:
- ``star``: name -> kind (``class``, ``function``, ``module``, ``value``) for `from manim import *`.
- ``exports``: exported class name -> class key (``module:qualname``).
- ``dir``: every attribute of the `manim` package; ``submodules``: its subpackage names.
- ``classes``: class key -> ``{"mro", "own", "inst", "dyn", "getset", "kwargs", "methods",
  "scene", "new_type"}``; ``kwargs``/method entries are a list of accepted keyword names or
  ``null`` when anything may be accepted.
- ``foreign_attrs``: attribute names manim assigns on objects other than ``self``.
- ``functions``: exported function name -> accepted keywords or ``null``.
- ``star_modules``: module -> names its star import gives, for a few common modules.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = 1

# Star imports we can resolve besides manim's (stdlib and numpy, cheap to import). A star import
# of any other module makes global names unknowable, and the preflight then reports none.
STAR_MODULES = (
    "math",
    "cmath",
    "random",
    "numpy",
    "itertools",
    "functools",
    "operator",
    "string",
    "typing",
    "collections",
    "colorsys",
    "time",
    "copy",
    "fractions",
    "decimal",
    "statistics",
)

# Bases outside manim that add no instance state of their own; any other foreign base makes a
# class's attributes unknowable (Enum, str, numpy scalars, exceptions...).
_NEUTRAL_BASES = {"builtins.object", "typing.Generic", "abc.ABC"}

_IDENTIFIER_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_manim(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "manim"


@cache
def _module_tree(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None


def _class_node(cls: type) -> ast.ClassDef | None:
    """The `ClassDef` of a manim class, found by qualname in its module's source."""
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    tree = _module_tree(path) if path else None
    if tree is None:
        return None
    body: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for part in cls.__qualname__.split("."):
        # Last definition wins, as at run time.
        found = [n for n in body if isinstance(n, ast.ClassDef) and n.name == part]
        if not found:
            return None
        node = found[-1]
        body = node.body
    return node


def _self_name(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    args = func.args.posonlyargs + func.args.args
    return args[0].arg if args else None


def _methods(node: ast.ClassDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The class's methods, including ones defined under `if`/`try` in the class body."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    stack: list[ast.AST] = list(node.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(item)
        elif not isinstance(item, ast.ClassDef):
            stack.extend(ast.iter_child_nodes(item))
    return found


def _class_source_facts(node: ast.ClassDef) -> tuple[set[str], bool]:
    """(instance attributes assigned in the class's methods, any attribute possible)."""
    attrs: set[str] = set()
    dynamic = False
    literal_names: set[str] = set()
    dynamic_setattr = False
    for method in _methods(node):
        me = _self_name(method)
        for sub in ast.walk(method):
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                if isinstance(sub.value, ast.Name) and sub.value.id == me:
                    attrs.add(sub.attr)
                if sub.attr == "__dict__":
                    dynamic = True
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                if sub.func.id == "setattr" and len(sub.args) >= 2:
                    target, name = sub.args[0], sub.args[1]
                    if isinstance(name, ast.Constant) and isinstance(name.value, str):
                        attrs.add(name.value)
                    elif isinstance(target, ast.Name) and target.id == me:
                        dynamic_setattr = True
            elif (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "update"
                and isinstance(sub.func.value, ast.Attribute)
                and sub.func.value.attr == "__dict__"
            ):
                dynamic = True
            elif (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and sub.value
                and set(sub.value) <= _IDENTIFIER_CHARS
            ):
                literal_names.add(sub.value)
    if dynamic_setattr:
        # `setattr(self, name, ...)` with a computed name: the names are (almost always) string
        # literals somewhere in the class, e.g. "fill_rgbas"; taking them all errs on the safe side.
        attrs |= literal_names
    return attrs, dynamic


def _foreign_attrs(package_dir: Path) -> set[str]:
    """Attribute names manim sets on objects other than `self` (`graph.underlying_function`)."""
    names: set[str] = set()
    for path in package_dir.rglob("*.py"):
        tree = _module_tree(str(path))
        if tree is None:
            continue
        for sub in ast.walk(tree):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                me = _self_name(sub)
                for inner in ast.walk(sub):
                    if (
                        isinstance(inner, ast.Attribute)
                        and isinstance(inner.ctx, ast.Store)
                        and not (isinstance(inner.value, ast.Name) and inner.value.id == me)
                    ):
                        names.add(inner.attr)
            elif (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id == "setattr"
                and len(sub.args) >= 2
            ):
                name = _string_arg(sub.args[1])
                if name is not None:
                    names.add(name)
    return names


def _function_kwargs(func: Any, skip_first: bool) -> list[str] | None:
    """Keyword names a plain function accepts, or None when it takes `**kwargs` or is wrapped."""
    if isinstance(func, (staticmethod, classmethod)):
        skip_first = isinstance(func, classmethod)
        func = func.__func__
    if not inspect.isfunction(func) or hasattr(func, "__wrapped__"):
        return None
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if skip_first and params:
        params = params[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return sorted(p.name for p in params if p.kind is not p.VAR_POSITIONAL)


def _init_source(func: Any) -> ast.FunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, ast.FunctionDef) else None  # an async __init__ is no init


def _forward_target(call: ast.Call, owner: type, func: Any, mro: tuple[type, ...]) -> int | None:
    """MRO index where a `**kwargs` forwarded by `call` continues, or None if unknown."""
    target = call.func
    if not (isinstance(target, ast.Attribute) and target.attr == "__init__"):
        return None
    value = target.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id != "super":
            return None
        start: Any = owner
        if value.args:  # super(Cls, self)
            first = value.args[0]
            start = func.__globals__.get(first.id) if isinstance(first, ast.Name) else None
        return mro.index(start) + 1 if start in mro else None
    if isinstance(value, ast.Name):
        cls = func.__globals__.get(value.id)
        if inspect.isclass(cls) and cls in mro:
            return mro.index(cls)
    return None


def _string_arg(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kwargs_uses(
    node: ast.FunctionDef, var: str, owner: type, func: Any, mro: tuple[type, ...]
) -> tuple[set[str], list[int]] | None:
    """(keys read from `**var`, MRO indexes it is forwarded to), or None if it escapes."""
    consumed: set[str] = set()
    forwards: list[int] = []
    handled: set[int] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            for kw in sub.keywords:
                if kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id == var:
                    index = _forward_target(sub, owner, func, mro)
                    if index is None:
                        return None
                    forwards.append(index)
                    handled.add(id(kw.value))
            func_node = sub.func
            if (
                isinstance(func_node, ast.Attribute)
                and isinstance(func_node.value, ast.Name)
                and func_node.value.id == var
            ):
                if func_node.attr in ("pop", "get", "setdefault") and sub.args:
                    key = _string_arg(sub.args[0])
                    if key is None:
                        return None
                    consumed.add(key)
                elif func_node.attr != "update":
                    return None
                handled.add(id(func_node.value))
        elif isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name):
            if sub.value.id == var:
                key = _string_arg(sub.slice)
                if key is None:
                    return None
                consumed.add(key)
                handled.add(id(sub.value))
        elif isinstance(sub, ast.Compare) and len(sub.comparators) == 1:
            right = sub.comparators[0]
            if isinstance(right, ast.Name) and right.id == var:
                key = _string_arg(sub.left)
                if key is None:
                    return None
                consumed.add(key)
                handled.add(id(right))
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == var and id(sub) not in handled:
            return None  # stored, iterated, passed as a dict...: we cannot follow it
    return consumed, forwards


def _init_kwargs(mro: tuple[type, ...], start: int, depth: int = 0) -> set[str] | None:
    """Keyword names the `__init__` found from `mro[start]` accepts, or None for anything."""
    if depth > 40:
        return None
    for index in range(start, len(mro)):
        owner = mro[index]
        if "__init__" in vars(owner):
            break
    else:
        return None
    func = vars(owner)["__init__"]
    if owner is object:
        return set()  # reached through super() from an overridden __init__: extra args raise
    if not _is_manim(owner) or not inspect.isfunction(func) or hasattr(func, "__wrapped__"):
        return None
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())[1:]
    accepted = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
    if var_kw is None:
        return accepted
    node = _init_source(func)
    if node is None:
        return None
    uses = _kwargs_uses(node, var_kw, owner, func, mro)
    if uses is None:
        return None
    consumed, forwards = uses
    if not forwards:
        return None  # `**kwargs` is swallowed: any keyword is accepted
    accepted |= consumed
    for target in forwards:
        more = _init_kwargs(mro, target, depth + 1)
        if more is None:
            return None
        accepted |= more
    return accepted


def _constructor_kwargs(cls: type, overridable: set[type]) -> list[str] | None:
    """Keyword names `cls(...)` accepts, or None when anything may be (or we cannot tell)."""
    if type(cls).__call__ is not type.__call__:  # type: ignore[comparison-overlap]
        return None
    new_owner = next((k for k in cls.__mro__ if "__new__" in vars(k)), object)
    if new_owner is not object:
        # Animation.__new__ only hands the arguments to a mobject's override of this animation.
        if not (new_owner.__qualname__ == "Animation" and _is_manim(new_owner)):
            return None
        if cls in overridable:
            return None
    if not any("__init__" in vars(k) for k in cls.__mro__[:-1]):
        return None if new_owner is not object else []
    accepted = _init_kwargs(cls.__mro__, 0)
    return None if accepted is None else sorted(accepted)


def _overridable_animations(classes: list[type]) -> set[type]:
    """Animation classes some mobject overrides (their constructor may return anything)."""
    found: set[type] = set()
    for cls in classes:
        overrides = vars(cls).get("animation_overrides")
        if isinstance(overrides, dict):
            found.update(k for k in overrides if inspect.isclass(k))
    return found


def _class_entry(cls: type, scene_base: type | None) -> dict[str, Any]:
    own = sorted(vars(cls))
    inst: set[str] = set()
    dynamic = False
    key = _key(cls)
    if _is_manim(cls):
        node = _class_node(cls)
        if node is None:
            dynamic = True
        else:
            inst, dynamic = _class_source_facts(node)
    elif key not in _NEUTRAL_BASES:
        dynamic = True
    getattr_owner = next((k for k in cls.__mro__ if "__getattr__" in vars(k)), None)
    getset = False
    if getattr_owner is not None:
        # Mobject's __getattr__ only invents get_x/set_x; any other makes every name possible.
        if _key(getattr_owner) == "manim.mobject.mobject.Mobject":
            getset = True
        else:
            dynamic = True
    if any("__getattribute__" in vars(k) for k in cls.__mro__[:-1]):
        dynamic = True
    methods: dict[str, list[str] | None] = {}
    if _is_manim(cls):
        for name, value in vars(cls).items():
            if inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod)):
                methods[name] = _function_kwargs(value, skip_first=True)
    return {
        "mro": [_key(k) for k in cls.__mro__],
        "own": own,
        "inst": sorted(inst),
        "dyn": dynamic,
        "getset": getset,
        "kwargs": None,
        "methods": methods,
        "scene": bool(scene_base is not None and issubclass(cls, scene_base)),
        "new_type": False,
    }


def _star_names(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(str(n) for n in names)


def introspect() -> dict[str, Any]:
    """Introspect the installed manim (imports it) into the JSON-able layout described above."""
    import manim

    namespace: dict[str, Any] = {}
    exec("from manim import *", namespace)  # the exact names user code gets
    namespace.pop("__builtins__", None)
    scene_base = getattr(manim, "Scene", None)

    star: dict[str, str] = {}
    exports: dict[str, str] = {}
    functions: dict[str, list[str] | None] = {}
    for name, value in namespace.items():
        if inspect.isclass(value):
            star[name] = "class"
            exports[name] = _key(value)
        elif inspect.ismodule(value):
            star[name] = "module"
        elif inspect.isfunction(value) or inspect.isbuiltin(value):
            star[name] = "function"
            if _is_manim(value):
                functions[name] = _function_kwargs(value, skip_first=False)
        else:
            star[name] = "value"

    exported = [v for v in namespace.values() if inspect.isclass(v)]
    all_classes: dict[str, type] = {}
    for cls in exported:
        for k in cls.__mro__:
            all_classes.setdefault(_key(k), k)
    overridable = _overridable_animations(list(all_classes.values()))
    classes = {key: _class_entry(cls, scene_base) for key, cls in all_classes.items()}
    for cls in exported:
        entry = classes[_key(cls)]
        entry["kwargs"] = _constructor_kwargs(cls, overridable)
        entry["new_type"] = cls in overridable

    package_dir = Path(manim.__file__).parent
    star_modules: dict[str, list[str]] = {}
    for module_name in STAR_MODULES:
        try:
            star_modules[module_name] = _star_names(importlib.import_module(module_name))
        except Exception:  # noqa: BLE001 - an unimportable module simply stays unknown
            continue

    return {
        "format": FORMAT,
        "manim_version": getattr(manim, "__version__", "unknown"),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "star": star,
        "exports": exports,
        "dir": sorted(dir(manim)),
        "submodules": sorted(m.name for m in pkgutil.iter_modules([str(package_dir)])),
        "classes": classes,
        "foreign_attrs": sorted(_foreign_attrs(package_dir)),
        "functions": functions,
        "star_modules": star_modules,
    }

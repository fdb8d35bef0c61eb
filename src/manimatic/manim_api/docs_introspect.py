"""Build the API index data by introspecting the installed manim (the only source of truth).

The result is a plain JSON-able dict so `ApiIndex` can cache it per manim version and load it
later without importing manim at all. Layout (`FORMAT` bumps whenever it changes):

- ``entries``: one dict per documented object with the `ApiEntry` fields plus ``def_id``
  (``module:Class.attr``, the defining object, for methods) and ``returns`` (a public class name,
  ``"Self"`` or ``""``, used to follow `ax.plot(...)` to a `ParametricFunction`).
- ``classes``: public class name -> ``{"id", "mro", "dynamic"}`` (ids of every class in its MRO;
  how unknown attributes are answered, see `_dynamic_attrs`).
- ``attrs``: class id -> {data attribute: public class name or ""}: class-level data and every
  `self.x = ...` in its methods (classes guessed from `__init__`), so `self.camera.frame` or
  `ax.x_axis` resolve and are never reported missing.
- ``namespace``: every public name of `from manim import *` (including ones not documented, like
  ``np``), so existence checks agree with what user code can actually see.
- ``module_members``: manim module name -> its public member names (``rate_functions.smooth``).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

from manimatic.manim_api.text import cut_examples, first_paragraph, simplify_rst

FORMAT = 3

# Where constants are defined, in the order a human would look; `from x import *` chains make
# the same object visible in dozens of modules.
_CONSTANT_HOMES = ("manim.constants", "manim.utils.color.manim_colors", "manim.utils.color")
_MAX_REPR = 80


def _is_manim(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "manim" or module.startswith("manim.")


def _is_manim_module(module: types.ModuleType) -> bool:
    return module.__name__ == "manim" or module.__name__.startswith("manim.")


def _signature(display: str, obj: Any) -> str:
    """`display` + the verbatim `inspect.signature`, or `display(...)` when there is none."""
    try:
        return f"{display}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return f"{display}(...)"


def _doc_fields(raw: str | None) -> tuple[str, str]:
    """(summary, doc) from a raw docstring: cleaned, cut before Examples, roles simplified."""
    if not raw:
        return "", ""
    doc = simplify_rst(cut_examples(inspect.cleandoc(raw)))
    return first_paragraph(doc), doc


def _returns(annotation: Any, public: set[str], owner: str | None = None) -> str:
    """The public class a callable returns, from its (usually string) return annotation."""
    if annotation is inspect.Signature.empty:
        return ""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = str(text)
    if re.search(r"\bSelf\b", text) or (owner and re.search(rf"\b{re.escape(owner)}\b", text)):
        return "Self"
    for word in re.findall(r"[A-Za-z_]\w*", text):
        if word in public:
            return word
    return ""


def _return_of(obj: Any, public: set[str], owner: str | None = None) -> str:
    try:
        return _returns(inspect.signature(obj).return_annotation, public, owner)
    except (TypeError, ValueError):
        return ""


def _class_id(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _entry(
    name: str,
    qualname: str,
    kind: str,
    signature: str,
    raw_doc: str | None,
    module: str,
    **extra: str,
) -> dict[str, str]:
    summary, doc = _doc_fields(raw_doc)
    return {
        "name": name,
        "qualname": qualname,
        "kind": kind,
        "signature": signature,
        "summary": summary,
        "doc": doc,
        "module": module,
        **extra,
    }


# `self.x = ...`, `self.x += ...` and the first names of `self.x, self.y = ...`.
_SELF_STORE = re.compile(
    r"\bself\.([A-Za-z]\w*)\s*(?:(?://|\*\*|>>|<<|[-+*/%|&@^])?=(?!=)|,(?=[^=]*=(?!=)))"
)


class _Sources:
    """`self.x` stores per source line, each file scanned once with a regex.

    Parsing every module with `ast` costs seconds, and `inspect.getsource(cls)` re-parses the
    module per class (about 40 s for manim); methods' line ranges come from their code objects.
    """

    def __init__(self) -> None:
        self._stores: dict[str, dict[int, list[str]]] = {}

    def stores_in(self, func: Any) -> set[str]:
        code = getattr(func, "__code__", None)
        if code is None:
            return set()
        path = code.co_filename
        if path not in self._stores:
            table: dict[int, list[str]] = {}
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = Path(path).read_text(encoding="utf-8")
                for lineno, line in enumerate(text.splitlines(), start=1):
                    if "self." in line and (found := _SELF_STORE.findall(line)):
                        table[lineno] = found
            self._stores[path] = table
        table = self._stores[path]
        lines = [line for _, _, line in code.co_lines() if line]
        stored: set[str] = set()
        for lineno in range(min(lines, default=0), max(lines, default=-1) + 1):
            stored.update(table.get(lineno, ()))
        return stored


def _functions_of(value: Any) -> list[Any]:
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset) if f is not None]
    if isinstance(value, staticmethod | classmethod):
        return [value.__func__]
    return [value] if inspect.isfunction(value) else []


def _class_attrs(cls: type, public: dict[str, type], sources: _Sources) -> dict[str, str]:
    """Data attributes of `cls` (own definitions only) with a guessed class, "" when unknown.

    Attributes are public class-level data plus every `self.x = ...` in any method (`points` is
    set by `reset_points`, not `__init__`). Types are guessed in `__init__` only, most specific
    first: `self.x = SomeClass(...)`, a local bound to `SomeClass(...)`, the annotation of a
    parameter of that name, and `x_class=SomeClass` defaults (`camera_class=MovingCamera`).
    """
    attrs: dict[str, str] = {}
    for name, value in vars(cls).items():
        if not name.startswith("_") and not (
            callable(value) or isinstance(value, property | staticmethod | classmethod)
        ):
            attrs[name] = ""
        for func in _functions_of(value):
            for attr in sources.stores_in(func):
                attrs.setdefault(attr, "")
    init = vars(cls).get("__init__")
    if not inspect.isfunction(init):
        return attrs
    with contextlib.suppress(TypeError, ValueError):
        for param in inspect.signature(init).parameters.values():
            default = param.default
            if param.name.endswith("_class") and inspect.isclass(default):
                attrs[param.name[: -len("_class")]] = (
                    default.__name__ if default.__name__ in public else ""
                )
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return attrs
    func = tree.body[0] if tree.body else None
    if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
        for attr, guess in _init_types(func, public).items():
            if guess or attr not in attrs:
                attrs[attr] = guess
    return attrs


def _self_targets(node: ast.AST) -> list[ast.Attribute]:
    """`self.x` targets of an assignment, tuple unpacking included."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    flat: list[ast.AST] = []
    for target in targets:
        flat.extend(target.elts if isinstance(target, ast.Tuple | ast.List) else [target])
    return [
        t
        for t in flat
        if isinstance(t, ast.Attribute)
        and isinstance(t.value, ast.Name)
        and t.value.id == "self"
        and not t.attr.startswith("_")
    ]


def _init_types(func: ast.FunctionDef | ast.AsyncFunctionDef, public: dict[str, type]) -> dict:
    """`self.x` assigned in `__init__` -> guessed public class name ("" when unknown)."""

    def call_class(node: ast.AST | None) -> str:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id if node.func.id in public else ""
        return ""

    param_types: dict[str, str] = {}
    for arg in func.args.args + func.args.kwonlyargs:
        if arg.annotation is not None:
            words = re.findall(r"[A-Za-z_]\w*", ast.unparse(arg.annotation))
            param_types[arg.arg] = next((w for w in words if w in public), "")
    # Two passes: `ast.walk` is breadth-first, so `self.frame = frame` at the top of `__init__`
    # is met before the `frame = ScreenRectangle(...)` nested in an `if` above it.
    assigns = [node for node in ast.walk(func) if isinstance(node, ast.Assign | ast.AnnAssign)]
    local_types: dict[str, str] = {}
    for node in assigns:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and (found := call_class(node.value)):
                local_types[target.id] = found
    types_: dict[str, str] = {}
    for node in assigns:
        for target in _self_targets(node):
            guess = call_class(node.value)
            if not guess and isinstance(node.value, ast.Name):
                src = node.value.id
                guess = local_types.get(src) or param_types.get(src, "")
            if guess or target.attr not in types_:
                types_[target.attr] = guess
    return types_


def _member_entry(cls: type, attr: str, public: set[str]) -> dict[str, str] | None:
    """The entry for public attribute `attr` looked up on `cls` (the defining class is found)."""
    owner = next((k for k in cls.__mro__ if attr in vars(k)), None)
    if owner is None or owner is object:
        return None
    raw = vars(owner)[attr]
    display = f"{cls.__name__}.{attr}"
    qualname = f"{owner.__qualname__}.{attr}"
    extra = {"def_id": f"{_class_id(owner)}.{attr}"}
    module = owner.__module__
    if isinstance(raw, property):
        returns = _return_of(raw.fget, public, owner.__name__) if raw.fget else ""
        ann = ""
        if raw.fget is not None:
            with contextlib.suppress(TypeError, ValueError):
                annotation = inspect.signature(raw.fget).return_annotation
                if annotation is not inspect.Signature.empty:
                    ann = f": {annotation if isinstance(annotation, str) else annotation!r}"
        return _entry(
            display,
            qualname,
            "method",
            f"{display}{ann} (property)",
            raw.__doc__,
            module,
            returns=returns,
            **extra,
        )
    if isinstance(raw, staticmethod | classmethod):
        func = getattr(cls, attr)
    elif inspect.isfunction(raw) or inspect.ismethoddescriptor(raw):
        func = raw
    else:
        return None  # plain class attributes and nested classes: not callable API
    return _entry(
        display,
        qualname,
        "method",
        _signature(display, func),
        inspect.getdoc(func),
        module,
        returns=_return_of(func, public, owner.__name__),
        **extra,
    )


def _constant_module(name: str, obj: Any, modules: list[types.ModuleType]) -> str:
    for home in _CONSTANT_HOMES:
        mod = next((m for m in modules if m.__name__ == home), None)
        if mod is not None and vars(mod).get(name) is obj:
            return home
    homes = [m.__name__ for m in modules if vars(m).get(name) is obj]
    return min(homes, key=lambda n: (n.count("."), n)) if homes else "manim"


def _constant_entry(name: str, obj: Any, modules: list[types.ModuleType]) -> dict[str, str]:
    type_name = type(obj).__name__
    text = repr(obj)
    signature = (
        f"{name} = {text}"
        if len(text) <= _MAX_REPR and "\n" not in text
        else (f"{name}: {type_name}")
    )
    own_doc = type(obj).__doc__ if _is_manim(type(obj)) else None
    kind_word = {"ManimColor": "Color", "ndarray": "Vector/array"}.get(type_name, type_name)
    summary_doc = f"{kind_word} constant `{name}`."
    entry = _entry(
        name, name, "constant", signature, summary_doc, _constant_module(name, obj, modules)
    )
    if own_doc and type_name not in ("ManimColor",):
        # Instances like `config` are documented by their class; say which one.
        summary, doc = _doc_fields(own_doc)
        entry["summary"] = f"Instance of {type_name}. {summary}".strip()
        entry["doc"] = f"Instance of {type_name}.\n\n{doc}".strip()
    return entry


def _top_level_entries(
    public_ns: dict[str, Any], public_names: set[str], modules: list[types.ModuleType]
) -> list[dict[str, str]]:
    """Classes, functions, modules and constants of `from manim import *`."""
    entries: list[dict[str, str]] = []
    for name, obj in sorted(public_ns.items()):
        if inspect.isclass(obj):
            if not _is_manim(obj):
                continue  # re-exported from elsewhere (PackageNotFoundError)
            # Own docs only: inherited ones describe the base class ("Initialize self...").
            init = vars(obj).get("__init__")
            own_doc = vars(obj).get("__doc__") or getattr(init, "__doc__", None)
            qualname = obj.__qualname__ if obj.__name__ == name else name
            signature = _signature(name, obj)
            entries.append(
                _entry(name, qualname, "class", signature, own_doc, obj.__module__, returns=name)
            )
        elif inspect.ismodule(obj):
            if _is_manim_module(obj):
                signature = f"module {obj.__name__}"
                entries.append(_entry(name, name, "module", signature, obj.__doc__, obj.__name__))
        elif callable(obj) and _is_manim(obj):
            returns = _return_of(obj, public_names)
            doc = inspect.getdoc(obj)
            signature = _signature(name, obj)
            entries.append(
                _entry(name, name, "function", signature, doc, obj.__module__, returns=returns)
            )
        elif (
            isinstance(obj, int | float | str | dict | tuple)
            or type(obj).__module__ == "numpy"
            or _is_manim(type(obj))
        ):
            entries.append(_constant_entry(name, obj, modules))
    return entries


def _method_entries(classes: dict[str, type], public_names: set[str]) -> list[dict[str, str]]:
    """Public methods and properties, each attributed once: to the most basic public class that
    has it, so `plot` is CoordinateSystem.plot and Axes reaches it through its MRO."""
    entries: list[dict[str, str]] = []
    seen_defs: set[str] = set()
    for cls in sorted(classes.values(), key=lambda c: (len(c.__mro__), c.__name__)):
        if classes.get(cls.__name__) is not cls:
            continue  # an alias (RGBA = ManimColor): documented under its real name
        for attr in sorted(dir(cls)):
            if attr.startswith("_"):
                continue
            owner = next((k for k in cls.__mro__ if attr in vars(k)), None)
            if owner is None or f"{_class_id(owner)}.{attr}" in seen_defs:
                continue
            with contextlib.suppress(Exception):  # one odd descriptor must not sink the index
                entry = _member_entry(cls, attr, public_names)
                if entry is not None:
                    seen_defs.add(entry["def_id"])
                    entries.append(entry)
    return entries


def _module_function_entries(
    public_ns: dict[str, Any], documented: set[str]
) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """Functions reached through a manim module (`rate_functions.ease_in_sine`), and every
    module's public member names."""
    entries: list[dict[str, str]] = []
    members_of: dict[str, list[str]] = {}
    for name, obj in sorted(public_ns.items()):
        if not (inspect.ismodule(obj) and _is_manim_module(obj)):
            continue
        members = sorted(m for m in vars(obj) if not m.startswith("_"))
        members_of[name] = members
        if hasattr(obj, "__path__"):
            continue  # a package: its members are re-exported into the namespace itself
        for member in members:
            value = vars(obj)[member]
            full = f"{name}.{member}"
            own = inspect.isfunction(value) and value.__module__ == obj.__name__
            if own and full not in documented:
                signature = _signature(full, value)
                doc = inspect.getdoc(value)
                entries.append(_entry(full, full, "function", signature, doc, obj.__name__))
    return entries, members_of


def _dynamic_attrs(cls: type) -> str:
    """How a class answers unknown attributes: "get_set" (Mobject's `get_x()`/`set_x()` layer),
    "any" (another `__getattr__`: anything may exist) or "" (AttributeError)."""
    owner = next((k for k in cls.__mro__[:-1] if "__getattr__" in vars(k)), None)
    if owner is None:
        return ""
    return "get_set" if owner.__name__ == "Mobject" else "any"


def build_index_data() -> dict[str, Any]:
    """The index data of the installed manim, from the one shared introspection (`build`).

    The child process also writes the preflight's namespace cache, so neither view introspects
    manim again.
    """
    import tempfile

    from manimatic.manim_api import build, namespace

    with tempfile.TemporaryDirectory(prefix="manimatic-docs-") as tmp:
        target = Path(tmp) / "docs.json"
        build.introspect_all(namespace.writable_cache_path(), target)
        return json.loads(target.read_text(encoding="utf-8"))


def introspect_here() -> dict[str, Any]:
    """Introspect the installed manim in this process into the JSON-able index data (2-3 s with
    the import; `build`'s child process calls it)."""
    import manim

    namespace: dict[str, Any] = {}
    exec("from manim import *", namespace)  # exactly what generated code sees
    public_ns = {n: o for n, o in namespace.items() if not n.startswith("_")}
    classes = {n: o for n, o in public_ns.items() if inspect.isclass(o) and _is_manim(o)}
    public_names = set(classes)
    modules = [
        m
        for m in list(sys.modules.values())
        if isinstance(m, types.ModuleType) and _is_manim_module(m)
    ]
    modules.sort(key=lambda m: m.__name__)

    entries = _top_level_entries(public_ns, public_names, modules)
    entries += _method_entries(classes, public_names)
    more, module_members = _module_function_entries(public_ns, {e["name"] for e in entries})
    entries += more

    class_data: dict[str, dict[str, Any]] = {}
    attrs: dict[str, dict[str, str]] = {}
    sources = _Sources()
    for name, cls in classes.items():
        mro = [_class_id(k) for k in cls.__mro__]
        class_data[name] = {"id": _class_id(cls), "mro": mro, "dynamic": _dynamic_attrs(cls)}
        for klass in cls.__mro__[:-1]:
            cid = _class_id(klass)
            if cid not in attrs:
                with contextlib.suppress(Exception):  # unreadable source: no attributes known
                    attrs[cid] = _class_attrs(klass, classes, sources)

    return {
        "format": FORMAT,
        "manim_version": manim.__version__,
        "entries": entries,
        "classes": class_data,
        "attrs": {cid: a for cid, a in attrs.items() if a},
        "namespace": sorted(public_ns),
        "module_members": module_members,
    }

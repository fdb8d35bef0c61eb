"""Find the Manim API a program uses: `scan_code(index, code) -> Mentions`.

The program is read with `ast` (regex fallback for code that does not parse); every Manim name it
uses is looked up in the installed manim through `ApiIndex`, including methods called on
variables whose class is known (`ax = Axes(); ax.plot(...)` -> Axes.plot) and on `self` (the
scene's base class, `self.camera` -> the scene's camera class). Names that do not exist are
recorded as missing; `code_info` turns all of it into text.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from manimatic.docs.index import ApiIndex
from manimatic.render import legacy

# Priority tiers, lower first: what the error names, what statically cannot exist, what is on
# the failing line, then everything else (definitions before methods before constants).
TIER_ERROR, TIER_MISSING, TIER_LINE, TIER_REST = 0, 1, 2, 3
_BUILTINS = frozenset(dir(builtins))
_MANIM_MODULES = ("manim",)
_LEGACY_MODULES = ("manimlib", "big_ol_pile_of_manim_imports")


@dataclass
class Mention:
    """One Manim reference found in the code or the error.

    Attributes:
        key: the display name ("Axes.plot", "ShowCreation", "Axes(x_min=)").
        kind: "entry" (exists), "missing_name", "missing_attr", "legacy_kwarg", "legacy_module".
        lines: source lines where it occurs.
        owner: class or module of an attribute, callable of a keyword.
        attr: the attribute or keyword name.
        tier: priority tier (lower is more relevant).
        note: an extra sentence (e.g. "exists, but is not imported").
        self_call: reached through `self` (scene methods: lower priority than user objects').
    """

    key: str
    kind: str
    lines: set[int] = field(default_factory=set)
    owner: str | None = None
    attr: str | None = None
    tier: int = TIER_REST
    order: int = 0
    note: str = ""
    self_call: bool = False


class Mentions:
    """Mentions by key, remembering first-seen order and the best tier."""

    def __init__(self) -> None:
        self.items: dict[str, Mention] = {}

    def add(
        self,
        key: str,
        kind: str,
        line: int | None = None,
        *,
        owner: str | None = None,
        attr: str | None = None,
        tier: int = TIER_REST,
        note: str = "",
        self_call: bool = False,
    ) -> Mention:
        """Record a mention (or one more occurrence of it); the most relevant tier wins."""
        mention = self.items.get(key)
        if mention is None:
            mention = Mention(
                key=key,
                kind=kind,
                owner=owner,
                attr=attr,
                tier=tier,
                order=len(self.items),
                note=note,
                self_call=self_call,
            )
            self.items[key] = mention
        else:
            mention.tier = min(mention.tier, tier)
            mention.note = mention.note or note
            # Used directly anywhere (not only through `self`): rank it as such.
            mention.self_call = mention.self_call and self_call
        if line:
            mention.lines.add(line)
        return mention


# --- AST analysis -------------------------------------------------------------------------------


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (flat: scopes do not matter for "is it manim's")."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            # `from manim import Circle` keeps Circle manim's; an alias is the program's name.
            from_manim = (node.module or "") in _MANIM_MODULES
            bound.update(
                a.asname or a.name
                for a in node.names
                if a.name != "*" and not (from_manim and a.asname in (None, a.name))
            )
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
    return bound


@dataclass
class _UserClass:
    bases: list[str]
    members: set[str]


class _Analyzer(ast.NodeVisitor):
    """Walks the program in source order, tracking variable classes and recording mentions."""

    def __init__(self, index: ApiIndex, tree: ast.Module) -> None:
        self.index = index
        self.mentions = Mentions()
        self.bound = _bound_names(tree)
        self.var_types: dict[str, str] = {}
        self.class_stack: list[str] = []
        self.user_classes: dict[str, _UserClass] = {}
        self.other_star = False  # `from somewhere import *`: unknown globals may come from it
        self.manim_aliases = {  # `import manim as mn`: mn.Circle is manim's Circle
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for a in node.names
            if a.name in _MANIM_MODULES
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                members = {
                    n.name
                    for n in ast.walk(node)
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                }
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        members.add(sub.attr)
                    elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        members.add(sub.id)  # class-level attributes
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                self.user_classes[node.name] = _UserClass(bases, members)
            elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                module = node.module or ""
                if module not in _MANIM_MODULES and module.split(".")[0] not in _LEGACY_MODULES:
                    self.other_star = True

    # types: a manim class name, "user:Name" for the program's own classes, or None

    def _manim_base(self, user_class: str, seen: frozenset[str] = frozenset()) -> str | None:
        info = self.user_classes.get(user_class)
        for base in info.bases if info else []:
            if self.index.is_class(base):
                return base
            if base in self.user_classes and base not in seen:
                found = self._manim_base(base, seen | {user_class})
                if found:
                    return found
        return None

    def _user_has(self, user_class: str, attr: str) -> bool:
        seen: set[str] = set()
        todo = [user_class]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.user_classes:
                continue
            seen.add(name)
            members = self.user_classes[name].members
            if attr in members or "__getattr__" in members:
                return True
            todo.extend(self.user_classes[name].bases)
        return False

    def type_of(self, node: ast.AST) -> str | None:
        """The class of an expression's value: "Axes" when certain (a constructor call),
        "~Mobject" when only an upper bound (annotations, return types), "user:Name" for the
        program's own classes, None when unknown."""
        if isinstance(node, ast.Name):
            if node.id == "self" and self.class_stack:
                return f"user:{self.class_stack[-1]}"
            return self.var_types.get(node.id)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id in self.user_classes:
                    return f"user:{func.id}"
                if func.id in self.bound:
                    return None
                if self.index.is_class(func.id):
                    return func.id
                return _approx(self.index.returns(func.id))
            if isinstance(func, ast.Attribute):
                return self._member_type(func.value, func.attr)
            return None
        if isinstance(node, ast.Attribute):
            if node.attr == "animate":  # `.animate.shift()` calls the mobject's own methods
                return self.type_of(node.value)
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                known = self.var_types.get(f"self.{node.attr}")
                if known:
                    return known
            owner = self._manim_type(self.type_of(node.value))
            if owner:
                held = self.index.instance_attr(owner, node.attr)
                return _approx(held) if held else self._member_type(node.value, node.attr)
        return None

    def _member_type(self, value: ast.AST, attr: str) -> str | None:
        """What `value.attr(...)` (or a property) returns; fluent methods keep the receiver's."""
        raw = self.type_of(value)
        owner = self._manim_type(raw)
        if not owner:
            return None
        returned = self.index.returns(f"{owner}.{attr}")
        if returned and returned == owner:
            return raw  # `-> Self`: same object, same certainty
        return _approx(returned)

    def _manim_type(self, typ: str | None) -> str | None:
        if typ and typ.startswith("user:"):
            return self._manim_base(typ[5:])
        return typ.lstrip("~") if typ else None

    # visitors

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            self.visit(base)
            if isinstance(base, ast.Name) and base.id in self.mentions.items:
                # The scene base class is known to every model: rank it with self.play & co.
                self.mentions.items[base.id].self_call = True
        self.class_stack.append(node.name)
        for stmt in node.body:
            self.visit(stmt)
        self.class_stack.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        typ = self.type_of(node.value)
        for target in node.targets:
            self.visit(target)
            key = _target_key(target)
            if key:
                if typ:
                    self.var_types[key] = typ
                else:
                    self.var_types.pop(key, None)  # reassigned to something we cannot type

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            key = _target_key(node.target)
            typ = self.type_of(node.value)
            if key and typ:
                self.var_types[key] = typ

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._legacy_module(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._legacy_module(module, node.lineno)
        if module in _MANIM_MODULES:
            for alias in node.names:
                if alias.name != "*":
                    self._name(alias.name, node.lineno)

    def _legacy_module(self, module: str, line: int) -> None:
        rename = legacy.lookup(module, "modules") or legacy.lookup(module.split(".")[0], "modules")
        if rename:
            self.mentions.add(module, "legacy_module", line, attr=module, tier=TIER_MISSING)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._name(node.id, node.lineno)
        else:
            # Rebound by a loop, `with ... as`, a comprehension...: the old class no longer holds
            # (visit_Assign sets the new one after visiting its targets).
            self.var_types.pop(node.id, None)

    def _name(self, name: str, line: int) -> None:
        if name in self.bound or name in _BUILTINS:
            return
        if self.index.get(name) is not None and name in self.index.namespace:
            self.mentions.add(name, "entry", line)
        elif name in self.index.namespace:
            return  # np, typing: reachable, not Manim API
        elif not self.other_star or legacy.lookup(name, "names"):
            self.mentions.add(name, "missing_name", line, tier=TIER_MISSING)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.visit(node.value)
        if not isinstance(node.ctx, ast.Load) or node.attr == "animate":
            return
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.manim_aliases:
            if node.attr in self.index.namespace:
                if self.index.get(node.attr) is not None:
                    self.mentions.add(node.attr, "entry", node.lineno)
            elif not node.attr.startswith("_"):  # manim.__version__ is fine
                self.mentions.add(node.attr, "missing_name", node.lineno, tier=TIER_MISSING)
            return
        if (
            isinstance(value, ast.Name)
            and value.id not in self.bound
            and value.id in self.index.module_members
        ):
            self._module_attr(value.id, node.attr, node.lineno)
            return
        raw = self.type_of(value)
        typ = self._manim_type(raw)
        if not raw or not typ:
            return
        if raw.startswith("user:") and self._user_has(raw[5:], node.attr):
            return  # the program's own method or attribute
        via_self = isinstance(value, ast.Name) and value.id == "self"
        key = f"{typ}.{node.attr}"
        entry = self.index.get(key)
        if entry is not None:
            self.mentions.add(key, "entry", node.lineno, self_call=via_self)
        elif not attr_exists(self.index, typ, node.attr):
            # Only a certain class proves absence: a "~Mobject" may really be a VMobject.
            if not raw.startswith("~"):
                self.mentions.add(
                    key, "missing_attr", node.lineno, owner=typ, attr=node.attr, tier=TIER_MISSING
                )
            return
        # A data attribute (`self.camera` in a MovingCameraScene is a MovingCamera): show what
        # that object is. Not for methods: their return types are in their signatures.
        if entry is None or entry.signature.endswith("(property)"):
            held = self._manim_type(self.type_of(node))
            if held and held != typ and self.index.get(held) is not None:
                self.mentions.add(held, "entry", node.lineno)

    def _module_attr(self, module: str, attr: str, line: int) -> None:
        key = f"{module}.{attr}"
        if self.index.get(key) is not None:
            self.mentions.add(key, "entry", line)
        elif attr in self.index.module_members.get(module, ()):
            if self.index.get(attr) is not None:
                self.mentions.add(attr, "entry", line)
        else:
            self.mentions.add(key, "missing_attr", line, owner=module, attr=attr, tier=TIER_MISSING)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        callee = self._callee(node.func)
        for kw in node.keywords:
            if kw.arg and legacy.lookup(kw.arg, "kwargs"):
                entry = self.index.get(callee) if callee else None
                if entry is not None and re.search(rf"\b{kw.arg}\b", entry.signature):
                    continue  # the keyword is valid for this callable
                self.mentions.add(
                    f"{callee or ''}({kw.arg}=)",
                    "legacy_kwarg",
                    node.lineno,
                    owner=callee,
                    attr=kw.arg,
                    tier=TIER_MISSING,
                )

    def _callee(self, func: ast.AST) -> str | None:
        if isinstance(func, ast.Name) and func.id not in self.bound:
            return func.id if self.index.get(func.id) is not None else None
        if isinstance(func, ast.Attribute):
            owner = self._manim_type(self.type_of(func.value))
            return f"{owner}.{func.attr}" if owner else None
        return None


def _approx(class_name: str | None) -> str | None:
    return f"~{class_name}" if class_name else None


def attr_exists(index: ApiIndex, class_name: str, attr: str) -> bool:
    """Whether `instance.attr` works, counting Mobject's `get_x()`/`set_x()` compatibility layer
    (its `__getattr__` makes any `set_x` work and `get_x` work when `x` exists)."""
    if index.has_attribute(class_name, attr):
        return True
    dynamic = index.dynamic_attrs(class_name)
    if dynamic == "get_set":
        if attr.startswith("set_"):
            return True
        if attr.startswith("get_"):
            return index.has_attribute(class_name, attr[4:])
    return dynamic == "any"


def _target_key(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return f"self.{target.attr}"
    return None


# --- regex fallback (code that does not parse) --------------------------------------------------

_DOTTED_CALL = re.compile(r"\b((?:self\.)?\w+)\.(\w+)\s*\(")
_ASSIGN_CALL = re.compile(r"^\s*((?:self\.)?\w+)\s*=\s*([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_CLASS_BASE = re.compile(r"^\s*class\s+(\w+)\s*\(\s*([\w.]+)", re.MULTILINE)
_DEFINED = re.compile(r"^\s*(?:def|class)\s+(\w+)|^\s*(\w+)\s*=", re.MULTILINE)
_WORD_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*(\()?")
_STRING = re.compile(r"""([rbfu]{0,2})("|')(?:\\.|(?!\2).)*\2""", re.IGNORECASE)


def _regex_mentions(index: ApiIndex, code: str) -> Mentions:
    """A best-effort reading of code with a syntax error: names, `var.method(` and `self.x(`."""
    mentions = Mentions()
    defined = {a or b for a, b in _DEFINED.findall(code)}
    var_types = {var: cls for var, cls in _ASSIGN_CALL.findall(code) if index.is_class(cls)}
    scene = next(
        (
            b.rsplit(".", 1)[-1]
            for _, b in _CLASS_BASE.findall(code)
            if index.is_class(b.rsplit(".", 1)[-1])
        ),
        None,
    )
    for lineno, line in enumerate(code.splitlines(), start=1):
        # Blank out string literals first: `Text("Hello (world)")` holds no names.
        text = _STRING.sub('""', line).split("#", 1)[0]
        for owner_var, attr in _DOTTED_CALL.findall(text):
            typ = scene if owner_var == "self" else var_types.get(owner_var)
            if not typ or (owner_var == "self" and attr in defined):
                continue
            key = f"{typ}.{attr}"
            if index.get(key) is not None:
                mentions.add(key, "entry", lineno, self_call=owner_var == "self")
            elif not attr_exists(index, typ, attr):
                mentions.add(key, "missing_attr", lineno, owner=typ, attr=attr, tier=TIER_MISSING)
        for word, paren in _WORD_CALL.findall(text):
            if word in defined or word in _BUILTINS:
                continue
            if word in index.namespace:
                entry = index.get(word)
                if entry is not None and entry.kind != "module":
                    # The scene base class ranks with self.play & co (as in the AST path).
                    is_base = word == scene and _CLASS_BASE.match(text) is not None
                    mentions.add(word, "entry", lineno, self_call=is_base)
            elif legacy.lookup(word, "names") or (paren and word[:1].isupper()):
                mentions.add(word, "missing_name", lineno, tier=TIER_MISSING)
    return mentions


def scan_code(index: ApiIndex, code: str) -> Mentions:
    """Every Manim reference in `code`, existing or not (regexes when the code does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return _regex_mentions(index, code)
    analyzer = _Analyzer(index, tree)
    analyzer.visit(tree)
    return analyzer.mentions

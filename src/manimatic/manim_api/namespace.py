"""What the preflight knows about the installed manim, cached per manim version.

`manim_namespace()` returns a `ManimNamespace` built by `namespace_introspect` in a child process
(importing manim costs ~1 s and has side effects we keep out of the caller) and cached as JSON
under `paths.cache_dir()/preflight/`. The cache key holds the manim and Python versions and a
hash of the introspection code, so an upgrade of either rebuilds it; later loads take a few ms.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from manimatic import paths
from manimatic.manim_api import namespace_introspect


@dataclass(frozen=True)
class ClassInfo:
    """One manim class as seen by the preflight (see `namespace_introspect` for the fields)."""

    key: str
    mro_keys: tuple[str, ...]
    own: frozenset[str]
    inst: frozenset[str]
    dynamic: bool
    getset: bool
    kwargs: frozenset[str] | None
    methods: dict[str, frozenset[str] | None]
    scene: bool
    new_type: bool

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]


@dataclass
class ManimNamespace:
    """Introspected facts about the installed manim; all lookups are pure and cheap."""

    version: str
    star: dict[str, str]
    exports: dict[str, str]
    package_dir: frozenset[str]
    submodules: frozenset[str]
    classes: dict[str, ClassInfo]
    foreign_attrs: frozenset[str]
    functions: dict[str, frozenset[str] | None]
    star_modules: dict[str, frozenset[str]]
    _attrs: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManimNamespace:
        """Build from the JSON layout written by `namespace_introspect`."""

        def names(value: list[str] | None) -> frozenset[str] | None:
            return None if value is None else frozenset(value)

        classes = {
            key: ClassInfo(
                key=key,
                mro_keys=tuple(entry["mro"]),
                own=frozenset(entry["own"]),
                inst=frozenset(entry["inst"]),
                dynamic=bool(entry["dyn"]),
                getset=bool(entry["getset"]),
                kwargs=names(entry["kwargs"]),
                methods={m: names(k) for m, k in entry["methods"].items()},
                scene=bool(entry["scene"]),
                new_type=bool(entry["new_type"]),
            )
            for key, entry in data["classes"].items()
        }
        return cls(
            version=data["manim_version"],
            star=dict(data["star"]),
            exports=dict(data["exports"]),
            package_dir=frozenset(data["dir"]),
            submodules=frozenset(data["submodules"]),
            classes=classes,
            foreign_attrs=frozenset(data["foreign_attrs"]),
            functions={n: names(k) for n, k in data["functions"].items()},
            star_modules={m: frozenset(n) for m, n in data["star_modules"].items()},
        )

    @property
    def names(self) -> frozenset[str]:
        """Every name `from manim import *` binds."""
        return frozenset(self.star)

    def exported_class(self, name: str) -> ClassInfo | None:
        """The class a star-exported name refers to, if it is a class."""
        key = self.exports.get(name)
        return self.classes.get(key) if key else None

    def is_scene_name(self, name: str) -> bool:
        """Whether `name` is an exported manim Scene class (Scene, ThreeDScene, ...)."""
        info = self.exported_class(name)
        return bool(info and info.scene)

    def attributes(self, info: ClassInfo) -> frozenset[str]:
        """Class-level names over the MRO plus instance attributes assigned in their sources."""
        cached = self._attrs.get(info.key)
        if cached is None:
            found: set[str] = set(dir(object)) | {"__slotnames__", "__weakref__", "__dict__"}
            for key in info.mro_keys:
                base = self.classes.get(key)
                if base is not None:
                    found |= base.own | base.inst
            cached = self._attrs[info.key] = frozenset(found | self.foreign_attrs)
        return cached

    def is_dynamic(self, info: ClassInfo) -> bool:
        """Whether any attribute name may exist (custom `__getattr__`, foreign bases...)."""
        return any(self.classes[k].dynamic for k in info.mro_keys if k in self.classes) or any(
            k not in self.classes for k in info.mro_keys
        )

    def method_kwargs(self, info: ClassInfo, method: str) -> frozenset[str] | None:
        """Keyword names `obj.method(...)` accepts, or None when unknown or unrestricted."""
        if method in self.foreign_attrs or any(
            method in self.classes[k].inst for k in info.mro_keys if k in self.classes
        ):
            return None  # an instance attribute may shadow the method
        for key in info.mro_keys:
            base = self.classes.get(key)
            if base is None:
                return None
            if method in base.own:
                return base.methods.get(method)
        return None


def _code_hash() -> str:
    source = Path(namespace_introspect.__file__).read_bytes()
    return hashlib.sha1(source).hexdigest()[:10]


def _manim_version() -> str:
    try:
        return metadata.version("manim")
    except metadata.PackageNotFoundError:
        return "none"


def cache_path() -> Path:
    """Where the introspection of the installed manim is (or will be) cached."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    name = f"manim-{_manim_version()}-py{py}-f{namespace_introspect.FORMAT}-{_code_hash()}.json"
    return paths.cache_dir() / "preflight" / name


def writable_cache_path() -> Path:
    """`cache_path()` when its directory can be written, else a path in a temp directory."""
    path = cache_path()
    if _writable_dir(path.parent):
        return path
    return Path(tempfile.mkdtemp(prefix="manimatic-preflight-")) / path.name


def _writable_dir(folder: Path) -> bool:
    """Whether `folder` exists (it is created if need be) and this process can write in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.access(folder, os.W_OK)
    except OSError:
        return False


def _build(target: Path) -> None:
    """The one introspection (`build`), which also writes the docs index cache."""
    from manimatic.manim_api import build

    docs = build.docs_cache_path()
    if _writable_dir(docs.parent):
        build.introspect_all(target, docs)
        return
    with tempfile.TemporaryDirectory(prefix="manimatic-docs-") as tmp:
        build.introspect_all(target, Path(tmp) / docs.name)


@cache
def manim_namespace() -> ManimNamespace:
    """The introspected namespace of the installed manim (built once, then cached on disk)."""
    path = cache_path()
    data: dict[str, Any] | None = None
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None  # a torn or foreign file: rebuild it
    if data is None or data.get("format") != namespace_introspect.FORMAT:
        if _writable_dir(path.parent):
            _build(path)
            data = json.loads(path.read_text(encoding="utf-8"))
        else:  # a read-only cache: introspect into a temp file, for this process only
            with tempfile.TemporaryDirectory(prefix="manimatic-preflight-") as tmp:
                target = Path(tmp) / path.name
                _build(target)
                data = json.loads(target.read_text(encoding="utf-8"))
    return ManimNamespace.from_dict(data)


BUILTIN_NAMES = frozenset(dir(builtins)) | {
    # Bound in every module (manim imports the file as a module) and in methods (`__class__`).
    "__name__",
    "__file__",
    "__doc__",
    "__spec__",
    "__loader__",
    "__package__",
    "__builtins__",
    "__annotations__",
    "__cached__",
    "__class__",
    # Bound in class bodies.
    "__module__",
    "__qualname__",
    "__firstlineno__",
}

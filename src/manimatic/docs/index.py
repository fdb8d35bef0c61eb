"""`ApiIndex`: the installed manim's API, cached per manim version, with lookup and BM25 search.

The index is built once by live introspection (`introspect.build_index_data`, 2-3 s including
`import manim`) and stored as JSON under `cache_dir()/docs/`; later loads read the JSON (~30 ms)
and never import manim. The BM25 model is built on the first search and saved beside the JSON.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from manimatic.docs.model import ApiEntry, SearchHit
from manimatic.manim_api import build
from manimatic.manim_api import docs_introspect as introspect
from manimatic.manim_api.suggest import close_names
from manimatic.manim_api.text import (
    STOPWORDS,
    identifiers,
    parse_error,
    tokenize,
)
from manimatic.render import legacy

# Additive score boosts on top of BM25 normalised to [0, 10]: an exact name or a known rename is
# what the user means far more reliably than word overlap.
BOOST_EXACT = 30.0
BOOST_LEGACY = 25.0
BOOST_MEMBER = 12.0  # query names the class and the method exists on it
BOOST_CLOSE = 15.0  # decays with rank among "did you mean" candidates
BOOST_PARAM = 8.0  # takes the keyword the error says to use instead
BM25_SCALE = 10.0
# The default (Cairo) renderer never uses the OpenGL twins of each class; without a penalty they
# double every method hit ("OpenGLPMobject.shift" beside "Mobject.shift").
OPENGL_FACTOR = 0.5

# In-process memo: cache path -> loaded index (the CLI and agent load it many times per run).
_MEMO: dict[Path, ApiIndex] = {}


def index_path() -> Path:
    """The cache file for the installed manim version and the current index format."""
    return build.docs_cache_path()


# Several workers may build at once; rename makes each reader see a whole file.
_write_atomic = build.write_json_atomic


class ApiIndex:
    """The public API of the installed manim: entries, class hierarchy and instance attributes."""

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        fields = [f.name for f in dataclasses.fields(ApiEntry)]
        raw = data["entries"]
        self.manim_version: str = data["manim_version"]
        self.entries: list[ApiEntry] = [ApiEntry(**{f: r[f] for f in fields}) for r in raw]
        self._returns = [r.get("returns", "") for r in raw]
        self._by_name = {e.name: i for i, e in enumerate(self.entries)}
        self._by_def = {r["def_id"]: i for i, r in enumerate(raw) if r.get("def_id")}
        self._lower: dict[str, list[int]] = {}
        for i, e in enumerate(self.entries):
            self._lower.setdefault(e.name.lower(), []).append(i)
        self._classes: dict[str, dict[str, Any]] = data["classes"]
        self._attrs: dict[str, dict[str, str]] = data["attrs"]
        self.namespace: frozenset[str] = frozenset(data["namespace"])
        self.module_members: dict[str, list[str]] = data["module_members"]
        self._top_names = sorted(
            {e.name for e in self.entries if "." not in e.name} | set(self.namespace)
        )
        self._opengl = np.array([e.name.startswith("OpenGL") for e in self.entries], dtype=bool)
        self._bm25: Any = None
        self._path = path  # the JSON cache; None for an index built in memory only
        self.load_ms: float = 0.0

    # --- loading --------------------------------------------------------------------------------

    @classmethod
    def load(cls, *, rebuild: bool = False) -> ApiIndex:
        """The index for the installed manim: from memory, else the JSON cache, else introspection.

        Args:
            rebuild: ignore both caches and introspect again (the JSON cache is rewritten).
        """
        start = time.perf_counter()
        path = index_path()
        if not rebuild and path in _MEMO:
            return _MEMO[path]
        data = None
        if not rebuild and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                data = None  # a damaged cache is rebuilt, never fatal
            if data is not None and data.get("format") != introspect.FORMAT:
                data = None
        if data is None:
            data = introspect.build_index_data()
            _write_atomic(path, data)
            # The saved BM25 model belongs to the old JSON.
            shutil.rmtree(path.with_suffix(".bm25"), ignore_errors=True)
        index = cls(data, path)
        index.load_ms = (time.perf_counter() - start) * 1000
        _MEMO[path] = index
        return index

    # --- lookup ---------------------------------------------------------------------------------

    def is_class(self, name: str) -> bool:
        return name in self._classes

    def _mro_ids(self, class_name: str) -> list[str]:
        info = self._classes.get(class_name)
        return info["mro"] if info else []

    def _member_index(self, class_name: str, attr: str) -> int | None:
        for cid in self._mro_ids(class_name):
            idx = self._by_def.get(f"{cid}.{attr}")
            if idx is not None:
                return idx
        return None

    def _as(self, idx: int, display: str) -> ApiEntry:
        """Entry `idx` presented under `display` ("Axes.plot" for CoordinateSystem.plot)."""
        entry = self.entries[idx]
        if entry.name == display:
            return entry
        signature = entry.signature
        if signature.startswith(entry.name):
            signature = display + signature[len(entry.name) :]
        return dataclasses.replace(entry, name=display, signature=signature)

    def get(self, name: str) -> ApiEntry | None:
        """The entry for "Create", "Axes.plot" (inherited members resolved), "rate_functions.x"."""
        name = name.strip()
        if name.startswith("manim."):
            name = name[len("manim.") :]
        if name in self._by_name:
            return self.entries[self._by_name[name]]
        head, _, attr = name.rpartition(".")
        if head and self.is_class(head) and (idx := self._member_index(head, attr)) is not None:
            return self._as(idx, name)
        matches = self._lower.get(name.lower(), [])
        return self.entries[matches[0]] if len(matches) == 1 else None

    def returns(self, name: str) -> str:
        """Public class returned by callable `name` ("Axes.plot" -> "ParametricFunction").

        "Self" in the annotation (fluent methods like `shift`) maps to the owner class.
        """
        head, _, attr = name.rpartition(".")
        if head and self.is_class(head):
            idx = self._member_index(head, attr)
            value = self._returns[idx] if idx is not None else ""
            return head if value == "Self" else value
        idx = self._by_name.get(name)
        return self._returns[idx] if idx is not None else ""

    def instance_attr(self, class_name: str, attr: str) -> str | None:
        """Class of a data attribute (set as `self.x = ...` in some method, or class-level data)
        along the MRO: "" when its class is unknown, None when no class in the MRO sets it."""
        for cid in self._mro_ids(class_name):
            found = self._attrs.get(cid, {})
            if attr in found:
                return found[attr]
        return None

    def has_attribute(self, class_name: str, attr: str) -> bool:
        """Whether instances of `class_name` have `attr` (method, property or data attribute)."""
        return self._member_index(class_name, attr) is not None or (
            self.instance_attr(class_name, attr) is not None
        )

    def dynamic_attrs(self, class_name: str) -> str:
        """How the class answers unknown attributes: "get_set" (Mobject's `__getattr__` turns
        `get_x()`/`set_x()` into access to `x`), "any" (another `__getattr__`) or ""."""
        return str(self._classes.get(class_name, {}).get("dynamic", ""))

    def members(self, class_name: str) -> list[str]:
        """Public attribute names of a class: documented members plus instance attributes."""
        ids = self._mro_ids(class_name)
        names = {d.rsplit(".", 1)[1] for d in self._by_def if d.rsplit(".", 1)[0] in ids}
        for cid in ids:
            names.update(self._attrs.get(cid, {}))
        return sorted(names)

    def closest(self, name: str, n: int = 3) -> list[str]:
        """ "Did you mean" candidates for a misspelt or removed name; known renames come first.

        "Axes.get_graph" is matched against Axes' members ("Axes.plot"), "rate_functions.x"
        against the module's members; other names against manim's public namespace.
        """
        head, _, attr = name.strip().rpartition(".")
        found: list[str] = []
        if head and self.is_class(head):
            rename = legacy.lookup(attr, "methods")
            if rename and self.has_attribute(head, rename.replacement):
                found.append(f"{head}.{rename.replacement}")
            found += [f"{head}.{m}" for m in _close(attr, self.members(head), n + 1)]
        elif head in self.module_members:  # rate_functions.ease_in_sin
            found += [f"{head}.{m}" for m in _close(attr, self.module_members[head], n + 1)]
        else:
            rename = legacy.lookup(name, "names")
            if rename and (rename.replacement in self.namespace):
                found.append(rename.replacement)
            found += _close(name, self._top_names, n + 1)
        return [c for c in dict.fromkeys(found) if c != name][:n]

    # --- search ---------------------------------------------------------------------------------

    def _ensure_bm25(self) -> Any:
        """The BM25 model: from its cache folder beside the JSON, else built and saved there."""
        if self._bm25 is not None:
            return self._bm25
        import bm25s

        # bm25s logs every build at DEBUG; manim's rich handler would print it.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        folder = self._path.with_suffix(".bm25") if self._path else None
        if folder is not None and folder.is_dir():
            try:
                self._bm25 = bm25s.BM25.load(str(folder))
                return self._bm25
            except Exception:  # a damaged cache is rebuilt, never fatal
                shutil.rmtree(folder, ignore_errors=True)
        model = bm25s.BM25()
        model.index([_doc_tokens(e) for e in self.entries], show_progress=False)
        self._bm25 = model
        if folder is not None:
            # Tokenizing ~2000 docstrings costs ~0.4 s per process; the saved model ~2 ms.
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".bm25-"))
            try:
                model.save(str(tmp))
                os.replace(tmp, folder)
            except OSError:
                pass  # another process saved it first
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return model

    def _bm25_scores(self, tokens: list[str]) -> np.ndarray:
        model = self._ensure_bm25()
        tokens = [t for t in tokens if t in model.vocab_dict]
        if not tokens:
            return np.zeros(len(self.entries), dtype=np.float32)
        scores = np.asarray(model.get_scores(tokens), dtype=np.float32)
        top = float(scores.max()) if scores.size else 0.0
        return scores * (BM25_SCALE / top) if top > 0 else scores

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        """Entries for a name, a description or an error message, best first.

        Error messages are read for what they name (missing globals, attributes, keywords);
        known ManimGL renames and close names are boosted, then BM25 ranks the words.
        """
        boosts = _Boosts()
        extra_words: list[str] = []
        refs = parse_error(query)
        for missing in refs.names:
            self._boost_name(missing, boosts, extra_words)
        for owner, attr in refs.attributes:
            if owner and self.is_class(owner):
                self._boost_member(owner, attr, boosts, extra_words)
            else:
                self._boost_name(attr, boosts, extra_words, members_too=True)
        for func, kwarg in refs.kwargs:
            self._boost_kwarg(func, kwarg, boosts, extra_words)
        if not (refs.names or refs.attributes or refs.kwargs):
            words = identifiers(query)
            classes = [w for w in words if self.is_class(w)]
            for word in words:
                self._boost_plain(word, classes, boosts)
                if self._looks_missing(word):
                    # "get_graph" is a method name, "TextMobject" a global.
                    members = word[:1].islower()
                    self._boost_name(word, boosts, extra_words, members_too=members)

        scores = self._bm25_scores(tokenize(query) + tokenize(" ".join(extra_words)))
        total = scores.astype(np.float64)
        for idx, (boost, _) in boosts.items():
            total[idx] += boost
        if "opengl" not in query.lower():
            total[self._opengl] *= OPENGL_FACTOR
        order = np.argsort(-total, kind="stable")[:k]
        hits = []
        for idx in order:
            if total[idx] <= 0:
                break
            entry = self._as(int(idx), boosts.display(int(idx)) or self.entries[idx].name)
            hits.append(
                SearchHit(
                    name=entry.name,
                    signature=entry.signature,
                    summary=entry.summary,
                    score=round(float(total[idx]), 3),
                    qualname=entry.qualname,
                    kind=entry.kind,
                )
            )
        return hits

    def _boost_name(
        self, name: str, boosts: _Boosts, words: list[str], *, members_too: bool = False
    ) -> None:
        """A global (or bare attribute) the error names: itself, its CE rename, close names."""
        if (idx := self._by_name.get(name)) is not None:
            boosts.add(idx, BOOST_EXACT)
        kinds: tuple[legacy.Kind, ...] = ("names", "methods") if members_too else ("names",)
        for kind in kinds:
            rename = legacy.lookup(name, kind)
            if rename:
                words += [rename.replacement, rename.note or ""]
                targets = self._named(rename.replacement)
                if kind == "methods":
                    targets += self._by_last(rename.replacement)
                for idx in targets:
                    boosts.add(idx, BOOST_LEGACY)
        if members_too:
            for idx in self._lower.get(name.lower(), []) + self._by_last(name):
                boosts.add(idx, BOOST_EXACT / 2)
        for rank, cand in enumerate(self.closest(name, 5)):
            for idx in self._named(cand):
                boosts.add(idx, BOOST_CLOSE / (1 + rank))

    def _boost_member(self, owner: str, attr: str, boosts: _Boosts, words: list[str]) -> None:
        """`'Axes' object has no attribute 'get_graph'`: Axes' real members, shown as Axes.x."""
        words.append(owner)
        if (idx := self._member_index(owner, attr)) is not None:
            boosts.add(idx, BOOST_EXACT, f"{owner}.{attr}")
        rename = legacy.lookup(attr, "methods")
        if rename:
            words += [rename.replacement, rename.note or ""]
            target = rename.replacement.split(".")[0]
            if (idx := self._member_index(owner, target)) is not None:
                boosts.add(idx, BOOST_LEGACY, f"{owner}.{target}")
            for idx in self._named(rename.replacement):
                boosts.add(idx, BOOST_LEGACY / 2)
        for rank, cand in enumerate(self.closest(f"{owner}.{attr}", 5)):
            cand_attr = cand.rpartition(".")[2]
            if (idx := self._member_index(owner, cand_attr)) is not None:
                boosts.add(idx, BOOST_CLOSE / (1 + rank), cand)
        if (idx := self._by_name.get(owner)) is not None:
            boosts.add(idx, BOOST_CLOSE / 5)  # context, not the answer

    def _boost_kwarg(self, func: str | None, kwarg: str, boosts: _Boosts, words: list[str]) -> None:
        """An unexpected keyword: the callable that refused it and entries taking its rename."""
        if func and (entry := self.get(func)) is not None:
            idx = self._by_name.get(entry.name)
            if idx is None:
                head, _, attr = entry.name.rpartition(".")
                idx = self._member_index(head, attr)
            if idx is not None:
                boosts.add(idx, BOOST_EXACT, entry.name)
        rename = legacy.lookup(kwarg, "kwargs")
        params = [rename.replacement] if rename else [kwarg]
        words += params
        for param in params:
            pattern = re.compile(rf"[(,]\s*{re.escape(param)}\s*[:=,)]")
            for idx, entry in enumerate(self.entries):
                if entry.kind in ("class", "function", "method") and pattern.search(
                    entry.signature
                ):
                    # Classes first: `x_min` errors almost always come from a constructor.
                    boosts.add(idx, BOOST_PARAM * (1.5 if entry.kind == "class" else 1.0))

    def _looks_missing(self, word: str) -> bool:
        """An identifier-looking query word manim does not have ("TextMobject", "get_graph")."""
        looks_like_code = word[:1].isupper() or "_" in word
        known = word in self.namespace or word.lower() in self._lower or self._by_last(word)
        return looks_like_code and not known

    def _boost_plain(self, word: str, classes: list[str], boosts: _Boosts) -> None:
        """A plain query word: exact names, then members of classes named in the same query."""
        if word in self._by_name:
            boosts.add(self._by_name[word], BOOST_EXACT)
        elif word.lower() not in STOPWORDS:
            # "text" probably means Text; less sure than an exact "Text".
            for idx in self._lower.get(word.lower(), []):
                boosts.add(idx, BOOST_EXACT / 2)
        for owner in classes:
            if owner != word and (member := self._member_index(owner, word)) is not None:
                boosts.add(member, BOOST_EXACT, f"{owner}.{word}")
        if not classes:
            for idx in self._by_last(word):
                boosts.add(idx, BOOST_MEMBER)

    def _named(self, name: str) -> list[int]:
        if (idx := self._by_name.get(name)) is not None:
            return [idx]
        head, _, attr = name.rpartition(".")
        if head and self.is_class(head) and (idx := self._member_index(head, attr)) is not None:
            return [idx]
        return []

    def _by_last(self, attr: str) -> list[int]:
        suffix = f".{attr}"
        return [i for i, e in enumerate(self.entries) if e.name.endswith(suffix)]


class _Boosts:
    """Per-entry boost (max of the reasons) and the name to show the entry under."""

    def __init__(self) -> None:
        self._boost: dict[int, float] = {}
        self._display: dict[int, str] = {}

    def add(self, idx: int, value: float, display: str | None = None) -> None:
        if value > self._boost.get(idx, 0.0):
            self._boost[idx] = value
            if display:
                self._display[idx] = display

    def items(self) -> list[tuple[int, tuple[float, str | None]]]:
        return [(i, (b, self._display.get(i))) for i, b in self._boost.items()]

    def display(self, idx: int) -> str | None:
        return self._display.get(idx)


def _close(name: str, pool: list[str], n: int) -> list[str]:
    """Close names: the one "did you mean" (`manim_api.suggest`)."""
    return close_names(name, pool, n)


def _doc_tokens(entry: ApiEntry) -> list[str]:
    # The name counts three times: a hit on the name beats a mention deep in a docstring.
    name_tokens = tokenize(entry.name, stop=False)
    return (
        name_tokens * 3
        + tokenize(entry.signature)
        + tokenize(entry.summary) * 2
        + tokenize(entry.doc[:2000])
    )

"""`api_info_for_code`: the RITL-DOC `<API_INFO>` body for a program (and its error).

`code_scan` finds the Manim names the program uses; here the error message adds the names it is
about, everything is ranked (error first, then what cannot exist, the failing line, the rest) and
rendered as signature + docstring (cut before "Examples") within a character budget.
"""

from __future__ import annotations

from manimatic.docs.code_scan import (
    TIER_ERROR,
    TIER_LINE,
    TIER_MISSING,
    TIER_REST,
    Mention,
    Mentions,
    scan_code,
)
from manimatic.docs.index import ApiIndex
from manimatic.docs.model import ApiEntry
from manimatic.manim_api.text import ErrorRefs, parse_error, truncate_text
from manimatic.render import legacy

_KIND_ORDER = {"class": 0, "function": 0, "method": 1, "module": 3, "constant": 3}
# Docs per entry are cut to this share of the budget so one long class cannot crowd out the rest.
_DOC_SHARE = 4
_DOC_CAP = 1500
_SEPARATOR = "\n\n"


def _error_mentions(index: ApiIndex, refs: ErrorRefs, mentions: Mentions) -> None:
    """Add what the error message names, at the top tier."""
    for name in refs.names:
        if name in index.namespace and index.get(name) is not None:
            note = f"{name} exists in Manim CE: is `from manim import *` missing?"
            mentions.add(name, "entry", tier=TIER_ERROR, note=note)
        else:
            mentions.add(name, "missing_name", tier=TIER_ERROR)
    for owner, attr in refs.attributes:
        if owner and index.is_class(owner):
            # `ax.get_graph()` fails inside Mobject.__getattr__ as "no attribute 'graph'":
            # the code's `get_graph` is the culprit to show.
            via_getter = [
                m
                for m in mentions.items.values()
                if m.kind == "missing_attr" and m.attr in (f"get_{attr}", f"set_{attr}")
            ]
            for mention in via_getter:
                mention.tier = TIER_ERROR
            if via_getter:
                continue
            key = f"{owner}.{attr}"
            kind = "entry" if index.get(key) is not None else "missing_attr"
            mentions.add(key, kind, owner=owner, attr=attr, tier=TIER_ERROR)
        elif (
            owner in ("manim", None)
            and index.get(attr) is None
            and (legacy.lookup(attr, "names") or owner == "manim")
        ):
            mentions.add(attr, "missing_name", tier=TIER_ERROR)
        else:
            # The owner is not Manim's ('NoneType', 'list', a user class): the code's own uses
            # of that attribute are what failed; saying "not in Manim CE" would mislead.
            for mention in mentions.items.values():
                if mention.attr == attr or mention.key.endswith(f".{attr}"):
                    mention.tier = TIER_ERROR
    for func, kwarg in refs.kwargs:
        entry = index.get(func) if func else None
        same = [m for m in mentions.items.values() if m.kind == "legacy_kwarg" and m.attr == kwarg]
        for mention in same:
            mention.tier = TIER_ERROR
        if entry is not None:
            mentions.add(entry.name, "entry", tier=TIER_ERROR)
        if not same:
            mentions.add(
                f"{func or ''}({kwarg}=)", "legacy_kwarg", owner=func, attr=kwarg, tier=TIER_ERROR
            )


def _with_followups(index: ApiIndex, mentions: list[Mention]) -> list[tuple[Mention, str | None]]:
    """Each mention plus, for a missing one, the entry that should replace it.

    For what the error names, the replacement follows its verdict directly. For names found
    missing only statically, all (short) verdicts come first and their replacements after them,
    so one long replacement docstring cannot push the other verdicts out of the budget.
    """
    out: list[tuple[Mention, str | None]] = []
    deferred: list[tuple[Mention, str]] = []
    shown: set[str] = set()

    def flush() -> None:
        for mention, follow in deferred:
            if follow not in shown:
                out.append((mention, follow))
                shown.add(follow)
        deferred.clear()

    for mention in mentions:
        if mention.tier > TIER_MISSING:
            flush()
        if mention.key in shown:
            continue
        out.append((mention, None))
        shown.add(mention.key)
        follow = _replacement(index, mention)
        if follow and follow not in shown and index.get(follow) is not None:
            if mention.tier == TIER_ERROR:
                out.append((mention, follow))
                shown.add(follow)
            else:
                deferred.append((mention, follow))
    flush()
    return out


def _replacement(index: ApiIndex, mention: Mention) -> str | None:
    if mention.kind == "missing_name":
        rename = legacy.lookup(mention.key, "names")
        if rename and index.get(rename.replacement) is not None:
            return rename.replacement
        close = index.closest(mention.key, 1)
        return close[0] if close else None
    if mention.kind == "missing_attr" and mention.owner and index.is_class(mention.owner):
        rename = legacy.lookup(mention.attr or "", "methods")
        if rename and index.get(f"{mention.owner}.{rename.replacement}") is not None:
            return f"{mention.owner}.{rename.replacement}"
        close = index.closest(f"{mention.owner}.{mention.attr}", 1)
        return close[0] if close else None
    if mention.kind == "legacy_kwarg" and mention.owner:
        return mention.owner
    return None


def _entry_block(entry: ApiEntry, doc_limit: int, *, note: str = "") -> str:
    where = entry.kind
    defining_class = entry.qualname.rsplit(".", 1)[0] if "." in entry.qualname else ""
    if entry.kind == "method":
        where = "property" if entry.signature.endswith("(property)") else "method"
        if not entry.name.startswith(f"{defining_class}."):
            where = f"{where} of {defining_class}"
    lines = [f"### {entry.name} [{where}, {entry.module}]", entry.signature]
    if note:
        lines.append(f"Note: {note}")
    if entry.kind == "constant":
        pass  # the signature line holds the value; the synthetic summary adds nothing
    elif doc_limit > 0 and entry.doc:
        lines.append(truncate_text(entry.doc, doc_limit))
    elif entry.summary:
        lines.append(entry.summary)
    return "\n".join(lines)


def _missing_block(index: ApiIndex, mention: Mention) -> str:
    version = f"Manim CE v{index.manim_version}"
    if mention.kind == "legacy_module":
        rename = legacy.lookup(mention.key, "modules") or legacy.lookup(
            mention.key.split(".")[0], "modules"
        )
        advice = rename.suggestion() if rename else "use manim"
        text = f"{mention.key} is not part of {version}: {advice}"
        return f"### {mention.key} [not Manim CE]\n{text}"
    if mention.kind == "legacy_kwarg":
        rename = legacy.lookup(mention.attr or "", "kwargs")
        target = f" of {mention.owner}" if mention.owner else ""
        text = f"`{mention.attr}` is not a parameter{target} in {version}"
        text += f": {rename.suggestion()}" if rename else "."
        return f"### {mention.key} [keyword not in Manim CE]\n{text}"
    if mention.kind == "missing_attr" and mention.owner and not index.is_class(mention.owner):
        rename = legacy.lookup(mention.attr or "", "methods")
        text = f"{mention.key} does not exist in {version}."
        if rename:
            text += f"\nKnown ManimGL/old-manim name: {rename.suggestion()}"
        return f"### {mention.key} [not in Manim CE]\n{text}"
    close = index.closest(mention.key, 3)
    text = f"{mention.key} does not exist in {version}."
    if close:
        text += f" Did you mean: {', '.join(close)}?"
    if mention.kind == "missing_attr":
        rename = legacy.lookup(mention.attr or "", "methods")
    else:
        rename = legacy.lookup(mention.key, "names")
    if rename:
        text += f"\nKnown ManimGL/old-manim name: {rename.suggestion()}"
    return f"### {mention.key} [not in Manim CE]\n{text}"


def _sort_key(index: ApiIndex, mention: Mention, line: int | None) -> tuple[int, int, int]:
    tier = mention.tier
    if tier == TIER_REST and line is not None and line in mention.lines:
        tier = TIER_LINE
    kind_rank = 1
    if mention.kind == "entry":
        entry = index.get(mention.key)
        kind_rank = _KIND_ORDER.get(entry.kind if entry else "", 1)
        if mention.self_call:
            kind_rank = 2  # self.play/self.wait: known to every model, least informative
    return (tier, kind_rank, mention.order)


def api_info_for_code(code: str, *, error_message: str | None = None, max_chars: int = 6000) -> str:
    """The `<API_INFO>` body for `code`: signatures and docs of the Manim API it uses.

    Most relevant first: names from the error message, names that do not exist (with "Did you
    mean" and known ManimGL renames), names on the failing line, then the rest. Entries are added
    whole while they fit in `max_chars`; a long docstring is cut to a share of the budget, and an
    entry that still does not fit is shown as signature and summary only.

    Args:
        code: the program (may contain syntax errors: then identifiers are read with regexes).
        error_message: the error or traceback of the last render, if any.
        max_chars: upper bound on the returned text.

    Returns:
        The text, "" when the code uses nothing from Manim.
    """
    index = ApiIndex.load()
    mentions = scan_code(index, code)
    refs = parse_error(error_message) if error_message else ErrorRefs()
    _error_mentions(index, refs, mentions)

    ordered = sorted(mentions.items.values(), key=lambda m: _sort_key(index, m, refs.line))
    doc_limit = min(_DOC_CAP, max_chars // _DOC_SHARE)
    blocks: list[str] = []
    used = 0
    for mention, follow in _with_followups(index, ordered):
        if follow is not None:
            entry = index.get(follow)
            candidates = [_entry_block(entry, doc_limit), _entry_block(entry, 0)] if entry else []
        elif mention.kind == "entry":
            entry = index.get(mention.key)
            if entry is None:
                continue
            candidates = [
                _entry_block(entry, doc_limit, note=mention.note),
                _entry_block(entry, 0, note=mention.note),
            ]
        else:
            full = _missing_block(index, mention)
            # Compact: the verdict line only (drops the header and the legacy note).
            candidates = [full, full.split("\n")[1]]
        for block in candidates:
            cost = len(block) + (len(_SEPARATOR) if blocks else 0)
            if used + cost <= max_chars:
                blocks.append(block)
                used += cost
                break
        else:
            if not blocks and candidates and max_chars > 0:
                # Even a tiny budget carries the most relevant fact, cut to fit.
                blocks.append(truncate_text(candidates[-1], max_chars))
                used = len(blocks[0])
    return _SEPARATOR.join(blocks)

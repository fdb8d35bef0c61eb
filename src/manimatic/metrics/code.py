"""Code metrics of a generated Manim program against the reference program (the study's set).

* CodeBLEU: `codebleu.calc_codebleu([ref], [gen], lang="python")`, default weights (0.25 each).
  A quirk of codebleu 0.7 that we keep, since the study used it: a data-flow score of 0 counts as
  1 in the total (`dataflow_match_score or 1`), so an empty generation still scores 0.25. The
  four components are returned beside the total.
* CodeBERT: cosine similarity of the mean-pooled last hidden states of microsoft/codebert-base,
  through a pluggable `CodeEmbedder` (None when no weights can be loaded).
* CBB = sqrt(CodeBLEU x CodeBERT), the study's R_code. It needs both terms: without a CodeBERT
  embedder `cbb` is None (never silently replaced by CodeBLEU alone); `codebleu` is always set.
  A negative cosine (possible in principle) is clipped to 0 inside the square root.
* AST distance: Zhang-Shasha tree edit distance (`zss`, unit costs) between the Python ASTs
  divided by the larger node count, clipped to [0, 1]. A node's label is its type plus its
  identifier or literal where it has one (`Name:circle`, `Call`, `Constant:2`), so swapping
  `Circle` for `Square` counts; expression contexts (Load/Store) are left out. None, with
  `syntax_error` set, when either program does not parse.

`protocol="study"` gives the authors' own values instead (their evaluation code):

* AST distance on *their* tree: a node per AST node labelled with its type only, a child per
  scalar field (`"id: circle"`, `"value: 2"`, `"type_comment: None"`), and the `Load`/`Store`
  contexts as nodes; so `c = Circle()` vs `c = Square()` is 1 edit in 10 nodes = 0.1 (ours: 0.2).
  Their denominator adds 1e-7 against a zero division that cannot happen (a Module is a node);
  we leave it out, a relative difference under 1e-7. Only the generated program's syntax counts.
  The tree follows the running Python's `ast` fields (3.12 adds `type_params`), as theirs did.
* An empty generation (nothing but whitespace) scores CodeBLEU 0.0 (every component 0) with
  `syntax_error` True and no AST distance, where codebleu itself would give 0.25.
* CodeBERT: both programs in one padded batch (truncated at 512 tokens), mean-pooled over every
  position including the shorter program's padding, as their code does.
"""

from __future__ import annotations

import ast
import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

CODE_METRIC_PROTOCOLS = ("manimatic", "study")
CODEBERT_HUB_ID = "microsoft/codebert-base"
CODEBERT_PATH_ENV = "MANIMATIC_CODEBERT_PATH"


@dataclass
class CodeMetrics:
    """Code similarity of a generation to its reference.

    Attributes:
        codebleu: CodeBLEU total (always computed).
        codebert: CodeBERT cosine; None without a code embedder.
        cbb: sqrt(codebleu * codebert); None when codebert is None.
        ast_distance: Normalised tree edit distance in [0, 1] (0 = same tree); None when either
            program has a syntax error.
        syntax_error: The generated program does not parse.
        codebleu_components: ngram, weighted ngram, syntax and data-flow match scores.
        ref_syntax_error: The reference does not parse (should not happen with ManimBench).
    """

    codebleu: float
    codebert: float | None
    cbb: float | None
    ast_distance: float | None
    syntax_error: bool
    codebleu_components: dict[str, float] | None = None
    ref_syntax_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- CodeBLEU -----------------------------------------------------------------------------------


def codebleu_score(ref_code: str, gen_code: str) -> tuple[float, dict[str, float]]:
    """CodeBLEU total and components (codebleu 0.7, python, default weights)."""
    from codebleu import calc_codebleu

    # codebleu logs a warning for every program without data flow; it is noise here.
    logging.getLogger("codebleu").setLevel(logging.ERROR)
    out = calc_codebleu([ref_code], [gen_code], lang="python")
    total = float(out.pop("codebleu"))
    return total, {k: float(v) for k, v in out.items()}


# --- CodeBERT -----------------------------------------------------------------------------------


@runtime_checkable
class CodeEmbedder(Protocol):
    """Maps programs to embeddings, one row per program."""

    name: str

    def embed(self, codes: list[str]) -> np.ndarray:
        """Embed source texts; returns an array of shape (len(codes), d)."""
        ...


class HFCodeEmbedder:
    """Mean-pooled last hidden states of a transformers encoder (the study: codebert-base).

    Args:
        model: A transformers encoder (e.g. `RobertaModel`).
        tokenizer: Its tokenizer.
        name: Shown in results.
        max_length: Tokens kept per program (CodeBERT's limit is 512).
    """

    def __init__(self, model: Any, tokenizer: Any, name: str = "codebert", max_length: int = 512):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.max_length = max_length

    @classmethod
    def from_pretrained(cls, name_or_path: str = CODEBERT_HUB_ID) -> HFCodeEmbedder:
        """Load from a local directory or a hub id (the local cache only when offline)."""
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(name_or_path)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        return cls(model, tokenizer, name=name_or_path)

    def embed(self, codes: list[str]) -> np.ndarray:
        import torch

        rows = []
        with torch.inference_mode():
            for code in codes:  # one at a time: no padding, so pooling is over real tokens only
                enc = self.tokenizer(
                    code, return_tensors="pt", truncation=True, max_length=self.max_length
                )
                hidden = self.model(**enc).last_hidden_state[0]
                mask = enc["attention_mask"][0].unsqueeze(-1).to(hidden.dtype)
                rows.append(((hidden * mask).sum(0) / mask.sum().clamp(min=1)).float().numpy())
        return np.stack(rows).astype(np.float64)


def tiny_code_embedder(seed: int = 0) -> HFCodeEmbedder:
    """A small randomly initialised RoBERTa with a byte-level BPE trained here (tests; offline)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    bpe = ByteLevelBPETokenizer()
    corpus = [
        "from manim import *\nclass Scene1(Scene):\n    def construct(self):\n",
        "self.play(Create(Circle(color=RED)))\nself.wait()\nsquare = Square().shift(LEFT)\n",
        "text = Text('hello').next_to(dot, UP)\nself.add(NumberPlane())\n",
    ]
    bpe.train_from_iterator(
        corpus, vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>"]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return HFCodeEmbedder(
        RobertaModel(config), tokenizer, name=f"tiny-random-roberta(seed={seed})", max_length=128
    )


_default_cache: dict[str, Any] = {}


def default_code_embedder(download: bool | None = None) -> CodeEmbedder | None:
    """CodeBERT from `$MANIMATIC_CODEBERT_PATH` or the hub id, or None (reason logged once).

    Args:
        download: Allow fetching the weights (~500 MB) when they are not in the local Hugging
            Face cache (default: `MANIMATIC_DOWNLOAD_MODELS`).
    """
    from manimatic.metrics.embedders import downloads_allowed, locally_available

    if "embedder" in _default_cache:
        return _default_cache["embedder"]
    source = os.environ.get(CODEBERT_PATH_ENV) or CODEBERT_HUB_ID
    embedder: CodeEmbedder | None = None
    reason = None if downloads_allowed(download) else locally_available(source)
    if reason is None:
        try:
            embedder = HFCodeEmbedder.from_pretrained(source)
        except Exception as exc:  # any failure to load means "no CodeBERT", never a crash
            reason = f"cannot load CodeBERT from {source!r} ({type(exc).__name__}: {exc})"
    if reason is not None:
        log.warning(
            "%s; CodeBERT and CBB will be null; set %s to a local copy of %s",
            reason.splitlines()[0],
            CODEBERT_PATH_ENV,
            CODEBERT_HUB_ID,
        )
        _default_cache["reason"] = reason
    _default_cache["embedder"] = embedder
    return embedder


def codebert_similarity(embedder: CodeEmbedder, ref_code: str, gen_code: str) -> float:
    """Cosine similarity of the two programs' embeddings."""
    a, b = np.asarray(embedder.embed([ref_code, gen_code]), dtype=np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


# --- AST distance -------------------------------------------------------------------------------

_SKIP = (ast.expr_context,)
_LABEL_FIELDS = ("id", "attr", "name", "arg", "module")


def _label(node: ast.AST) -> str:
    kind = type(node).__name__
    if isinstance(node, ast.Constant):
        return f"{kind}:{node.value!r}"
    for field in _LABEL_FIELDS:
        value = getattr(node, field, None)
        if isinstance(value, str):
            return f"{kind}:{value}"
    return kind


def ast_tree(code: str) -> Any:
    """The program's AST as a `zss.Node` tree.

    Raises:
        SyntaxError: The code does not parse.
    """
    from zss import Node

    def build(node: ast.AST) -> Node:
        out = Node(_label(node))
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SKIP):
                out.addkid(build(child))
        return out

    return build(ast.parse(code))


def _count(node: Any) -> int:
    return 1 + sum(_count(k) for k in node.children)


def _flat_tree(code: str) -> tuple[list[str], list[list[int]]]:
    """The program's AST as pre-order labels and child lists (the form `edist` takes)."""
    labels: list[str] = []
    children: list[list[int]] = []

    def visit(node: ast.AST) -> int:
        index = len(labels)
        labels.append(_label(node))
        children.append([])
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SKIP):
                children[index].append(visit(child))
        return index

    visit(ast.parse(code))
    return labels, children


def ast_distance(ref_code: str, gen_code: str) -> float:
    """Zhang-Shasha edit distance between the ASTs / the larger node count, in [0, 1].

    Unit costs (insert, delete, relabel), as `zss.simple_distance`; computed with edist's
    compiled implementation, which gives the same value (tested against zss) in milliseconds
    where zss takes tens of seconds on a 60-line scene.

    Raises:
        SyntaxError: Either program does not parse.
    """
    from edist.ted import standard_ted

    a_labels, a_children = _flat_tree(ref_code)
    b_labels, b_children = _flat_tree(gen_code)
    dist = standard_ted(a_labels, a_children, b_labels, b_children)
    return float(min(1.0, dist / max(len(a_labels), len(b_labels))))


def ast_distance_reference(ref_code: str, gen_code: str) -> float:
    """The same distance with `zss` (pure Python, slow): the reference the fast one is tested on."""
    from zss import simple_distance

    a, b = ast_tree(ref_code), ast_tree(gen_code)
    dist = simple_distance(a, b)
    return float(min(1.0, dist / max(_count(a), _count(b))))


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes in the source
        return False
    return True


# --- the study's AST distance -------------------------------------------------------------------


def _study_flat_tree(code: str) -> tuple[list[str], list[list[int]]]:
    """The study's tree of a program, as pre-order labels and child lists.

    A node per AST node (label: its type name), with children in field order: each AST value or
    list item becomes a subtree, a non-AST list item a leaf labelled `str(item)`, and any other
    field value a leaf labelled `"field: value"` (None included).

    Raises:
        SyntaxError: The code does not parse.
    """
    labels: list[str] = []
    children: list[list[int]] = []

    def leaf(label: str) -> int:
        labels.append(label)
        children.append([])
        return len(labels) - 1

    def visit(node: ast.AST) -> int:
        index = leaf(type(node).__name__)
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for item in value:
                    kid = visit(item) if isinstance(item, ast.AST) else leaf(str(item))
                    children[index].append(kid)
            elif isinstance(value, ast.AST):
                children[index].append(visit(value))
            else:
                children[index].append(leaf(f"{name}: {value}"))
        return index

    visit(ast.parse(code))
    return labels, children


def study_ast_distance(ref_code: str, gen_code: str) -> float:
    """The study's normalised AST distance: edit distance on their tree / the larger node count.

    Raises:
        SyntaxError: Either program does not parse.
    """
    from edist.ted import standard_ted

    a_labels, a_children = _study_flat_tree(gen_code)
    b_labels, b_children = _study_flat_tree(ref_code)
    dist = standard_ted(a_labels, a_children, b_labels, b_children)
    return float(dist / max(len(a_labels), len(b_labels)))


def study_ast_tree(code: str) -> Any:
    """The study's tree as a `zss.Node` (for checking `study_ast_distance` against zss)."""
    from zss import Node

    labels, children = _study_flat_tree(code)
    nodes = [Node(label) for label in labels]
    for index, kids in enumerate(children):
        for kid in kids:
            nodes[index].addkid(nodes[kid])
    return nodes[0]


def study_codebert_similarity(embedder: CodeEmbedder, ref_code: str, gen_code: str) -> float:
    """CodeBERT cosine as the study computes it: one padded batch, mean over every position.

    An embedder that is not a transformers encoder (`HFCodeEmbedder`) has no padding to include,
    so its own `embed` is used.
    """
    if not isinstance(embedder, HFCodeEmbedder):
        return codebert_similarity(embedder, ref_code, gen_code)
    import torch

    with torch.inference_mode():
        enc = embedder.tokenizer(
            [gen_code, ref_code],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=embedder.max_length,
        )
        pooled = embedder.model(**enc).last_hidden_state.mean(dim=1).double()
        cosine = torch.cosine_similarity(pooled[0], pooled[1], dim=0).item()
    return float(np.clip(cosine, -1.0, 1.0))


# --- all together -------------------------------------------------------------------------------


def code_metrics(
    ref_code: str,
    gen_code: str,
    embedder: CodeEmbedder | None = None,
    protocol: str = "manimatic",
) -> CodeMetrics:
    """CodeBLEU, CodeBERT, CBB and AST distance of a generation against its reference.

    Args:
        ref_code: The reference program.
        gen_code: The generated program.
        embedder: CodeBERT-style embedder; None leaves `codebert` and `cbb` null.
        protocol: "manimatic" (ours) or "study" (the authors' values: see the module docstring).

    Returns:
        The metrics.

    Raises:
        ValueError: An unknown protocol.
    """
    if protocol == "study":
        return _study_code_metrics(ref_code, gen_code, embedder)
    if protocol != "manimatic":
        raise ValueError(
            f"unknown code-metrics protocol {protocol!r}; choose "
            f"{' or '.join(CODE_METRIC_PROTOCOLS)}."
        )
    codebert = codebert_similarity(embedder, ref_code, gen_code) if embedder else None
    return pair_metrics(ref_code, gen_code, codebert, ast_distance)


def _study_code_metrics(ref_code: str, gen_code: str, embedder: CodeEmbedder | None) -> CodeMetrics:
    """`code_metrics` with the study's tree, empty-generation rule and CodeBERT pooling."""
    codebert = study_codebert_similarity(embedder, ref_code, gen_code) if embedder else None
    ref_ok = _parses(ref_code)
    if not gen_code.strip():
        zeros = {k: 0.0 for k in _COMPONENT_KEYS}
        return CodeMetrics(
            codebleu=0.0,
            codebert=codebert,
            cbb=None if codebert is None else 0.0,
            ast_distance=None,
            syntax_error=True,
            codebleu_components=zeros,
            ref_syntax_error=not ref_ok,
        )
    return pair_metrics(ref_code, gen_code, codebert, study_ast_distance)


def cbb_score(codebleu: float, codebert: float | None) -> float | None:
    """CBB = sqrt(CodeBLEU x CodeBERT) (each clipped at 0); None without CodeBERT."""
    return None if codebert is None else math.sqrt(max(codebleu, 0.0) * max(codebert, 0.0))


def pair_metrics(
    ref_code: str, gen_code: str, codebert: float | None, distance: Callable[[str, str], float]
) -> CodeMetrics:
    """CodeBLEU, CBB, the tree distance (ours or the study's) and the syntax flags of a pair."""
    total, components = codebleu_score(ref_code, gen_code)
    ref_ok, gen_ok = _parses(ref_code), _parses(gen_code)
    return CodeMetrics(
        codebleu=total,
        codebert=codebert,
        cbb=cbb_score(total, codebert),
        ast_distance=distance(ref_code, gen_code) if ref_ok and gen_ok else None,
        syntax_error=not gen_ok,
        codebleu_components=components,
        ref_syntax_error=not ref_ok,
    )


_COMPONENT_KEYS = (
    "ngram_match_score",
    "weighted_ngram_match_score",
    "syntax_match_score",
    "dataflow_match_score",
)

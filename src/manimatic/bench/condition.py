"""`Condition`: everything one benchmark run is given, in one object, checked in one place.

`run_bench` runs one condition, `run_matrix` runs a template condition over models x
strategies (`Condition.replace`), and the CLI builds one from its shared option groups
(`manimatic.commands.bench_options`). A new setting is one field here (with its check in
`__post_init__`), one option in a group there, and the runner reading `condition.<field>`.

    from manimatic.bench import Condition, run_bench
    run_bench(Condition(dataset="manimbench", model="openai:gpt-4.1", strategy="ritl-doc"))

Live objects (an open Store, a built backend, a render pool, a callback) are not settings and
stay `run_bench` keywords.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.bench.answers import BenchError
from manimatic.render.quality import check_quality

DEFAULT_TIMEOUT = 120.0  # the study allows 300 s; 120 s covers every ManimBench reference
DEFAULT_WORKERS = 4
MAX_CONSECUTIVE_INFRA = 10


@dataclass
class Condition:
    """One benchmark condition and how it is run.

    Attributes:
        dataset: A dataset spec for `load_dataset`, or a loaded TaskSet (its `source` then
            identifies it).
        model: A model spec (`openai:...`, `hf:...`, `scripted:...`), or `reference`. Ignored
            when `generations` is given.
        strategy: vanilla, ritl or ritl-doc (not used for reference or generations).
        label: Condition label (e.g. base, sft, grpo); part of the run's identity.
        rounds: Feedback rounds for ritl / ritl-doc.
        doc_pass: RITL-DOC's documentation pass (None: the strategy's default, on).
        critic: Layout-critic rounds for ritl / ritl-doc (0: off): a render that succeeds with
            layout findings is sent back with them (`manimatic.critic`). Part of the strategy's
            arguments, so of the run's identity. Findings are stored for every condition.
        generations: A JSONL file of `{"id", "code"}` to score instead of generating.
        base_url: OpenAI-compatible server URL for `openai:` models.
        options: `GenerationOptions` for the model (None: the defaults).
        split: train, test or all.
        types: Keep only these task types.
        limit: Do at most the first `limit` tasks of the task set (not part of the identity:
            resuming with a larger limit extends the run).
        quality: Render quality letter (`render.quality`; l = 480p15, the study's).
        timeout: Seconds per render.
        workers: Tasks in flight at once.
        render_workers: Size of the render pool made when none is given (None: CPUs).
        executor: Where that pool runs jobs: local, ray or ray:ADDRESS (`make_executor`).
        image_embedder: "auto" (CLIP when its weights load), None, or an ImageEmbedder.
        code_embedder: "auto" (CodeBERT when its weights load), None, or a CodeEmbedder.
        score_cache: Reuse scores computed before for the same renders, code and metric code.
        max_consecutive_infra: Stop after this many infrastructure errors in a row.
        progress: Show a rich progress bar on stderr.
    """

    dataset: Any = "manimbench"
    model: str = ""
    strategy: str = "vanilla"
    label: str | None = None
    rounds: int | None = None
    doc_pass: bool | None = None
    critic: int = 0
    generations: str | Path | None = None
    base_url: str | None = None
    options: Any = None
    split: str = "test"
    types: list[str] | None = None
    limit: int | None = None
    quality: str = "l"
    timeout: float = DEFAULT_TIMEOUT
    workers: int = DEFAULT_WORKERS
    render_workers: int | None = None
    executor: str = "local"
    image_embedder: Any = "auto"
    code_embedder: Any = "auto"
    score_cache: bool = True
    max_consecutive_infra: int = MAX_CONSECUTIVE_INFRA
    progress: bool = False

    def __post_init__(self) -> None:
        """Normalise and check every setting; the one place bad settings are refused.

        Raises:
            BenchError: A setting out of range; the message names it and what is accepted.
        """
        self.model = (self.model or "").strip()
        self.types = list(self.types) if self.types else None
        if self.workers is None:
            self.workers = DEFAULT_WORKERS
        try:
            check_quality(self.quality)
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)):
            raise BenchError(f"timeout must be positive seconds; got {self.timeout!r}.")
        self.timeout = float(self.timeout)
        if not self.timeout > 0:
            raise BenchError(f"timeout must be positive seconds; got {self.timeout}.")
        if self.workers < 1:
            raise BenchError(f"workers must be at least 1; got {self.workers}.")
        if self.render_workers is not None and self.render_workers < 1:
            raise BenchError(f"render workers must be at least 1; got {self.render_workers}.")
        if self.critic is None:
            self.critic = 0
        if isinstance(self.critic, bool) or not isinstance(self.critic, int) or self.critic < 0:
            raise BenchError(
                f"critic must be a number of layout-critic rounds (0 = off); got {self.critic!r}."
            )
        if self.limit is not None and self.limit < 1:
            raise BenchError(f"limit must be a positive number of tasks; got {self.limit}.")
        self.max_consecutive_infra = max(1, int(self.max_consecutive_infra))

    @property
    def is_generating(self) -> bool:
        """Whether a model generates the answers (not the references, not a generations file)."""
        return self.generations is None and self.model != "reference"

    def replace(self, **changes: Any) -> Condition:
        """A copy with `changes` applied (and checked again).

        Raises:
            TypeError: A name that is not a field.
            BenchError: A changed setting out of range.
        """
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}


# The study and the issues call it a benchmark config as often as a condition.
BenchConfig = Condition


def make_condition(base: Condition | None = None, /, **fields: Any) -> Condition:
    """`base` with `fields` changed, or a new Condition from `fields`.

    Raises:
        TypeError: A keyword that is not a Condition field (named in the message).
        BenchError: A setting out of range.
    """
    unknown = sorted(set(fields) - Condition.field_names())
    if unknown:
        raise TypeError(f"unknown benchmark setting(s): {', '.join(unknown)}")
    return base.replace(**fields) if base is not None else Condition(**fields)

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
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.bench.answers import BenchError
from manimatic.render.quality import check_quality

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
        protocol: "manimatic" (ours) or "study" (the study's extraction, feedback, no preflight,
            timeouts and code metrics; `manimatic.agent.protocol`). Part of the run's identity
            when it is not the default.
        prompts: A `--prompts` value (a YAML file, `study:PATH`...; `agent.prompts`); None for
            the protocol's own templates.
        quality: Render quality letter (`render.quality`; l = 480p15, the study's).
        timeout: Seconds per render of generated code (None: the protocol's, 120 s for
            manimatic, 300 s for study); `render_timeout` is the resolved value.
        reference_timeout: Seconds per render of a reference program (None: the protocol's,
            300 s under both); `ref_timeout` is the resolved value.
        workers: Tasks in flight at once.
        render_workers: Size of the render pool made when none is given (None: CPUs).
        executor: Where that pool runs jobs: local, ray or ray:ADDRESS (`make_executor`).
        image_embedder: "auto" (CLIP when its weights load), None, or an ImageEmbedder.
        code_embedder: "auto" (CodeBERT when its weights load), None, or a CodeEmbedder.
        score_cache: Reuse scores computed before for the same renders, code and metric code.
        max_consecutive_infra: Stop after this many infrastructure errors in a row.
        progress: Show a rich progress bar on stderr.
        api_key: API key for `openai:` / `ollama:` servers (never stored with the run).
        llm_timeout: Seconds to wait for each model reply before retrying (None: the
            backend's default, 120 s).
        retry_failed: Run stored failures again: None (no), [] (every failure) or error
            categories (`timeout`, `name`...; `reference` for failed reference renders).
            Not part of the identity: it resumes the same run.
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
    protocol: str = "manimatic"
    prompts: str | None = None
    quality: str = "l"
    timeout: float | None = None
    reference_timeout: float | None = None
    workers: int = DEFAULT_WORKERS
    render_workers: int | None = None
    executor: str = "local"
    image_embedder: Any = "auto"
    code_embedder: Any = "auto"
    score_cache: bool = True
    max_consecutive_infra: int = MAX_CONSECUTIVE_INFRA
    progress: bool = False
    api_key: str | None = None
    llm_timeout: float | None = None
    retry_failed: list[str] | None = None

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
        self.timeout = _seconds("timeout", self.timeout)
        self.reference_timeout = _seconds("reference timeout", self.reference_timeout)
        from manimatic.agent.prompts import PromptError
        from manimatic.agent.protocol import protocol_from_name

        try:
            protocol = protocol_from_name(self.protocol)
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        self.protocol = protocol.name
        if self.prompts is not None:
            self.prompts = str(self.prompts).strip() or None
        try:  # a bad prompt file is refused before any work, not in the first task
            self.prompt_set  # noqa: B018 - read (and kept) now
        except PromptError as exc:
            raise BenchError(str(exc)) from None
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
        if self.llm_timeout is not None and not (
            isinstance(self.llm_timeout, (int, float)) and self.llm_timeout > 0
        ):
            raise BenchError(f"llm timeout must be positive seconds; got {self.llm_timeout!r}.")
        if self.retry_failed is not None:
            cats = [p.strip().lower() for item in self.retry_failed for p in str(item).split(",")]
            self.retry_failed = [] if "all" in cats else [c for c in cats if c]

    def llm_settings(self) -> dict[str, Any]:
        """Keywords for `get_backend` from the model-server settings."""
        settings: dict[str, Any] = {"base_url": self.base_url, "api_key": self.api_key}
        if self.base_url:  # named in connection errors as where the URL came from
            settings["base_url_source"] = "--base-url (Condition.base_url)"
        if self.llm_timeout is not None:
            settings["timeout"] = float(self.llm_timeout)
        return settings

    @property
    def protocol_object(self) -> Any:
        """The `Protocol` named by `protocol`."""
        from manimatic.agent.protocol import protocol_from_name

        return protocol_from_name(self.protocol)

    @functools.cached_property
    def prompt_set(self) -> Any:
        """The `PromptSet` the agent is given (`prompts`, else the protocol's own); read once
        per condition (a prompt file is parsed and its templates compiled)."""
        from manimatic.agent.prompts import load_prompts

        spec = self.prompts if self.prompts is not None else self.protocol_object.prompts
        return load_prompts(spec)

    @property
    def render_timeout(self) -> float:
        """Seconds per render of generated code: `timeout`, else the protocol's default."""
        if self.timeout is not None:
            return self.timeout
        return self.protocol_object.bench_timeout

    @property
    def ref_timeout(self) -> float:
        """Seconds per render of a reference: `reference_timeout`, else the protocol's (300 s)."""
        if self.reference_timeout is not None:
            return self.reference_timeout
        return self.protocol_object.reference_timeout

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


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise BenchError(f"{name} must be positive seconds; got {value!r}.")
    return float(value)


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

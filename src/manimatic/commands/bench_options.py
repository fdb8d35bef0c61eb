"""Option groups shared by the commands that run benchmark conditions (`bench run`, `bench matrix`).

Each group is a list of `CliOption`s (flag, type, help, and how it fills a `Condition`).
`@with_options(GROUP, ...)` adds a group's options to a typer command, so the flags are declared
once and shown under their own help panel, and hands the command one `CliSettings` (keyword
`settings`) that builds the `Condition`:

    @bench_app.command("run")
    @with_options(DATASET, STRATEGY, SAMPLING, EXECUTION)
    def run_command(model: str | None = typer.Option(None, "--model"), *, settings: CliSettings):
        condition = settings.condition(model=model or "")

A new setting is one field on `Condition` and one `CliOption` in a group here; every command
that uses the group gets the flag. The checks stay in `Condition.__post_init__` (bad values
become one `UserError` line).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from manimatic.commands._common import PROMPTS_HELP, PROTOCOL_HELP, UserError
from manimatic.executors import EXECUTOR_HELP
from manimatic.render.quality import QUALITY_HELP

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = "Benchmark database (default: bench.sqlite in the user data directory)."
DATASET_HELP = (
    "manimbench ($MANIMBENCH_DIR, else the hub), SuienR/ManimBench-v1, a .parquet/.csv/.jsonl "
    "file, or a directory with the ManimBench v2 parquet files."
)


@dataclass(frozen=True)
class CliOption:
    """One shared flag.

    Attributes:
        name: The Python parameter name (and the key in `CliSettings.values`).
        annotation: Its type, as typer reads it (a real type, not a string).
        option: The `typer.Option(...)` default (typer copies it per command).
        field: The `Condition` field it sets as is; None when `CliSettings` treats it itself
            (sampling, embedders, doc pass) or it is not a condition setting (the database).
    """

    name: str
    annotation: Any
    option: Any
    field: str | None = None


def _opt(name: str, annotation: Any, default: Any, *flags: str, panel: str, **kw: Any) -> CliOption:
    field = kw.pop("field", name)
    return CliOption(
        name, annotation, typer.Option(default, *flags, rich_help_panel=panel, **kw), field
    )


_DATA = "Dataset"
_LOOP = "Generation"
_RUN = "Rendering and scoring"

DATASET = [
    _opt("dataset", str, "manimbench", "--dataset", "-d", panel=_DATA, help=DATASET_HELP),
    _opt("split", str, "test", "--split", panel=_DATA, help="train | test | all."),
    _opt(
        "types",
        list[str] | None,  # typer reads these annotations at runtime
        None,
        "--type",
        panel=_DATA,
        help="Only tasks of this Type (repeatable): Basic, Intermediate...",
    ),
    _opt("limit", int | None, None, "--limit", "-n", panel=_DATA, help="Only the first N tasks."),
    _opt("db", Path | None, None, "--db", panel=_DATA, help=DB_HELP, field=None),
]
STRATEGY = [
    _opt(
        "rounds",
        int | None,
        None,
        "--rounds",
        "-k",
        panel=_LOOP,
        help="Feedback rounds (ritl*).",
    ),
    _opt(
        "no_doc_pass",
        bool,
        False,
        "--no-doc-pass",
        panel=_LOOP,
        help="ritl-doc without doc pass.",
        field=None,
    ),
    _opt(
        "critic",
        bool,
        False,
        "--critic",
        panel=_LOOP,
        help="ritl*: layout-critic rounds after a render with findings (see --critic-rounds).",
        field=None,
    ),
    _opt(
        "critic_rounds",
        int | None,
        None,
        "--critic-rounds",
        panel=_LOOP,
        help="Layout-critic rounds with --critic (default 2).",
        field=None,
    ),
    _opt("base_url", str | None, None, "--base-url", panel=_LOOP, help="OpenAI-compatible server."),
    _opt(
        "api_key",
        str | None,
        None,
        "--api-key",
        panel=_LOOP,
        help="API key for openai:/ollama: servers (default: $MANIMATIC_API_KEY, then "
        "$OPENAI_API_KEY for openai:); never stored with the run.",
    ),
    _opt(
        "llm_timeout",
        float | None,
        None,
        "--llm-timeout",
        panel=_LOOP,
        help="Seconds to wait for each model reply before retrying (default 120; 5 attempts).",
    ),
]
PROTOCOL = [
    _opt("protocol", str, "manimatic", "--protocol", panel=_LOOP, help=PROTOCOL_HELP),
    _opt("prompts", str | None, None, "--prompts", panel=_LOOP, help=PROMPTS_HELP),
]
SAMPLING = [
    _opt(name, kind | None, None, flag, panel=_LOOP, help=text, field=None)
    for name, kind, flag, text in (
        ("temperature", float, "--temperature", "Sampling temperature (default: the model's)."),
        ("top_p", float, "--top-p", "Nucleus sampling mass."),
        ("max_tokens", int, "--max-tokens", "Most tokens per reply."),
        ("seed", int, "--seed", "Sampling seed."),
    )
]
EXECUTION = [
    _opt("workers", int | None, None, "--workers", "-w", panel=_RUN, help="Tasks in flight (4)."),
    _opt(
        "render_workers",
        int | None,
        None,
        "--render-workers",
        panel=_RUN,
        help="Parallel renders (default: CPU count).",
    ),
    _opt("executor", str, "local", "--executor", panel=_RUN, help=EXECUTOR_HELP),
    _opt("quality", str, "l", "--quality", "-q", panel=_RUN, help=QUALITY_HELP),
    _opt(
        "timeout",
        float | None,
        None,
        "--timeout",
        panel=_RUN,
        help="Seconds per render of generated code (default 120; 300 with --protocol study).",
    ),
    _opt(
        "reference_timeout",
        float | None,
        None,
        "--reference-timeout",
        panel=_RUN,
        help="Seconds per render of a reference program (default: the study's 300).",
    ),
    _opt(
        "embedders",
        bool,
        True,
        "--embedders/--no-embedders",
        panel=_RUN,
        help="Load CLIP / CodeBERT when available.",
        field=None,
    ),
    _opt(
        "score_cache",
        bool,
        True,
        "--score-cache/--no-score-cache",
        panel=_RUN,
        help="Reuse scores of identical renders and code under the same metric code.",
    ),
]


@dataclass
class CliSettings:
    """The values of a command's shared options, and the `Condition` they make.

    Attributes:
        values: Option name -> the value given (or its default).
        fields: Option name -> the Condition field it sets (None: treated here).
    """

    values: dict[str, Any]
    fields: dict[str, str | None]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def condition(self, **given: Any) -> Any:
        """The `Condition` of these options, with `given` fields (model, strategy...) set.

        Sampling options make `GenerationOptions` only when a model generates the answers.

        Raises:
            UserError: A setting the Condition refuses, or bad sampling options.
        """
        from manimatic.bench.answers import BenchError
        from manimatic.bench.condition import Condition

        fields = {f: self.values[n] for n, f in self.fields.items() if f is not None}
        if "types" in fields:
            fields["types"] = fields["types"] or None
        if self.values.get("no_doc_pass"):
            fields["doc_pass"] = False
        critic_rounds = self.values.get("critic_rounds")
        if critic_rounds is not None and not self.values.get("critic"):
            raise UserError("--critic-rounds goes with --critic; add --critic.")
        if self.values.get("critic"):
            from manimatic.agent.strategies import DEFAULT_CRITIC_ROUNDS

            fields["critic"] = DEFAULT_CRITIC_ROUNDS if critic_rounds is None else critic_rounds
        if self.values.get("embedders") is False:
            fields.update(image_embedder=None, code_embedder=None)
        fields.update(given)
        try:
            condition = Condition(**fields)
            if "temperature" in self.values and condition.is_generating:
                condition = condition.replace(options=self.generation_options())
        except BenchError as exc:
            raise UserError(str(exc)) from None
        return condition

    def generation_options(self) -> Any:
        """`GenerationOptions` from the sampling flags given (the rest at their defaults).

        Raises:
            UserError: A value GenerationOptions refuses.
        """
        from manimatic.llm import GenerationOptions

        names = [o.name for o in SAMPLING]
        given = {k: self.values[k] for k in names if self.values.get(k) is not None}
        try:
            return GenerationOptions(**given)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def with_options(*groups: list[CliOption]) -> Callable[[F], F]:
    """Add the options of `groups` to a typer command; it receives them as `settings`.

    The command declares its own options as usual plus a keyword-only `settings: CliSettings`
    parameter; the shared options come after its own in `--help`, under their panels.
    """
    extra = [o for group in groups for o in group]

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)
        own = [p for p in sig.parameters.values() if p.name != "settings"]
        clash = {p.name for p in own} & {o.name for o in extra}
        if clash:
            raise TypeError(f"{fn.__name__} declares shared option(s) itself: {sorted(clash)}")
        added = [
            inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.option,
                              annotation=o.annotation)
            for o in extra
        ]  # fmt: skip

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            values = {o.name: kwargs.pop(o.name) for o in extra}
            settings = CliSettings(values, {o.name: o.field for o in extra})
            return fn(**kwargs, settings=settings)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        annotations = {k: v for k, v in fn.__annotations__.items() if k != "settings"}
        command.__annotations__ = {**annotations, **{o.name: o.annotation for o in extra}}
        return command  # type: ignore[return-value]

    return decorate

"""Inference strategies as data: the study's vanilla, RITL and RITL-DOC, with recorded arguments.

A strategy is a small frozen dataclass; `manimatic.agent.run.generate` reads its fields. Keeping
strategies as plain configured values (not code paths chosen by strings) means a transcript or a
bench record stores exactly what produced it (`to_dict`) and can rebuild it (`strategy_from_dict`).

    RITL(rounds=3).to_dict()  ->  {"name": "ritl", "rounds": 3}
    strategy_from_name("ritl-doc", rounds=2)  ->  RITLDoc(rounds=2, doc_pass=True)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

DEFAULT_ROUNDS = 3
MAX_ROUNDS = 20  # beyond this a loop is burning tokens, not converging
DEFAULT_CRITIC_ROUNDS = 2  # `--critic` without a count: layout fixes after a successful render


@dataclass(frozen=True)
class Strategy:
    """Base of all strategies.

    Attributes:
        name: The strategy's name on the CLI and in records (class constant).
        rounds: Feedback rounds after the first attempt (0 = no feedback).
        api_info: Whether feedback rounds carry `<API_INFO>` from the installed manim.
        doc_pass: Whether a documentation pass revises the first code before its render.
        critic: Layout-critic rounds after a render that succeeds with findings (0 = off).
    """

    name: ClassVar[str] = ""

    @property
    def rounds(self) -> int:
        return 0

    @property
    def api_info(self) -> bool:
        return False

    @property
    def doc_pass(self) -> bool:
        return False

    @property
    def critic(self) -> int:
        return 0

    @property
    def max_attempts(self) -> int:
        """Rendered attempts at most: the first, one per feedback round, one per critic round."""
        return 1 + self.rounds + self.critic

    def to_dict(self) -> dict[str, Any]:
        """`{"name": ..., **arguments}`: what a record stores to rebuild the strategy.

        `critic` is left out when off, so records made before it existed read the same.
        """
        args = {f.name: getattr(self, f.name) for f in fields(self)}
        if not args.get("critic"):
            args.pop("critic", None)
        return {"name": self.name, **args}

    def __str__(self) -> str:
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"{self.name}({args})" if args else self.name


@dataclass(frozen=True)
class Vanilla(Strategy):
    """One call, extract the code, render it. No feedback."""

    name: ClassVar[str] = "vanilla"


@dataclass(frozen=True)
class RITL(Strategy):
    """Renderer in the loop: on a failed render, regenerate from the description, the failed
    code and the render feedback; stop at the first success.

    Attributes:
        rounds: Feedback rounds after the first attempt (the study's K, default 3).
        critic: Layout-critic rounds: a render that succeeds but has layout findings
            (`manimatic.critic`) is sent back with them, up to this many times; the kept attempt
            is the one that renders with the fewest findings (0 = off, the study's RITL).
    """

    name: ClassVar[str] = "ritl"
    rounds: int = DEFAULT_ROUNDS  # type: ignore[assignment]  # a field here, a property above
    critic: int = 0  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _check_rounds(self.rounds)
        _check_critic(self.critic)


@dataclass(frozen=True)
class RITLDoc(Strategy):
    """RITL plus API documentation: each feedback round carries `<API_INFO>` (signatures and docs
    of the Manim names the code uses, "did you mean" for names that do not exist); optionally a
    documentation pass revises the first code before it is rendered, as in the study.

    Attributes:
        rounds: Feedback rounds after the first attempt (default 3).
        doc_pass: Run the documentation pass before the first render (default on).
        api_info_chars: Most characters of `<API_INFO>` per prompt.
        critic: Layout-critic rounds, as for RITL (0 = off).
    """

    name: ClassVar[str] = "ritl-doc"
    rounds: int = DEFAULT_ROUNDS  # type: ignore[assignment]
    doc_pass: bool = True  # type: ignore[assignment]
    api_info_chars: int = 6000
    critic: int = 0  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _check_rounds(self.rounds)
        _check_critic(self.critic)
        if not isinstance(self.doc_pass, bool):
            raise ValueError(f"doc_pass must be True or False; got {self.doc_pass!r}.")
        if (
            not isinstance(self.api_info_chars, int)
            or isinstance(self.api_info_chars, bool)
            or self.api_info_chars < 200
        ):
            raise ValueError(
                f"api_info_chars must be an int >= 200 (room for one signature); got "
                f"{self.api_info_chars!r}."
            )

    @property
    def api_info(self) -> bool:
        return True


def _check_rounds(rounds: Any) -> None:
    if not isinstance(rounds, int) or isinstance(rounds, bool) or not 0 <= rounds <= MAX_ROUNDS:
        raise ValueError(
            f"rounds must be an int from 0 to {MAX_ROUNDS} (feedback rounds after the first "
            f"attempt; the study uses {DEFAULT_ROUNDS}); got {rounds!r}."
        )


def _check_critic(critic: Any) -> None:
    if not isinstance(critic, int) or isinstance(critic, bool) or not 0 <= critic <= MAX_ROUNDS:
        raise ValueError(
            f"critic must be an int from 0 to {MAX_ROUNDS} (layout-critic rounds after a render "
            f"that succeeds with findings; --critic alone means {DEFAULT_CRITIC_ROUNDS}); "
            f"got {critic!r}."
        )


STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (Vanilla, RITL, RITLDoc)}


def strategy_from_name(
    name: str,
    *,
    rounds: int | None = None,
    doc_pass: bool | None = None,
    critic: int | None = None,
) -> Strategy:
    """Build a strategy from its CLI name.

    Args:
        name: "vanilla", "ritl" or "ritl-doc" (case-insensitive; "ritl_doc" also accepted).
        rounds: Feedback rounds (ritl, ritl-doc); None for the default.
        doc_pass: The documentation pass (ritl-doc only); None for the default (on).
        critic: Layout-critic rounds (ritl, ritl-doc); None or 0 for off.

    Returns:
        The configured strategy.

    Raises:
        ValueError: Unknown name, or an argument the strategy does not take.
    """
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else ""
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    kwargs: dict[str, Any] = {}
    if rounds is not None:
        if key == "vanilla":
            raise ValueError(
                "vanilla makes one attempt and takes no rounds; use --strategy ritl or ritl-doc "
                "for feedback rounds."
            )
        kwargs["rounds"] = rounds
    if doc_pass is not None:
        if key != "ritl-doc":
            raise ValueError(f"the documentation pass is part of ritl-doc, not {key}.")
        kwargs["doc_pass"] = doc_pass
    if critic:
        if key == "vanilla":
            raise ValueError(
                "vanilla makes one attempt and takes no critic rounds; use --strategy ritl or "
                "ritl-doc with --critic."
            )
        kwargs["critic"] = critic
    return STRATEGIES[key](**kwargs)


def strategy_from_dict(data: dict[str, Any]) -> Strategy:
    """Rebuild a strategy from `Strategy.to_dict()` output (e.g. a transcript).

    Args:
        data: `{"name": ..., **arguments}`.

    Returns:
        The strategy.

    Raises:
        ValueError: Unknown name or arguments.
    """
    args = dict(data)
    name = args.pop("name", None)
    cls = STRATEGIES.get(str(name))
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ValueError(f"strategy {name} takes no argument(s) {', '.join(unknown)}.")
    return cls(**args)

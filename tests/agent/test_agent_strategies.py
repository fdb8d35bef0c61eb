"""Strategies are data: configured values with recorded arguments, rebuilt from their records."""

from __future__ import annotations

import pytest

from manimatic.agent.strategies import (
    RITL,
    RITLDoc,
    Vanilla,
    strategy_from_dict,
    strategy_from_name,
)


def test_defaults_and_records() -> None:
    assert Vanilla().to_dict() == {"name": "vanilla"}
    assert RITL().to_dict() == {"name": "ritl", "rounds": 3}
    assert RITLDoc().to_dict() == {
        "name": "ritl-doc",
        "rounds": 3,
        "doc_pass": True,
        "api_info_chars": 6000,
    }


def test_derived_properties() -> None:
    assert (Vanilla().rounds, Vanilla().max_attempts, Vanilla().api_info) == (0, 1, False)
    assert (RITL(rounds=2).max_attempts, RITL().doc_pass, RITL().api_info) == (3, False, False)
    doc = RITLDoc(rounds=1, doc_pass=False)
    assert (doc.max_attempts, doc.doc_pass, doc.api_info) == (2, False, True)


@pytest.mark.parametrize("strategy", [Vanilla(), RITL(rounds=5), RITLDoc(rounds=0, doc_pass=False)])
def test_round_trip(strategy) -> None:
    assert strategy_from_dict(strategy.to_dict()) == strategy


def test_from_name() -> None:
    assert strategy_from_name("vanilla") == Vanilla()
    assert strategy_from_name("RITL", rounds=1) == RITL(rounds=1)
    assert strategy_from_name("ritl_doc", doc_pass=False) == RITLDoc(doc_pass=False)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: strategy_from_name("reflexion"), "unknown strategy"),
        (lambda: strategy_from_name("vanilla", rounds=2), "takes no rounds"),
        (lambda: strategy_from_name("ritl", doc_pass=True), "part of ritl-doc"),
        (lambda: RITL(rounds=-1), "rounds must be an int from 0 to 20"),
        (lambda: RITL(rounds=2.5), "rounds must be"),
        (lambda: RITLDoc(api_info_chars=10), "api_info_chars"),
        (lambda: strategy_from_dict({"name": "ritl", "temperature": 1}), "no argument"),
    ],
)
def test_bad_arguments_say_the_rule(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_strategies_are_immutable() -> None:
    with pytest.raises(AttributeError):
        RITL().rounds = 5  # type: ignore[misc]

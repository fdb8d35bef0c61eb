"""Short flags mean one thing across every command (`-s` is never --scene here, --strategy there)."""

from __future__ import annotations

from collections import defaultdict

import typer.main

from manimatic.cli import app


def _commands(command, path=()):
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def test_each_short_flag_has_one_meaning():
    meanings: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for name, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            opts = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            longs = [o for o in opts if o.startswith("--")]
            for short in (o for o in opts if len(o) == 2 and o.startswith("-")):
                meanings[short].add(longs[0] if longs else "?")
                where[short].append(name)
    clashes = {s: sorted(m) for s, m in meanings.items() if len(m) > 1}
    assert not clashes, {s: (m, where[s]) for s, m in clashes.items()}
    # the manim habits and the shared ones
    assert meanings["-s"] == {"--save_last_frame"} and meanings["-p"] == {"--preview"}
    assert meanings["-o"] == {"--output"} and meanings["-q"] == {"--quality"}
    assert meanings["-k"] == {"--rounds"} and meanings["-n"] == {"--limit"}
    assert meanings["-w"] == {"--workers"} and meanings["-m"] == {"--model"}

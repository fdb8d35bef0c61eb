"""`manimatic bench run|matrix|runs|results|compare|report|verify`: the benchmark from the shell.

Thin layer over `manimatic.bench`: parse, call one function, print a rich table or `--json`.
Exit status: 0 the command did its job (whatever the RSR); 2 bad input (missing dataset file,
unknown run id, malformed generations file...); 3 a run stopped on repeated infrastructure errors
(model server or sandbox down: run the same command again to resume).

`--json` output: `run` one summary object; `matrix` one object with a summary per condition;
`runs` a JSON array of runs; `results` a JSON array with one object per task; `compare`,
`report` (`{"html", "markdown", "runs"}`) and `verify` one object each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from manimatic.commands._common import (
    UserError,
    console,
    console_err,
    exit_interrupted,
    print_json,
    safe_text,
)
from manimatic.commands.bench_options import (
    DATASET,
    DB_HELP,
    EXECUTION,
    PROTOCOL,
    SAMPLING,
    STRATEGY,
    CliSettings,
    with_options,
)

EXIT_INFRA = 3

bench_app = typer.Typer(
    name="bench",
    help="Benchmark models on ManimBench (or your tasks): resumable runs in SQLite.",
    no_args_is_help=True,
)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.3f}"
    return str(value)


def _ci_text(ci: list[float] | None, pct: bool = False) -> str:
    """` [low, high]` after a number (a 95% bootstrap interval), or nothing."""
    if not ci:
        return ""
    return f" [{ci[0]:.0%}, {ci[1]:.0%}]" if pct else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def _print_summary(summary: Any) -> None:
    head = "resumed" if summary.resumed else "new"
    console.print(
        f"[bold]run {summary.run_id}[/] ({head}, {summary.status}, protocol "
        f"{summary.protocol}): {summary.done}/"
        f"{summary.total} tasks scored ({summary.new} now, {summary.skipped} already stored) "
        f"in {summary.elapsed_s:.1f} s",
        highlight=False,
    )
    overall = summary.stats.get("overall", {})
    table = Table("group", "n", "RSR", "VS", "fidelity", "CodeBLEU", "CBB", "rounds")
    groups = [("all", overall)] + sorted(summary.stats.get("by_type", {}).items())
    for name, g in groups:
        m = g.get("means", {})
        table.add_row(
            escape(name),
            str(g.get("n", 0)),
            _fmt(g.get("rsr"), pct=True),
            _fmt(m.get("vs")),
            _fmt(m.get("fidelity")),
            _fmt(m.get("codebleu")),
            _fmt(m.get("cbb")),
            _fmt(m.get("rounds")),
        )
    console.print(table)
    console.print(
        f"95% bootstrap intervals: RSR{_ci_text(summary.rsr_ci, pct=True) or ' -'}, "
        f"VS{_ci_text(summary.mean_vs_ci) or ' -'}, "
        f"fidelity{_ci_text(summary.mean_fidelity_ci) or ' -'}",
        highlight=False,
    )
    errors = summary.stats.get("errors") or {}
    if errors:
        console.print(
            "failures: " + ", ".join(f"{k} {v}" for k, v in errors.items()), highlight=False
        )
    _print_dataset_problems(summary.dataset_problems)
    if summary.unknown_generation_ids:
        ids = ", ".join(summary.unknown_generation_ids[:10])
        more = len(summary.unknown_generation_ids) - 10
        console_err.print(
            f"[yellow]generations:[/] {len(summary.unknown_generation_ids)} id(s) match no task: "
            f"{escape(ids)}{f' (+{more} more)' if more > 0 else ''}",
            highlight=False,
        )
    if summary.missing_generations:
        console_err.print(
            f"[yellow]generations:[/] {summary.missing_generations} task(s) have no generation "
            "(scored as failures)",
            highlight=False,
        )
    for note in summary.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    console.print(f"[dim]database: {escape(summary.db)}[/]", highlight=False)


def _print_dataset_problems(problems: list[str]) -> None:
    for problem in problems:
        console_err.print(f"[yellow]dataset:[/] {escape(problem)}", highlight=False)


class OptionalValueCommand(TyperCommand):
    """A command whose `OPTIONAL_VALUE` options may be given without their value.

    typer's parser has no optional-value options, so `--retry-failed` alone (last, or before
    another option) is read as `--retry-failed all` before parsing.
    """

    OPTIONAL_VALUE = {"--retry-failed": "all"}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        out: list[str] = []
        for i, arg in enumerate(args):
            out.append(arg)
            if arg in self.OPTIONAL_VALUE:
                following = args[i + 1] if i + 1 < len(args) else None
                if following is None or (following.startswith("-") and len(following) > 1):
                    out.append(self.OPTIONAL_VALUE[arg])
            if arg == "--":
                out.extend(args[i + 1 :])
                break
        return super().parse_args(ctx, out)


@bench_app.command("run", cls=OptionalValueCommand)
@with_options(DATASET, STRATEGY, PROTOCOL, SAMPLING, EXECUTION)
def run_command(
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="openai:MODEL, ollama:MODEL, hf:PATH or hf:PATH@ADAPTER, scripted:FILE.jsonl, "
        "or reference (answers with the reference code: calibrates the harness).",
    ),
    strategy: str = typer.Option("vanilla", "--strategy", help="vanilla | ritl | ritl-doc."),
    label: str | None = typer.Option(None, "--label", help="Condition label: base, sft, grpo..."),
    generations: Path | None = typer.Option(
        None, "--generations", help='Score code made elsewhere: JSONL of {"id", "code"}.'
    ),
    retry_failed: str | None = typer.Option(
        None,
        "--retry-failed",
        metavar="[CATEGORIES]",
        help="Run the stored failures of this run again: all, or only these error categories "
        "(comma-separated: timeout, memory, name, reference (failed reference renders)...).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    *,
    settings: CliSettings,
) -> None:
    """Run one condition (model x strategy) on a dataset; the same command again resumes it."""
    from manimatic.bench import BenchError, run_bench

    if model is None and generations is None:
        raise UserError("give --model SPEC (or --model reference), or --generations FILE.jsonl.")
    condition = settings.condition(
        model=model or "",
        strategy=strategy,
        label=label,
        generations=generations,
        progress=not as_json,
        retry_failed=retry_failed.split(",") if retry_failed is not None else None,
    )
    try:
        summary = run_bench(condition, db=settings["db"])
    except KeyboardInterrupt as exc:  # RunInterrupted: how much is stored, how to resume
        exit_interrupted(exc)
    except BenchError as exc:
        partial = getattr(exc, "summary", None)
        if partial is None:
            raise UserError(str(exc)) from None
        if as_json:
            print_json(partial.to_dict())
        else:
            _print_summary(partial)
        raise UserError(str(exc), exit_code=EXIT_INFRA) from None
    if as_json:
        print_json(summary.to_dict())
    else:
        _print_summary(summary)


@bench_app.command("matrix")
@with_options(DATASET, STRATEGY, PROTOCOL, SAMPLING, EXECUTION)
def matrix_command(
    models: list[str] = typer.Option(
        ..., "--model", "-m", help="LABEL=SPEC (repeatable), e.g. base=hf:Qwen/...@adapters/sft."
    ),
    strategies: list[str] = typer.Option(
        ..., "--strategy", help="vanilla | ritl | ritl-doc (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json"),
    *,
    settings: CliSettings,
) -> None:
    """Run models x strategies (the study's 9 conditions) into one database."""
    from manimatic.bench import BenchError, parse_model_specs, run_matrix

    template = settings.condition(progress=not as_json)
    try:
        result = run_matrix(template, parse_model_specs(models), strategies, db=settings["db"])
    except KeyboardInterrupt as exc:
        exit_interrupted(exc)
    except BenchError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table("run", "label", "model", "strategy", "status", "done", "RSR", "VS")
        for s in result.runs:
            table.add_row(
                s.run_id,
                escape(str(s.label or "-")),
                escape(s.model),
                escape(s.strategy),
                s.status,
                f"{s.done}/{s.total}",
                _fmt(s.rsr, pct=True),
                _fmt(s.mean_vs),
            )
        console.print(table)
        _print_dataset_problems(result.dataset_problems)
        for f in result.failed:
            console_err.print(
                f"[red]failed:[/] {escape(str(f['label']))} {escape(f['model'])} "
                f"{escape(f['strategy'])}: {safe_text(f['error'])}",
                highlight=False,
            )
    if result.failed:
        raise typer.Exit(EXIT_INFRA)


def _open_store(db: Path | None) -> Any:
    from manimatic.bench.store import Store, StoreError

    if db is not None and not Path(db).expanduser().is_file():
        raise UserError(f"no benchmark database at {db}; create one with `manimatic bench run`.")
    try:
        return Store(db)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _get_run(store: Any, ref: str) -> Any:
    from manimatic.bench.store import StoreError

    try:
        return store.get_run(ref)
    except StoreError as exc:
        raise UserError(str(exc)) from None


@bench_app.command("runs")
def runs_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of runs."),
) -> None:
    """List the runs in a database with their progress and headline numbers."""
    with _open_store(db) as store:
        from manimatic.bench.export import run_rows

        rows = run_rows(store)
        path = store.path
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no runs in {path}", highlight=False)
        return
    table = Table("id", "label", "model", "strategy", "status", "done", "RSR", "VS", "fidelity")
    for r in rows:
        table.add_row(
            r["id"],
            escape(str(r["label"] or "-")),
            escape(r["model"]),
            r["strategy"],
            r["status"],
            f"{r['done']}/{r['total']}",
            _fmt(r["rsr"], pct=True) + _ci_text(r.get("rsr_ci"), pct=True),
            _fmt(r["mean_vs"]) + _ci_text(r.get("mean_vs_ci")),
            _fmt(r["mean_fidelity"]) + _ci_text(r.get("mean_fidelity_ci")),
        )
    console.print(table)
    console.print("[dim]brackets: 95% bootstrap intervals over the run's tasks[/]")


@bench_app.command("results")
def results_command(
    run: str = typer.Argument(..., help="Run id (or a unique prefix), from `bench runs`."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, one object a task."),
) -> None:
    """Per-task results of one run."""
    with _open_store(db) as store:
        record = _get_run(store, run)
        from manimatic.bench.export import result_row

        rows = [result_row(r) for r in store.results(record.id)]
    if as_json:
        print_json(rows)
        return
    table = Table("task", "type", "ok", "VS", "fidelity", "CBB", "CodeBLEU", "rounds", "error")
    for r in rows:
        error = "" if r["ok"] else f"{r['error_category']}: {(r['error'] or '')[:60]}"
        table.add_row(
            r["id"],
            escape(str(r["type"] or "-")),
            _fmt(r["ok"]),
            _fmt(r["vs"]) + (" !" if r["degenerate_vs"] else ""),
            _fmt(r["fidelity"]),
            _fmt(r["cbb"]),
            _fmt(r["codebleu"]),
            _fmt(r["rounds"]),
            safe_text(error),
        )
    console.print(table)
    from manimatic.bench.stats import degenerate_note

    flagged = [r["id"] for r in rows if r["degenerate_vs"]]
    note = degenerate_note(len(flagged), sum(1 for r in rows if r["vs"] is not None))
    if note:
        console.print(f"[yellow]note:[/] {escape(note)}: {', '.join(flagged)}", highlight=False)


@bench_app.command("compare")
def compare_command(
    run_a: str = typer.Argument(..., help="Baseline run id."),
    run_b: str = typer.Argument(..., help="Run to compare with it."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Diff two runs: per-metric deltas over their common tasks, and per-task flips."""
    from manimatic.bench.analysis import compare

    with _open_store(db) as store:
        a, b = _get_run(store, run_a), _get_run(store, run_b)
        result = compare(a.id, store.results(a.id), b.id, store.results(b.id))
    data = result.to_dict()
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{a.id}[/] -> [bold]{b.id}[/] over {result.common} common task(s)")
    tests = result.tests.get("metrics", {})
    table = Table("metric", "A", "B", "delta", "95% CI of delta", "p", "n")
    for name, m in result.metrics.items():
        pct = name == "rsr"
        delta = m["delta"]
        t = tests.get(name) or {}
        if delta is None:
            shown = "-"
        elif m.get("delta_pp") is not None:
            shown = f"{m['delta_pp']:+.1f} pp"
        else:
            shown = f"{delta:+.3f}"
        ci = t.get("ci_pp")
        ci_text = "-" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}] pp"
        p = t.get("p_value")
        if name == "rsr":
            p = result.tests["render"]["p_value"]
        table.add_row(
            name, _fmt(m["a"], pct), _fmt(m["b"], pct), shown, ci_text,
            "-" if p is None else f"{p:.3g}", str(m["n"]),
        )  # fmt: skip
    console.print(table)
    render = result.tests["render"]
    console.print(
        f"McNemar ({render['method']}) on render success: {render['only_a']} ok only in A, "
        f"{render['only_b']} ok only in B, p = {render['p_value']:.3g}; other p values: paired "
        "bootstrap over tasks.",
        highlight=False,
    )
    console.print(f"ok -> fail ({len(result.ok_to_fail)}): {', '.join(result.ok_to_fail) or '-'}")
    console.print(f"fail -> ok ({len(result.fail_to_ok)}): {', '.join(result.fail_to_ok) or '-'}")
    if result.only_a or result.only_b:
        console.print(f"[dim]only in A: {len(result.only_a)}, only in B: {len(result.only_b)}[/]")


@bench_app.command("report")
def report_command(
    runs: list[str] = typer.Argument(
        ..., metavar="RUN", help="Run ids (or unique prefixes): one condition each."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    out: Path = typer.Option(
        Path("manimatic_report"),
        "--output",
        "--out",
        "-o",
        help="Directory for report.html and report.md.",
    ),
    frames: int = typer.Option(4, "--frames", help="Frames shown per render (0: none)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: html, markdown, runs (a summary per run)."
    ),
) -> None:
    """Write a report of runs: the study's tables, plots, and each task's frames side by side.

    report.html is self-contained (images embedded); report.md links PNGs in report_files/.
    """
    from manimatic.bench.report import ReportError, build_report, write_report
    from manimatic.bench.store import default_db_path

    path = Path(db).expanduser() if db is not None else default_db_path()
    if not path.is_file():
        raise UserError(f"no benchmark database at {path}; create one with `manimatic bench run`.")
    with _open_store(path) as store:
        try:
            report = build_report(store, runs, frames=frames)
        except ReportError as exc:
            raise UserError(str(exc)) from None
    try:
        files = write_report(report, out)
    except OSError as exc:
        raise UserError(f"cannot write the report to {out}: {exc}") from None
    html_path, md_path = files.html.resolve(), files.markdown.resolve()
    if as_json:
        print_json({"html": str(html_path), "markdown": str(md_path), "runs": report.summary()})
        return
    table = Table("condition", "model", "n", "RSR", "VS", "CBB", "fidelity")
    table.add_column("run", no_wrap=True)
    for c in report.summary():
        table.add_row(
            escape(c["condition"]),
            escape(c["model"]),
            str(c["n"]),
            _fmt(c["rsr"], pct=True),
            _fmt(c["vs"]),  # what VS is made of is said in the notes below
            _fmt(c["cbb"]),
            _fmt(c["fidelity"]),
            c["id"],
        )
    console.print(table)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    size = html_path.stat().st_size / 1e6
    # soft_wrap: a path cut over two lines cannot be copied
    console.print(
        f"html: {escape(str(html_path))} ({size:.1f} MB)", highlight=False, soft_wrap=True
    )
    console.print(
        f"markdown: {escape(str(md_path))} (+ {len(files.images)} PNG file(s))",
        highlight=False,
        soft_wrap=True,
    )


@bench_app.command("verify")
def verify_command(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a database's integrity (SQLite, migrations, every record); exit 1 on a problem."""
    with _open_store(db) as store:
        report = store.verify()
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"[green]ok[/]: {report.runs} run(s), {report.results} result(s), schema "
            f"v{report.schema_version}"
        )
    else:
        for problem in report.problems:
            console_err.print(f"[red]problem:[/] {escape(problem)}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `bench` command group to the main app."""
    app.add_typer(bench_app, name="bench")

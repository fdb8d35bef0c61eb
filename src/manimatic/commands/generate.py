"""`manimatic generate PROMPT --model SPEC`: a description in, a Manim scene and its video out.

Thin layer over `manimatic.agent.generate`: parse, call, print progress per round (rich) or one
JSON object. Exit status: 0 video made; 1 every attempt failed (the last failure is printed);
2 bad input (empty prompt, bad option); 3 the model backend or the render sandbox failed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from manimatic.commands._common import (
    FORMAT_OPTION,
    LAST_FRAME_OPTION,
    PROMPTS_HELP,
    PROTOCOL_HELP,
    console,
    console_err,
    print_json,
    safe_text,
)
from manimatic.render.output import OutputError, output_target
from manimatic.render.quality import QUALITY_HELP, check_quality

DEFAULT_OUT_ROOT = Path("manimatic_out")
EXIT_FAILED, EXIT_USAGE, EXIT_INFRA = 1, 2, 3


def slugify(text: str, max_len: int = 48) -> str:
    """A directory name from a prompt: ASCII lowercase words joined by dashes ("scene" if none).

    Args:
        text: The prompt.
        max_len: Longest slug.

    Returns:
        The slug.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "scene"


def _open_pool() -> Any:
    """The render pool for one run: one worker, since rounds render one after another."""
    from manimatic.render import RenderPool

    return RenderPool(1)


class _Progress:
    """Prints one line per round: what the model produced and how it rendered."""

    def __init__(self, out: Console, max_attempts: int) -> None:
        self.out = out
        self.max_attempts = max_attempts

    def __call__(self, rnd: Any) -> None:
        from manimatic.agent.feedback import error_summary

        label = f"round {rnd.attempt}/{self.max_attempts}"
        if rnd.kind == "doc_pass":
            label += " doc pass"
        elif rnd.kind == "critic":
            label += " critic"
        code = rnd.code
        if code is None:
            reason = (rnd.extraction or {}).get("reason") or "no code"
            made = f"[yellow]reply had no code[/] ({_escape(reason)})"
        else:
            n = code.count("\n") + 1
            verb = "revised" if rnd.kind == "doc_pass" else "generated"
            made = f"{verb} {n} line{'s' if n != 1 else ''}"
        tokens = (rnd.usage or {}).get("total_tokens")
        timing = f"[dim]{rnd.llm_s:.1f}s{f', {tokens} tokens' if tokens else ''}[/]"
        result = rnd.render_result
        if result is None:
            outcome = "checking the API usage against the docs"
        elif result.ok:
            outcome = f"[green]render ok[/] [dim]{result.elapsed_s:.1f}s[/]"
            found = len(((rnd.result or {}).get("critique") or {}).get("findings") or [])
            if found:
                outcome += f", [yellow]{found} layout finding{'s' * (found != 1)}[/]"
        elif code is None and result.error and result.error.type == "NoCodeError":
            outcome = "[red]failed[/]"
        else:
            outcome = f"[red]render failed[/]: {_escape(error_summary(result))}"
        self.out.print(f"{label}: {made} {timing} -> {outcome}", highlight=False, soft_wrap=True)


def llm_settings(
    base_url: str | None, api_key: str | None, llm_timeout: float | None
) -> dict[str, Any]:
    """`get_backend` keywords from the CLI's model flags; retries are announced on stderr.

    Args:
        base_url: `--base-url` (named as the source of the URL in errors).
        api_key: `--api-key`.
        llm_timeout: `--llm-timeout` seconds per request attempt (None: the backend's default).

    Returns:
        Keywords for `get_backend`.
    """

    def announce(line: str) -> None:
        console_err.print(f"[yellow]model:[/] {_escape(line)}", highlight=False, soft_wrap=True)

    settings: dict[str, Any] = {"base_url": base_url, "api_key": api_key, "on_retry": announce}
    if base_url:
        settings["base_url_source"] = "--base-url"
    if llm_timeout is not None:
        settings["timeout"] = llm_timeout
    return settings


def _escape(text: str) -> str:
    return safe_text(text)  # model and job text: no markup, no terminal control codes


def _fail(message: str, code: int, as_json: bool, payload: dict[str, Any]) -> typer.Exit:
    """Report one error (a line on stderr, or the JSON object) and return the exit to raise."""
    if as_json:
        print_json({**payload, "ok": False, "error": message})
    else:
        console_err.print(
            f"[bold red]error:[/] {_escape(message)}", highlight=False, soft_wrap=True
        )
    return typer.Exit(code)


def generate_command(
    prompt: str = typer.Argument(..., help="What the animation should show, in plain words."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        envvar="MANIMATIC_MODEL",
        help="Model spec: openai:MODEL, ollama:MODEL, hf:PATH (or hf:PATH@ADAPTER), "
        "gguf:NAME_OR_FILE, scripted:FILE.jsonl (see `manimatic models`). Default: the tiny "
        "embedded gguf:smollm2-135m, with short replies and one feedback round.",
    ),
    strategy: str | None = typer.Option(
        None,
        "--strategy",
        help="vanilla | ritl | ritl-doc (default ritl-doc; ritl for the embedded default model).",
    ),
    rounds: int | None = typer.Option(
        None, "--rounds", "-k", help="Feedback rounds after the first attempt (default 3)."
    ),
    out: Path | None = typer.Option(
        None,
        "--output",
        "--out",
        "-o",
        help="A file name ending in .mp4/.mov/.gif/.webm/.png is the video (the code goes "
        "beside it as NAME.py); anything else a folder (default ./manimatic_out/<prompt-slug>/).",
    ),
    fmt: str | None = FORMAT_OPTION,
    last_frame: bool = LAST_FRAME_OPTION,
    show: bool = typer.Option(
        False, "--preview", "-p", help="Open the video with the system viewer (needs a display)."
    ),
    transcript: Path | None = typer.Option(
        None, "--transcript", help="Write the full transcript (every round) as JSON here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible server URL (vLLM, Ollama, llama.cpp...)."
    ),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        help="API key for openai:/ollama: servers (default: $MANIMATIC_API_KEY, then "
        "$OPENAI_API_KEY for openai:).",
    ),
    llm_timeout: float = typer.Option(
        120.0,
        "--llm-timeout",
        help="Seconds to wait for each model reply before retrying (up to 5 attempts).",
    ),
    temperature: float | None = typer.Option(None, "--temperature", help="Default 0.7."),
    top_p: float | None = typer.Option(None, "--top-p", help="Default 0.95."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Default 2048."),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed."),
    quality: str = typer.Option("l", "--quality", "-q", help=QUALITY_HELP),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        help="Seconds per render before it is killed (default 60; 300 with --protocol study).",
    ),
    no_doc_pass: bool = typer.Option(
        False, "--no-doc-pass", help="ritl-doc: skip the API check before the first render."
    ),
    protocol: str = typer.Option("manimatic", "--protocol", help=PROTOCOL_HELP),
    prompts: str | None = typer.Option(None, "--prompts", help=PROMPTS_HELP),
    critic: bool = typer.Option(
        False,
        "--critic",
        help="ritl/ritl-doc: send a render that succeeds with layout findings (off frame, "
        "overlap, tiny or invisible text, empty frames) back to the model; keep the best.",
    ),
    critic_rounds: int | None = typer.Option(
        None, "--critic-rounds", help="Layout-critic rounds with --critic (default 2)."
    ),
    no_log: bool = typer.Option(
        False,
        "--no-log",
        help="Do not record this generation in the log (`manimatic logs`; MANIMATIC_NO_LOG=1 "
        "turns it off everywhere).",
    ),
) -> None:
    """Generate a Manim CE scene and its video from a description, fixing render failures."""
    from manimatic.agent import generate, strategy_from_name
    from manimatic.agent.prompts import load_prompts
    from manimatic.agent.protocol import protocol_from_name
    from manimatic.agent.strategies import DEFAULT_CRITIC_ROUNDS
    from manimatic.llm import GenerationOptions, LLMError, catalog, get_backend
    from manimatic.render import RenderPoolError

    embedded = model is None  # the tiny default gets settings a 135M model can finish in time
    if strategy is None:
        strategy = catalog.DEFAULT_MODEL_STRATEGY if embedded else "ritl-doc"
    if model is None:  # embedded
        model = catalog.DEFAULT_MODEL
        if rounds is None and strategy.strip().lower() != "vanilla":  # vanilla takes no rounds
            rounds = catalog.DEFAULT_MODEL_ROUNDS
        max_tokens = catalog.DEFAULT_MODEL_MAX_TOKENS if max_tokens is None else max_tokens

    payload: dict[str, Any] = {
        "ok": False,
        "video": None,
        "code_path": None,
        "rounds": 0,
        "strategy": strategy,
        "model": model,
        "error": None,
        "transcript": None,
    }
    if not prompt.strip():
        raise _fail(
            'empty prompt: describe the animation, e.g. manimatic generate "A blue square '
            'turns into a red circle" --model ...',
            EXIT_USAGE,
            as_json,
            payload,
        )
    try:
        check_quality(quality)
    except ValueError as exc:
        raise _fail(f"--{exc}", EXIT_USAGE, as_json, payload) from None
    try:
        target = output_target(out, fmt, last_frame=last_frame)
    except OutputError as exc:
        raise _fail(str(exc), EXIT_USAGE, as_json, payload) from None
    if timeout is not None and not timeout > 0:
        raise _fail(f"--timeout must be positive (got {timeout})", EXIT_USAGE, as_json, payload)
    if not llm_timeout > 0:
        raise _fail(
            f"--llm-timeout must be positive seconds (got {llm_timeout})",
            EXIT_USAGE,
            as_json,
            payload,
        )
    try:
        if critic_rounds is not None and not critic:
            raise ValueError("--critic-rounds goes with --critic; add --critic.")
        chosen = strategy_from_name(
            strategy,
            rounds=rounds,
            doc_pass=False if no_doc_pass else None,
            critic=(DEFAULT_CRITIC_ROUNDS if critic_rounds is None else critic_rounds)
            if critic
            else None,
        )
        given: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
        }
        if embedded:
            given["stop"] = catalog.DEFAULT_MODEL_STOP
        options = GenerationOptions(seed=seed, **{k: v for k, v in given.items() if v is not None})
        chosen_protocol = protocol_from_name(protocol)
        prompt_set = load_prompts(prompts if prompts is not None else chosen_protocol.prompts)
    except ValueError as exc:  # PromptError is a ValueError too
        raise _fail(str(exc), EXIT_USAGE, as_json, payload) from None
    payload["strategy"] = chosen.name
    out_dir = target.folder if target.folder is not None else DEFAULT_OUT_ROOT / slugify(prompt)
    progress_out = console_err if as_json else console
    if embedded:
        console_err.print(f"note: {catalog.DEFAULT_MODEL_NOTE}", highlight=False, soft_wrap=True)
    try:
        backend = get_backend(model, **llm_settings(base_url, api_key, llm_timeout))
    except LLMError as exc:
        raise _fail(f"model {model}: {exc}", EXIT_INFRA, as_json, payload) from None
    if transcript is not None:
        payload["transcript"] = str(transcript)
    if not as_json:
        console.print(
            f"[bold]generating[/] with {model} ({chosen})", highlight=False, soft_wrap=True
        )
    try:
        with backend, _open_pool() as pool:
            result = generate(
                prompt,
                backend,
                chosen,
                pool=pool,
                options=options,
                quality=quality,
                timeout=timeout,
                out_dir=out_dir,
                out_file=target.file,
                format=target.format,
                transcript_path=transcript,
                on_round=_Progress(progress_out, chosen.max_attempts),
                protocol=chosen_protocol,
                prompts=prompt_set,
                log=False if no_log else None,
                log_source="cli",
            )
    except LLMError as exc:
        record = getattr(exc, "transcript", None)
        payload["rounds"] = record.attempts if record else 0
        where = f" in round {payload['rounds']}" if payload["rounds"] else ""
        raise _fail(f"the model call failed{where}: {exc}", EXIT_INFRA, as_json, payload) from None
    except RenderPoolError as exc:
        raise _fail(f"the render sandbox failed: {exc}", EXIT_INFRA, as_json, payload) from None
    payload.update(
        ok=result.success,
        video=result.video,
        code_path=result.code_path,
        rounds=result.rounds,
        error=result.error,
    )
    if chosen.critic:
        payload.update(findings=result.findings, kept_attempt=result.kept_attempt)
    if as_json:
        print_json(payload)
    elif result.success:
        console.print(
            f"[green]done[/] in {result.rounds} round(s); code: {result.code_path}",
            highlight=False,
            soft_wrap=True,
        )
        if transcript is not None:
            console.print(f"transcript: {transcript}", highlight=False, soft_wrap=True)
        console.print(str(result.video), highlight=False, soft_wrap=True)
    else:
        where = f"; last code: {result.code_path}" if result.code_path else ""
        console_err.print(
            f"[bold red]error:[/] no working scene after {result.rounds} round(s); the last "
            f"failed with {_escape(result.error or 'an unknown error')}{_escape(where)}",
            highlight=False,
            soft_wrap=True,
        )
    if show and result.success and result.video:
        from manimatic.render.preview import preview

        done = preview(result.video)
        (console if done.opened and not as_json else console_err).print(
            f"[dim]{_escape(done.message)}[/]", highlight=False, soft_wrap=True
        )
    if not result.success:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add `generate` to the main app."""
    app.command("generate")(generate_command)

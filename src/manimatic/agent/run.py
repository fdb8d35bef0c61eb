"""`generate`: description in, working Manim code and its video out, with the renderer in the loop.

    from manimatic.agent import generate, RITLDoc
    out = generate("A red circle grows, then turns blue.", "openai:gpt-4.1", RITLDoc(rounds=3))
    out.success, out.video, out.code, out.transcript.save("run.json")

One loop serves every strategy (they are data, see `strategies`):

1. Ask the model (system prompt + `<TEXT_SCRIPT>`), extract the code.
2. RITL-DOC with `doc_pass`: send the code and its `<API_INFO>` back for a check; take the revised
   code (the first code stands if the reply has none).
3. Render (the pool's static preflight fails a doomed program in milliseconds, which counts as a
   failed attempt). A reply with no code, or code too large to be a scene, is a failed attempt too.
4. On failure, while feedback rounds remain: a fresh prompt with the description, the failed code
   and the feedback (plus `<API_INFO>` for RITL-DOC); back to 3. Stop at the first success.
5. With `critic` rounds (RITL/RITL-DOC): renders carry the scene trace, and a success with
   layout findings (`manimatic.critic`) is sent back with them while critic rounds remain. The
   kept attempt is then the best one (renders, fewest findings; the earliest on a tie), not
   necessarily the last.

What the loop extracts, feeds back, checks before rendering and how long it lets a render run
is the `Protocol` (`--protocol study|manimatic`); the wording is the `PromptSet` (`--prompts`).

A failed program is data for the next round. An LLM or render-pool error is infrastructure: it
propagates, with the transcript so far attached as `exc.transcript` (and saved first when a
transcript path was given).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.agent import genlog, prompts
from manimatic.agent.extract import Extraction
from manimatic.agent.feedback import error_summary, too_large_feedback
from manimatic.agent.prompts import PromptSet, load_prompts
from manimatic.agent.protocol import Protocol, no_code_result, protocol_from_name
from manimatic.agent.strategies import RITLDoc, Strategy
from manimatic.agent.transcript import Round, Transcript, now_iso
from manimatic.llm import Backend, GenerationOptions, Message, get_backend
from manimatic.render import OUTPUT_FORMATS, RenderPool, RenderResult, default_pool
from manimatic.render.output import output_target, place_output
from manimatic.render.pool import copy_outputs
from manimatic.render.quality import check_quality
from manimatic.scoring import main_output

MAX_CODE_BYTES = 200_000  # a generated scene is a few KB; 200 KB is a runaway reply
CODE_FILE_NAME = "scene.py"
_API_ERROR_TRACE_CHARS = 2000  # traceback tail handed to the docs lookup (it finds the line)

RoundCallback = Callable[[Round], None]


@dataclass
class GenerationResult:
    """What `generate` produced.

    Attributes:
        code: The last code extracted (the study's "output = last code"); "" if no reply had any.
        result: The render result of the last attempt (for a last reply with no code, the
            stand-in failure saying so).
        video: The output video (or image, for a scene with no animation) when it succeeded.
        rounds: Render attempts made (1 + feedback rounds used).
        success: Whether the last attempt rendered.
        transcript: The full record of the run.
        code_path: Where the final code was written (when an output directory was given).
        findings: With the critic on, the kept attempt's layout findings (`Finding.to_dict()`);
            None when the critic did not judge it (off, or the code did not render).
        kept_attempt: Which attempt `code` and `result` come from (the last one without critic).
    """

    code: str
    result: RenderResult
    video: str | None
    rounds: int
    success: bool
    transcript: Transcript
    code_path: str | None = None
    findings: list[dict[str, Any]] | None = None
    kept_attempt: int | None = None

    def __repr__(self) -> str:
        # Short on purpose: the transcript (every prompt and reply) is one attribute away.
        lines = self.code.count("\n") + 1 if self.code else 0
        tail = f"video={self.video!r}" if self.success else f"error={self.error!r}"
        return (
            f"GenerationResult(success={self.success}, rounds={self.rounds}, {tail}, "
            f"code=<{lines} lines>, code_path={self.code_path!r})"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the outcome, the video inline, the code folded."""
        import html

        from manimatic.render.html import media_html, status_html

        head = f"in {self.rounds} round(s)" + ("" if self.success else f": {self.error}")
        parts = [status_html(self.success, head)]
        if self.video:
            parts.append(media_html(self.video))
        if self.code:
            parts.append(
                f"<details><summary>code</summary><pre>{html.escape(self.code)}</pre></details>"
            )
        return "\n".join(parts)

    @property
    def error(self) -> str | None:
        """One line on what failed in the last attempt, or None on success."""
        return None if self.success else error_summary(self.result)

    def to_dict(self) -> dict[str, Any]:
        """A summary (the transcript is saved on its own)."""
        return {
            "ok": self.success,
            "video": self.video,
            "code_path": self.code_path,
            "rounds": self.rounds,
            "error": self.error,
            "result": self.result.to_dict(),
            "code": self.code,
            "findings": self.findings,
            "kept_attempt": self.kept_attempt,
        }


@dataclass
class _Kept:
    """The best attempt so far under the critic: it rendered, with this many findings."""

    attempt: int
    code: str
    result: RenderResult
    findings: list[Any]


def generate(
    description: str,
    backend: Backend | str,
    strategy: Strategy | None = None,
    *,
    pool: RenderPool | None = None,
    options: GenerationOptions | None = None,
    quality: str = "l",
    timeout: float | None = None,
    out_dir: str | Path | None = None,
    transcript_path: str | Path | None = None,
    on_round: RoundCallback | None = None,
    out_file: str | Path | None = None,
    format: str = "mp4",  # noqa: A002 - manim's name for it
    protocol: Protocol | str | None = None,
    prompts: PromptSet | str | Path | None = None,
    log: bool | str | Path | None = None,
    log_source: str = "python",
) -> GenerationResult:
    """Generate a Manim scene for `description`, fixing render failures per the strategy.

    Args:
        description: What the animation should show.
        backend: A model backend, or a model spec for `get_backend` (closed afterwards).
        strategy: Vanilla(), RITL(rounds=K) or RITLDoc(...); default RITLDoc().
        pool: The render pool; default the process-wide one.
        options: Sampling settings; default `GenerationOptions()`.
        quality: Render quality: "l" (480p15, the study's), "m" or "h".
        timeout: Seconds per render before it is killed; None for the protocol's default (60 s
            for manimatic, the study's 300 s for study).
        out_dir: Where to put the final code (`scene.py`) and the video; None leaves the video
            in the render cache and writes no code file.
        transcript_path: Save the transcript here after every round (crash-safe record).
        on_round: Called with each `Round` when it is complete (progress display).
        out_file: Write the final video to this file and the code beside it as NAME.py
            (`out.mp4` -> `out.py`); takes the place of `out_dir`.
        format: Output format: mp4, gif, webm, mov or png (the last frame only).
        protocol: "manimatic" (default) or "study", or a `Protocol`: extraction, feedback,
            preflight in the loop, hints and the default timeout.
        prompts: The prompt templates: a `PromptSet` or a `--prompts` value (see
            `load_prompts`); None for the protocol's own.
        log: Record the generation in the generation log (`agent.genlog`): True, False, or a
            log file to use instead of the default; None: on unless `MANIMATIC_NO_LOG` is set.
        log_source: Who asked, as the log names it: python, cli or studio.

    Returns:
        The final code, its render result and video, the attempts made and the transcript.

    Raises:
        ValueError: Empty description or bad settings.
        LLMError: The model backend failed; `exc.transcript` holds the run so far.
        RenderPoolError: The sandbox or pool is broken; `exc.transcript` likewise.
    """
    if not isinstance(description, str) or not description.strip():
        raise ValueError(
            "empty description: say what the animation should show, "
            'e.g. "A blue square rotates, then turns into a red circle".'
        )
    check_quality(quality)
    if format not in OUTPUT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(OUTPUT_FORMATS)}; got {format!r}.")
    if out_file is not None and Path(out_file).suffix.lower().lstrip(".") not in OUTPUT_FORMATS:
        raise ValueError(
            f"out_file {str(out_file)!r} must end in .{', .'.join(OUTPUT_FORMATS)} "
            "(give a folder as out_dir instead)."
        )
    chosen_protocol = protocol_from_name(protocol)
    prompt_set = load_prompts(prompts if prompts is not None else chosen_protocol.prompts)
    if timeout is None:
        timeout = chosen_protocol.generate_timeout
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be positive seconds; got {timeout!r}.")
    own_backend = isinstance(backend, str)
    model = get_backend(backend) if isinstance(backend, str) else backend
    started = time.perf_counter()
    run: _Run | None = None
    try:
        run = _Run(
            description=description.strip(),
            backend=model,
            strategy=strategy if strategy is not None else RITLDoc(),
            pool=pool,
            options=options or GenerationOptions(),
            quality=quality,
            timeout=float(timeout),
            out_dir=Path(out_dir).expanduser() if out_dir is not None else None,
            transcript_path=Path(transcript_path).expanduser() if transcript_path else None,
            on_round=on_round,
            out_file=Path(out_file).expanduser() if out_file is not None else None,
            fmt=format,
            protocol=chosen_protocol,
            prompts=prompt_set,
        )
        return run.execute()
    finally:
        # Logged whatever the outcome (success, failure, LLM error, Ctrl-C): from the transcript.
        if run is not None and genlog.logging_enabled(log):
            duration = time.perf_counter() - started
            path = log if isinstance(log, (str, Path)) else None
            genlog.record(run.transcript, source=log_source, duration_s=duration, path=path)
        if own_backend:
            model.close()


class _Run:
    """State of one `generate` call (kept out of the public API)."""

    def __init__(
        self,
        *,
        description: str,
        backend: Backend,
        strategy: Strategy,
        pool: RenderPool | None,
        options: GenerationOptions,
        quality: str,
        timeout: float,
        out_dir: Path | None,
        transcript_path: Path | None,
        on_round: RoundCallback | None,
        out_file: Path | None = None,
        fmt: str = "mp4",
        protocol: Protocol,
        prompts: PromptSet,
    ) -> None:
        self.description = description
        self.out_file = out_file
        self.fmt = fmt
        self.backend = backend
        self.strategy = strategy
        self.pool = pool
        self.options = options
        self.quality = quality
        self.timeout = timeout
        self.out_dir = out_dir
        self.transcript_path = transcript_path
        self.on_round = on_round
        self.protocol = protocol
        self.prompts = prompts
        self._pending_notes: list[str] = []  # for the next round (e.g. API info unavailable)
        self.transcript = Transcript(
            description=description,
            model=getattr(backend, "spec", type(backend).__name__),
            strategy=strategy.to_dict(),
            options=options.to_dict(),
            render={"quality": quality, "timeout": timeout},
            protocol=protocol.to_dict(),
            prompts={"name": prompts.name, "source": prompts.source},
        )

    # ------------------------------------------------------------------ the loop

    def execute(self) -> GenerationResult:
        try:
            return self._loop()
        except Exception as exc:
            # Infrastructure failure: keep the record, then let the caller see the real error.
            self.transcript.status = "error"
            self.transcript.error = f"{type(exc).__name__}: {exc}"
            self.transcript.finished_at = now_iso()
            self._save()
            exc.transcript = self.transcript  # type: ignore[attr-defined]
            raise

    def _loop(self) -> GenerationResult:
        strategy = self.strategy
        last_code = ""
        messages = prompts.build_messages(self.description, self.prompts)
        kind = "initial"
        api_info: str | None = None
        attempt = 0
        fixes_left, critic_left = strategy.rounds, strategy.critic
        kept: _Kept | None = None
        while True:
            attempt += 1
            rnd, extraction = self._ask(attempt, kind, messages, api_info)
            code = extraction.code if extraction.found else None
            if kind == "initial" and strategy.doc_pass and code and _size(code) <= MAX_CODE_BYTES:
                rnd, code = self._doc_pass(rnd, code)
            result, feedback = self._evaluate(rnd, code, extraction)
            if code:
                last_code = code
            findings = self._critique(rnd, result) if strategy.critic and code else None
            if (
                findings is not None
                and code
                and (kept is None or len(findings) < len(kept.findings))
            ):
                kept = _Kept(attempt, code, result, findings)
            self._finish_round(rnd)
            if result.ok:
                if not findings or critic_left <= 0:
                    break
                critic_left -= 1
                kind = "critic"
                api_info = None
                from manimatic.critic import critic_messages

                messages = critic_messages(self.description, code or "", findings, self.prompts)
                continue
            if fixes_left <= 0:
                break
            fixes_left -= 1
            previous = code if code and _size(code) <= MAX_CODE_BYTES else None
            kind = "feedback"
            api_info = None
            if strategy.api_info and previous:
                api_info = self._api_info(previous, _error_text(result))
                messages = prompts.ritl_doc_messages(
                    self.description, previous, feedback, api_info, self.prompts
                )
            else:
                messages = prompts.ritl_messages(self.description, previous, feedback, self.prompts)
        if kept is not None:
            return self._final(kept.code, kept.result, attempt, kept)
        return self._final(last_code, result, attempt)

    def _critique(self, rnd: Round, result: RenderResult) -> list[Any] | None:
        """The layout critic on a successful render, recorded in the round; None if not run."""
        if not result.ok:
            return None
        from manimatic.critic import critique_render, format_findings

        report = critique_render(result)
        if rnd.result is not None:
            rnd.result["critique"] = report.to_dict()
        if report.findings:
            rnd.feedback = format_findings(report.findings)
        return report.findings

    def _ask(
        self, attempt: int, kind: str, messages: list[Message], api_info: str | None
    ) -> tuple[Round, Extraction]:
        """One model call, recorded as a round (and saved, even if the call fails)."""
        rnd = Round(
            attempt=attempt,
            kind=kind,
            messages=[m.to_dict() for m in messages],
            api_info=api_info,
        )
        rnd.notes.extend(self._pending_notes)
        self._pending_notes.clear()
        self.transcript.rounds.append(rnd)
        started = time.perf_counter()
        try:
            completion = self.backend.complete(messages, self.options)
        except Exception as exc:
            rnd.llm_s = time.perf_counter() - started
            rnd.error = f"{type(exc).__name__}: {exc}"
            raise
        rnd.llm_s = time.perf_counter() - started
        rnd.reply = completion.text
        rnd.usage = completion.usage.to_dict()
        rnd.model = completion.model
        extraction = self.protocol.extract(completion.text)
        rnd.extraction = extraction.to_dict()
        return rnd, extraction

    def _doc_pass(self, first: Round, code: str) -> tuple[Round, str]:
        """RITL-DOC's check of the first code against the docs; returns the code to render."""
        api_info = self._api_info(code, None)
        if not api_info:
            first.notes.append("doc pass skipped: no API info for this code (no Manim names found)")
            return first, code
        first.notes.append("revised by the doc pass before rendering")
        self._finish_round(first)
        messages = prompts.doc_pass_messages(self.description, code, api_info, self.prompts)
        rnd, extraction = self._ask(first.attempt, "doc_pass", messages, api_info)
        if extraction.found:
            return rnd, extraction.code
        rnd.notes.append("the doc pass reply had no code: rendering the first code")
        return rnd, code

    def _evaluate(
        self, rnd: Round, code: str | None, extraction: Extraction
    ) -> tuple[RenderResult, str]:
        """Render the round's code, or stand in a failure; returns (result, feedback)."""
        if code is None:
            result = no_code_result(extraction)
            feedback = self.protocol.no_code_feedback(extraction)
        elif _size(code) > MAX_CODE_BYTES:
            size = _size(code)
            result = RenderResult.failure(
                "preflight",
                "other_runtime",
                "CodeTooLargeError",
                f"the code is {size:,} bytes, over the {MAX_CODE_BYTES:,}-byte limit; not rendered",
            )
            feedback = too_large_feedback(size, MAX_CODE_BYTES)
        else:
            started = time.perf_counter()
            pool = self.pool or default_pool()
            result = pool.render(
                code,
                quality=self.quality,
                timeout=self.timeout,
                # With an output file, rounds stay in the cache and the final one is copied out;
                # with the critic, a later attempt may be worse: only the kept one is delivered.
                out_dir=None if self.out_file is not None or self.strategy.critic else self.out_dir,
                format=self.fmt,
                preflight=self.protocol.preflight,
                trace=bool(self.strategy.critic),
            )
            rnd.render_s = time.perf_counter() - started
            rnd.rendered_code = code
            feedback = "" if result.ok else self.protocol.feedback(result, code)
        rnd.result = result.to_dict(logs=True)
        rnd.feedback = feedback or None
        return result, feedback

    def _api_info(self, code: str, error_message: str | None) -> str:
        # Imported here: the docs index loads manim, which vanilla and RITL never need.
        from manimatic.docs import api_info_for_code

        try:
            return api_info_for_code(
                code, error_message=error_message, max_chars=self._api_info_chars()
            )
        except Exception as exc:  # noqa: BLE001 - docs are an aid; the loop goes on without
            self._pending_notes.append(f"API info unavailable: {type(exc).__name__}: {exc}")
            return ""

    def _api_info_chars(self) -> int:
        return getattr(self.strategy, "api_info_chars", 6000)

    def _finish_round(self, rnd: Round) -> None:
        self._save()
        if self.on_round is not None:
            self.on_round(rnd)

    def _final(
        self, code: str, result: RenderResult, attempts: int, kept: _Kept | None = None
    ) -> GenerationResult:
        if (
            kept is not None
            and self.out_file is None
            and self.out_dir is not None
            and result.outputs
        ):
            result = copy_outputs(result, self.out_dir)  # the kept attempt's video
        code_path = None
        if self.out_file is not None:
            path: Path | None = output_target(self.out_file).code_file
        else:
            path = self.out_dir / CODE_FILE_NAME if self.out_dir is not None else None
        if path is not None and code:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code.rstrip("\n") + "\n", encoding="utf-8")
            code_path = str(path.resolve())
        video = _video(result) if result.ok else None
        if video is not None and self.out_file is not None:
            video = str(place_output(video, output_target(self.out_file)))
        transcript = self.transcript
        transcript.status = "success" if result.ok else "failed"
        transcript.error = None if result.ok else error_summary(result)
        transcript.finished_at = now_iso()
        transcript.final = {
            "success": result.ok,
            "attempts": attempts,
            "code": code,
            "video": video,
            "code_path": code_path,
        }
        findings = [f.to_dict() for f in kept.findings] if kept is not None else None
        if kept is not None:
            transcript.final.update(kept_attempt=kept.attempt, findings=findings)
        self._save()
        return GenerationResult(
            code=code,
            result=result,
            video=video,
            rounds=attempts,
            success=result.ok,
            transcript=transcript,
            code_path=code_path,
            findings=findings,
            kept_attempt=kept.attempt if kept is not None else attempts,
        )

    def _save(self) -> None:
        if self.transcript_path is not None:
            self.transcript.save(self.transcript_path)


def _size(code: str) -> int:
    return len(code.encode("utf-8", errors="replace"))


def _error_text(result: RenderResult) -> str | None:
    """The error as the docs lookup reads it: `Type: message` plus the traceback tail."""
    err = result.error
    if err is None:
        return None
    text = f"{err.type}: {err.message}"
    if err.traceback:
        text += "\n" + err.traceback[-_API_ERROR_TRACE_CHARS:]
    elif err.line:
        text += f"\n(line {err.line})"
    return text


def _video(result: RenderResult) -> str | None:
    """The main output (the scoring core's rule: the first video, else the first image)."""
    return main_output(result)[0]

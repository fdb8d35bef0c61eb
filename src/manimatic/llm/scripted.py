"""`scripted:FILE.jsonl`: replays fixed replies in order, for tests and for reproducing a run.

Each non-blank line of the file is one JSON object:

    {"content": "reply text"}
    {"content": "reply text", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
    {"error": "timeout", "message": "simulated"}   # raise an LLMError of that kind instead
    {"id": "circle-1", "content": "reply text"}    # a reply for this benchmark task only

Lines with an `"id"` are replies for that task, in order (round 1, round 2...), and each run
(each benchmark condition) replays them from the start: the replay does not depend on which
worker asks first or how many conditions share the script. Lines without an id form one shared
queue, used in order by requests with no task (`generate`) or a task that has no keyed lines.

The backend records every conversation it receives in `calls`, so a test can assert on the
prompts an agent built (e.g. that round 2 carries the render error).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manimatic.llm.base import (
    Backend,
    Completion,
    GenerationOptions,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMNotFoundError,
    LLMResponseError,
    LLMTimeoutError,
    Message,
    ScriptExhaustedError,
    Usage,
    check_messages,
    current_request,
)

# `"error"` values a script line may use to make the backend fail like a real one would.
SCRIPT_ERRORS: dict[str, type[LLMError]] = {
    "connection": LLMConnectionError,
    "auth": LLMAuthError,
    "not_found": LLMNotFoundError,
    "timeout": LLMTimeoutError,
    "response": LLMResponseError,
    "error": LLMError,
}

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass
class ScriptedReply:
    """One parsed line of a script: a reply text, or an error to raise."""

    line: int
    content: str | None = None
    task_id: str | None = None
    usage: Usage | None = None
    error: str | None = None
    message: str | None = None


class ScriptedBackend(Backend):
    """Replays the replies of a JSONL file in order.

    Attributes:
        spec: `scripted:PATH`.
        path: The script file.
        replies: The parsed lines.
        calls: Every `messages` list received, in order (deep copies).
        options: The `GenerationOptions` of every call, in order.
    """

    def __init__(self, path: str | Path, *, spec: str | None = None) -> None:
        """Read and validate the whole script up front, so a typo fails before any call.

        Args:
            path: The JSONL script.
            spec: The spec string it came from (default `scripted:PATH`).

        Raises:
            LLMNotFoundError: The file does not exist.
            LLMError: A line is not a JSON object with a string "content" (or a known "error").
        """
        self.path = Path(path).expanduser()
        self.spec = spec or f"scripted:{path}"
        parsed = _parse_script(self.path)
        self.replies = [r for r in parsed if r.task_id is None]
        self.by_task: dict[str, list[ScriptedReply]] = {}
        for r in parsed:
            if r.task_id is not None:
                self.by_task.setdefault(r.task_id, []).append(r)
        self.calls: list[list[Message]] = []
        self.options: list[GenerationOptions] = []
        self._next = 0
        self._task_next: dict[tuple[Any, Any], int] = {}  # (run, task) -> next keyed reply
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """How many replies of the shared queue are left."""
        return len(self.replies) - self._next

    def _take(self) -> ScriptedReply:
        """The next reply for the current request (call with the lock held)."""
        request = current_request()
        task_id = request.get("task_id")
        keyed = self.by_task.get(task_id) if task_id is not None else None
        if keyed:
            key = (request.get("run_id"), task_id)
            index = self._task_next.get(key, 0)
            if index >= len(keyed):
                raise ScriptExhaustedError(
                    f"scripted backend {self.path} has {len(keyed)} repl"
                    f"{'y' if len(keyed) == 1 else 'ies'} for task {task_id!r} and all were "
                    f'used; add another {{"id": "{task_id}", "content": "..."}} line.'
                )
            self._task_next[key] = index + 1
            return keyed[index]
        if self._next >= len(self.replies):
            n = len(self.replies)
            raise ScriptExhaustedError(
                f"scripted backend {self.path} has {n} repl{'y' if n == 1 else 'ies'} and "
                f"all were used (call {len(self.calls)} asked for another); add more lines "
                'to the file, one {"content": "..."} object per line.'
            )
        reply = self.replies[self._next]
        self._next += 1
        return reply

    def complete(self, messages: list[Message], options: GenerationOptions) -> Completion:
        """Return the next scripted reply (or raise its scripted error).

        Raises:
            ScriptExhaustedError: Every reply was already used.
        """
        start = time.perf_counter()
        check_messages(messages)
        with self._lock:
            self.calls.append(copy.deepcopy(list(messages)))
            self.options.append(copy.deepcopy(options))
            reply = self._take()
        if reply.error is not None:
            error_type = SCRIPT_ERRORS[reply.error]
            raise error_type(
                reply.message or f"scripted {reply.error} error ({self.path} line {reply.line})"
            )
        assert reply.content is not None
        return Completion(
            text=reply.content,
            usage=copy.copy(reply.usage) if reply.usage else Usage(),
            latency_s=time.perf_counter() - start,
            model=self.spec,
            raw={"line": reply.line, "content": reply.content},
        )


def write_script(path: str | Path, replies: Iterable[str]) -> Path:
    """Write replies as a script file for `scripted:PATH` (a convenience for tests).

    Args:
        path: Where to write the JSONL file.
        replies: Reply texts, in the order they should be returned.

    Returns:
        The path written.
    """
    path = Path(path)
    lines = [json.dumps({"content": text}, ensure_ascii=False) for text in replies]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def scripted_factory(rest: str, *, spec: str, **_: Any) -> ScriptedBackend:
    """Registry hook for `scripted:`; server settings (base URL, key, timeout) do not apply."""
    return ScriptedBackend(rest, spec=spec)


def _parse_script(path: Path) -> list[ScriptedReply]:
    if not path.is_file():
        raise LLMNotFoundError(
            f"scripted backend: no such file {path}; write one JSON object per line, "
            'e.g. {"content": "reply text"}.'
        )
    replies: list[ScriptedReply] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                replies.append(_parse_line(path, lineno, line))
    return replies


def _parse_line(path: Path, lineno: int, line: str) -> ScriptedReply:
    where = f"{path} line {lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LLMError(
            f"malformed script {where}: not valid JSON ({exc.msg} at column {exc.colno}); "
            'each line must be one JSON object like {"content": "reply text"}.'
        ) from None
    if not isinstance(obj, dict):
        raise LLMError(
            f"malformed script {where}: expected a JSON object, got {type(obj).__name__}; "
            'write {"content": "reply text"}.'
        )
    task_id = obj.get("id")
    if task_id is not None and not isinstance(task_id, str):
        raise LLMError(
            f'malformed script {where}: "id" must be a task id string, got '
            f"{type(task_id).__name__}."
        )
    if "error" in obj:
        kind = obj["error"]
        if kind not in SCRIPT_ERRORS:
            raise LLMError(
                f"malformed script {where}: unknown error kind {kind!r}; "
                f"use one of {', '.join(sorted(SCRIPT_ERRORS))}."
            )
        message = obj.get("message")
        return ScriptedReply(
            line=lineno, error=kind, message=str(message) if message else None, task_id=task_id
        )
    content = obj.get("content")
    if not isinstance(content, str):
        raise LLMError(
            f'malformed script {where}: "content" must be a string, got '
            f"{'nothing' if content is None else type(content).__name__}; "
            'write {"content": "reply text"}.'
        )
    return ScriptedReply(
        line=lineno, content=content, usage=_parse_usage(where, obj.get("usage")), task_id=task_id
    )


def _parse_usage(where: str, usage: Any) -> Usage | None:
    if usage is None:
        return None
    if not isinstance(usage, dict) or not all(
        isinstance(usage.get(k), int) or usage.get(k) is None for k in _USAGE_KEYS
    ):
        raise LLMError(
            f'malformed script {where}: "usage" must be an object of integer '
            f"{', '.join(_USAGE_KEYS)}; got {usage!r}."
        )
    prompt, completion, total = (usage.get(k) for k in _USAGE_KEYS)
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)

"""The static report's links to each render's video and its collapsed round transcripts.

Videos are linked (`file://` URIs of the rendered files in manimatic's cache), not embedded:
the HTML stays one small file, and `manimatic view` plays the same files in the browser. The
rounds come from `agent.review.round_views`, as the viewer shows them; every string is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".gif", ".png")


def e(text: object) -> str:
    """HTML-escape any value (every report writer's one escape)."""
    return html.escape(str(text), quote=True)


def output_paths(result: Any) -> list[str]:
    """The output files of a stored render result that rendered."""
    if not isinstance(result, dict) or not result.get("ok"):
        return []
    return [str(p) for p in result.get("outputs") or [] if str(p).lower().endswith(VIDEO_SUFFIXES)]


def video_links_html(result: Any) -> str:
    """`<a href="file:///...">` per output of a render ("" when there is none)."""
    links = []
    for path in output_paths(result):
        p = Path(path)
        note = "" if p.exists() else " (file gone)"
        links.append(f'<a href="{e(p.resolve().as_uri())}">{e(p.name)}</a>{e(note)}')
    return '<p class="foot">video: ' + " · ".join(links) + "</p>" if links else ""


def video_links_markdown(result: Any) -> list[str]:
    """The same links as Markdown lines."""
    return [f"video: [{Path(p).name}]({Path(p).resolve().as_uri()})" for p in output_paths(result)]


def transcript_html(rounds: list[Any]) -> str:
    """Every round (`TaskEntry.rounds`) in one collapsed `<details>` ("" without rounds)."""
    if not rounds:
        return ""
    out = [f'<details class="code"><summary>round transcripts ({len(rounds)} call(s))</summary>']
    for r in rounds:
        outcome = "rendered" if r.ok else ("failed" if r.ok is False else "not rendered")
        out.append(
            f"<details><summary>round {r.index} · attempt {r.attempt} · {e(r.kind)} · "
            f"{outcome}</summary>"
        )
        if r.error:
            out.append(f'<div class="error">{e(r.error)}</div>')
        for label, text in (("prompt", r.prompt), ("reply", r.reply), ("feedback", r.feedback)):
            if text:
                out.append(f"<b>{label}</b><pre>{e(text)}</pre>")
        out.append("</details>")
    out.append("</details>")
    return "".join(out)


def transcript_markdown(rounds: list[Any]) -> list[str]:
    """The rounds (`TaskEntry.rounds`) as a collapsed `<details>` block of Markdown lines."""
    if not rounds:
        return []
    out = [f"<details><summary>round transcripts ({len(rounds)} call(s))</summary>", ""]
    for r in rounds:
        outcome = "rendered" if r.ok else ("failed" if r.ok is False else "not rendered")
        out += [f"**round {r.index}** (attempt {r.attempt}, {r.kind}): {outcome}", ""]
        for label, text in (("prompt", r.prompt), ("reply", r.reply), ("feedback", r.feedback)):
            if text:
                fence = "~~~~" if "```" in text else "```"
                out += [f"{label}:", "", fence, text.rstrip("\n"), fence, ""]
    out += ["</details>", ""]
    return out

"""HTML for notebooks: a rendered video or image inline (`_repr_html_` of the result types)."""

from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path

# Above this a file is linked by path instead of embedded (a notebook carries what it embeds).
MAX_INLINE_BYTES = 25_000_000

_MIME = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".gif": "image/gif",
    ".png": "image/png",
}


def media_html(path: str | Path, *, width: int = 480) -> str:
    """An inline `<video>` (mp4/webm/mov) or `<img>` (gif/png) for one output file.

    Args:
        path: The video or image.
        width: Display width in pixels.

    Returns:
        HTML; the file is embedded as a data URI when under `MAX_INLINE_BYTES`, else linked.
    """
    path = Path(path)
    mime = _MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
    if not path.is_file():
        return f"<p><code>{html.escape(str(path))}</code> (file not found)</p>"
    if path.stat().st_size <= MAX_INLINE_BYTES:
        src = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    else:
        src = html.escape(path.resolve().as_uri())
    if mime.startswith("video/"):
        return (
            f'<video controls loop width="{width}" src="{src}" '
            f'title="{html.escape(path.name)}"></video>'
        )
    return f'<img width="{width}" src="{src}" alt="{html.escape(path.name)}"/>'


def status_html(ok: bool, text: str) -> str:
    """One status line, green or red."""
    colour = "#1a7f37" if ok else "#cf222e"
    word = "ok" if ok else "failed"
    return f'<p><b style="color:{colour}">{word}</b> {html.escape(text)}</p>'

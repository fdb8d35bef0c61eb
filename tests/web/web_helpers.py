"""Scenes, scripted replies and a headless Chromium for the viewer tests."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

CIRCLE = (
    "from manim import *\n\n\nclass WebCircle(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.play(Create(Circle(color=BLUE)), run_time=0.5)\n"
)
SQUARE = (
    "from manim import *\n\n\nclass WebSquare(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.play(FadeIn(Square(color=RED)), run_time=0.5)\n"
)
BROKEN = (
    "from manim import *\n\n\nclass WebBroken(Scene):\n    def construct(self):\n"
    "        # {nonce}\n        self.play(ShowCreation(Circle()))\n"
)
# LLM-written text that would run script if a page inserted it unescaped.
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def scene(template: str, nonce: str) -> str:
    return template.replace("{nonce}", nonce)


def reply(code: str, before: str = "") -> str:
    return f"{before}<CODE>```python\n{code}```</CODE>"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def find_browser() -> tuple[str, str] | None:
    """Debian's chromium and its chromedriver, or None."""
    binary = next((p for p in CHROMIUM if Path(p).is_file()), None) or shutil.which("chromium")
    driver = next((p for p in CHROMEDRIVER if Path(p).is_file()), None) or shutil.which(
        "chromedriver"
    )
    return (binary, driver) if binary and driver else None


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate()` until it returns a truthy value; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")

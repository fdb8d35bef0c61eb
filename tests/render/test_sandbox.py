"""Hostile code: every escape attempt ends as a categorized error in bounded time, and the pool
keeps serving. Real bubblewrap (when present), real rlimits, real processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from manimatic.render import RenderCache, RenderPool
from manimatic.render.sandbox import bwrap_path

GOOD = (
    "from manim import *\n\nclass Ok(Scene):\n    def construct(self):\n        self.add(Dot())\n"
)


def scene(body: str) -> str:
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return f"from manim import *\nimport os, sys, socket, subprocess\n\nclass S(Scene):\n    def construct(self):\n{body}\n        self.add(Dot())\n"


def _still_serving(pool: RenderPool) -> None:
    result = pool.render(GOOD, use_cache=False)
    assert result.ok, result.error


def test_write_outside_job_dir_is_refused(render_pool, tmp_path):
    target = tmp_path / "escape.txt"
    result = render_pool.render(scene(f"open({str(target)!r}, 'w').write('x')"), preflight=False)
    assert (result.stage, result.error.category) == ("sandbox", "sandbox")
    assert result.error.line == 6
    assert not target.exists()
    _still_serving(render_pool)


def test_os_level_write_outside_is_refused(render_pool, tmp_path):
    target = tmp_path / "escape2.txt"
    code = scene(f"fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'x')")
    result = render_pool.render(code, preflight=False)
    assert result.error.category == "sandbox"
    assert not target.exists()


def test_network_is_unreachable_even_on_loopback(render_pool):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    code = scene(f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')")
    result = render_pool.render(code, preflight=False)
    thread.join()
    server.close()
    assert (result.stage, result.error.category) == ("sandbox", "sandbox")
    assert "network" in result.error.message
    assert accepted == []


@pytest.mark.parametrize(
    "body",
    [
        "subprocess.Popen(['sleep', '300'], start_new_session=True)",
        "os.system('sleep 300 &')",
        "pid = os.fork()\nif pid == 0:\n    import time; time.sleep(300)",
        "while True:\n    os.fork()",
    ],
    ids=["detached-popen", "shell-background", "fork", "fork-bomb"],
)
def test_processes_are_refused_and_none_survive(render_pool, body):
    before = _sleepers()
    started = time.monotonic()
    result = render_pool.render(scene(body), preflight=False)
    assert (result.stage, result.error.category) == ("sandbox", "sandbox")
    assert "process" in result.error.message
    assert time.monotonic() - started < 30
    assert _sleepers() <= before
    _still_serving(render_pool)


def test_fake_tex_tool_in_job_dir_is_refused(render_pool):
    code = scene("os.symlink('/bin/sh', 'latex')\nsubprocess.run(['./latex', '-c', 'sleep 300 &'])")
    result = render_pool.render(code, preflight=False)
    assert result.error is not None and result.error.category == "sandbox", result


def test_memory_bomb_is_a_memory_error(render_pool):
    result = render_pool.render(scene("x = bytearray(16 * 1024 ** 3)"), preflight=False)
    assert (result.ok, result.error.category) == (False, "memory")
    _still_serving(render_pool)


def test_ctypes_is_refused(render_pool):
    result = render_pool.render(scene("import ctypes\nctypes.CDLL(None).getpid()"), preflight=False)
    assert result.error.category == "sandbox"


def test_huge_file_write_hits_the_file_size_limit(render_pool):
    code = scene("with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**24)")
    result = render_pool.render(code, preflight=False, timeout=30)
    assert not result.ok and result.error.category in {"sandbox", "timeout"}
    _still_serving(render_pool)


def test_sys_exit_and_os_exit_are_failures_not_crashes(render_pool):
    exited = render_pool.render(scene("sys.exit(0)"), preflight=False)
    assert not exited.ok and exited.error.type == "SystemExit"
    hard = render_pool.render(scene("os._exit(0)"), preflight=False)
    assert not hard.ok and hard.stage == "execute"
    _still_serving(render_pool)


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not available here")
def test_bwrap_hides_home_and_makes_root_read_only(render_pool):
    # Even bypassing the audit hook's checks (reading is allowed), the filesystem is read-only.
    code = scene("print(os.listdir('/root') if os.path.isdir('/root') else 'none')")
    result = render_pool.render(code, preflight=False)
    assert result.ok
    assert ".bashrc" not in result.stdout


def test_pool_without_bwrap_still_limits(tmp_path):
    with RenderPool(1, sandbox="none", cache=RenderCache(tmp_path / "c")) as pool:
        assert pool.render(GOOD).ok
        escape = tmp_path / "x.txt"
        result = pool.render(scene(f"open({str(escape)!r}, 'w')"), preflight=False)
        assert result.error.category == "sandbox" and not escape.exists()
        timed = pool.render(scene("while True:\n    pass"), preflight=False, timeout=1.5)
        assert timed.error.category == "timeout"


def test_kill_leftovers_reaps_detached_grandchildren(tmp_path):
    """The worker's cleanup on its own: a job that escaped into a new session is still killed."""
    marker = tmp_path / "pid"
    script = textwrap.dedent(f"""
        import os, subprocess, sys, time
        from manimatic.render.worker import _prctl, kill_leftovers
        _prctl(36, 1)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            p = subprocess.Popen(['sleep', '300'], start_new_session=True)
            open({str(marker)!r}, 'w').write(str(p.pid))
            os._exit(0)
        time.sleep(0.5)
        print(kill_leftovers(pid))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 1
    sleeper = int(marker.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{sleeper}").exists() or "Z" in _state(sleeper)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _sleepers() -> int:
    """Live `sleep 300` processes on the machine."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"sleep\x00300") and _state(int(entry)) != "Z":
                count += 1
    return count


def test_refusal_wrapped_by_a_library_is_still_sandbox(render_pool):
    code = scene("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/', timeout=2)")
    result = render_pool.render(code, preflight=False)
    assert (result.stage, result.error.category) == ("sandbox", "sandbox")
    assert result.error.type == "URLError"

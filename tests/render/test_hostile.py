"""The host side against a hostile job: real attack scenes through a real pool (bubblewrap when
present). Each class of the second hostile corpus fails closed with a categorized error, no host
file is moved or read, job text never reaches results unbounded, and results never shift."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from manimatic.render import Limits, RenderCache, RenderPool
from manimatic.render.sandbox import bwrap_path

HEADER = "from manim import *\nimport os, sys, json, signal\n\n"
GOOD = HEADER + "class Ok(Scene):\n    def construct(self):\n        self.add(Dot())\n"
ANIMATED = (
    HEADER
    + "class Anim(Scene):\n    def construct(self):\n        self.play(Create(Circle()), run_time=0.2)\n"
)
# Python's audit hook is not a boundary: a job can take `sys.audit` away from `subprocess` and
# start processes anyway. The tests below use that to reach the layers that are boundaries.
NO_AUDIT = textwrap.dedent("""
    import subprocess, types
    subprocess.sys = types.SimpleNamespace(**{k: getattr(sys, k) for k in dir(sys) if not k.startswith('__')})
    subprocess.sys.audit = lambda *a: None
""")


def construct(body: str, name: str = "S", prelude: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return f"{HEADER}{prelude}\nclass {name}(Scene):\n    def construct(self):\n{body}\n"


def after_render(body: str, *, still: bool = False) -> str:
    """A scene that renders normally, then runs `body` on its own output (`out` is its path)."""
    draw = "self.add(Dot())" if still else "self.play(Create(Circle()), run_time=0.2)"
    attr = "image_file_path" if still else "movie_file_path"
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return (
        f"{HEADER}class S(Scene):\n    def construct(self):\n        {draw}\n\n"
        f"    def render(self, *a, **k):\n        r = super().render(*a, **k)\n"
        f"        out = str(self.renderer.file_writer.{attr})\n{body}\n        return r\n"
    )


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """One worker, so every job follows the previous one on the same worker; a 64 MiB disk."""
    cache = RenderCache(tmp_path_factory.mktemp("hostile-cache"))
    with RenderPool(1, cache=cache, limits=Limits(disk_mb=64)) as p:
        yield p


@pytest.fixture
def secret(tmp_path):
    """A host file outside every job directory that no job may move, copy or read."""
    path = tmp_path / "secret.txt"
    path.write_text(f"TOPSECRET-{uuid.uuid4().hex}\n")
    path.chmod(0o600)
    return path


def _leaked(pool: RenderPool, result, needle: str) -> list[str]:
    """Where `needle` shows up: the result, its files, the cache and the worker scratch."""
    found = []
    if needle in json.dumps(result.to_dict(logs=True)):
        found.append("result")
    roots = [pool.store.root, pool.runner.scratch_root]
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if needle.encode() in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass
    return found


def _ok(pool: RenderPool) -> None:
    result = pool.render(GOOD, use_cache=False)
    assert result.ok, result.error


# --------------------------------------------------------------------- 1. output paths


@pytest.mark.parametrize("where", ["absolute", "dotdot", "result.json"])
def test_forged_report_pointing_at_a_host_file_moves_and_copies_nothing(pool, secret, where):
    """The job writes its own report (and a result.json, the old channel) naming a host file."""
    target = str(secret) if where != "dotdot" else "../../../../../../../.." + str(secret)
    claim = {"ok": True, "stage": None, "error": None, "scenes": ["S"], "outputs": [target]}
    name = "result.json" if where == "result.json" else "report.json"
    code = construct(f"open({name!r}, 'w').write(json.dumps({claim!r}))\nos._exit(0)")
    content = secret.read_text()
    result = pool.render(code, preflight=False, use_cache=False)
    assert not result.ok
    assert result.error.category in {"sandbox", "other_runtime"}, result.error
    assert secret.read_text() == content  # still there, unchanged
    assert _leaked(pool, result, content.strip()) == []
    assert result.outputs == []
    _ok(pool)


def test_symlinked_video_is_refused_not_followed(pool, secret):
    code = after_render("os.remove(out)\nos.symlink(" + repr(str(secret)) + ", out)")
    content = secret.read_text()
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.stage, result.error.category) == (False, "sandbox", "sandbox")
    assert result.error.type == "UnsafeOutput" and "symlink" in result.error.message
    assert secret.read_text() == content and not secret.is_symlink()
    assert _leaked(pool, result, content.strip()) == []
    assert pool.cache.get(pool_key(code)) is None  # nothing unvalidated is cached
    _ok(pool)


def test_video_dir_swapped_for_a_symlink_to_a_real_video_elsewhere(pool, tmp_path):
    """Even a valid video is refused when it is reached through a symlink out of the job."""
    real = pool.render(ANIMATED, use_cache=False)
    assert real.ok
    planted = tmp_path / "planted"
    planted.mkdir()
    shutil.copy(real.outputs[0], planted / "S.mp4")
    planted.chmod(0o755)
    rel = "media/videos/scene/480p15/S.mp4"
    claim = {"ok": True, "stage": None, "error": None, "scenes": ["S"], "outputs": [rel]}
    code = after_render(
        "d = os.path.dirname(out)\nimport shutil\nshutil.rmtree(d)\n"
        f"os.symlink({str(planted)!r}, d)\n"
        f"open('report.json', 'w').write(json.dumps({claim!r}))\nos._exit(0)"
    )
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.error.category, result.error.type) == (
        False,
        "sandbox",
        "UnsafeOutput",
    )
    assert (planted / "S.mp4").is_file()  # not moved away


def test_symlink_to_etc_shadow_never_reaches_any_output(pool):
    if not Path("/etc/shadow").is_file():
        pytest.skip("no /etc/shadow here")
    code = after_render("os.remove(out)\nos.symlink('/etc/shadow', out)")
    result = pool.render(code, preflight=False, use_cache=False)
    assert not result.ok and result.error.type == "UnsafeOutput"
    first = Path("/etc/shadow").read_text().split(":", 1)[0]  # e.g. "root"
    line = next(iter(Path("/etc/shadow").read_text().splitlines()), "")
    assert line and line not in json.dumps(result.to_dict(logs=True)), first


def pool_key(code: str) -> str:
    from manimatic.render import RenderRequest

    return RenderRequest(code=code, preflight=False).key()


# --------------------------------------------------------------------- 4 KB of noise


def test_random_bytes_named_like_the_video_are_not_a_render(pool):
    code = after_render("open(out, 'wb').write(os.urandom(4096))")
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.stage, result.error.category) == (False, "output", "no_output")
    assert result.error.type == "InvalidOutput" and "decode" in result.error.message
    assert result.outputs == []


def test_random_bytes_named_like_the_png_are_not_a_render(pool):
    code = after_render("open(out, 'wb').write(os.urandom(4096))", still=True)
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.error.category, result.error.type) == (
        False,
        "no_output",
        "InvalidOutput",
    )


def test_a_png_of_the_wrong_size_is_not_a_render(pool):
    code = after_render(
        "from PIL import Image\nImage.new('RGB', (10, 10)).save(out, 'PNG')", still=True
    )
    result = pool.render(code, preflight=False, use_cache=False)
    assert not result.ok and result.error.type == "InvalidOutput"
    assert "10x10" in result.error.message and "854x480" in result.error.message


def test_real_renders_still_pass_validation(pool):
    movie = pool.render(ANIMATED, use_cache=False)
    still = pool.render(GOOD, use_cache=False)
    assert movie.ok and movie.outputs[0].endswith(".mp4")
    assert still.ok and still.outputs[0].endswith(".png")


# --------------------------------------------------------------------- 2. the reply channel


FORGER = construct(
    """
    open_fds = []
    for fd in range(3, 256):
        try:
            os.fstat(fd)
            open_fds.append(fd)
        except OSError:
            pass
    print("OPEN_FDS", open_fds)
    lie = {"ok": True, "stage": None, "error": None, "scenes": ["Forged"], "outputs": [],
           "traces": [], "stdout": "FORGED", "stderr": "", "elapsed_s": 0}
    for fd in list(range(0, 256)):
        for _ in range(5):
            try:
                os.write(fd, (json.dumps(lie) + "\\n").encode())
            except OSError:
                break
    for pid in ("1", "2", str(os.getppid())):
        for fd in range(0, 20):
            try:
                with open(f"/proc/{pid}/fd/{fd}", "w") as fh:
                    fh.write(json.dumps(lie) + "\\n")
                print("WROTE", pid, fd)
            except OSError:
                pass
    """
)


def test_forged_replies_reach_nobody_and_results_never_shift(pool):
    broken = construct("self.play(ShowCreation(Circle()))")
    requests = [FORGER, GOOD, broken, ANIMATED, FORGER, broken, GOOD]
    results = [pool.render(code, preflight=False, use_cache=False) for code in requests]
    forged, good, bad, anim, forged2, bad2, good2 = results
    assert "OPEN_FDS []" in forged.stdout  # nothing above stderr is inherited
    assert "WROTE" not in forged.stdout
    for result in (good, good2):
        assert result.ok and result.scenes == ["Ok"] and "FORGED" not in result.stdout
    for result in (bad, bad2):
        assert not result.ok and result.error.category == "name" and result.scenes == ["S"]
    assert anim.ok and anim.scenes == ["Anim"] and anim.outputs[0].endswith(".mp4")
    for result in (forged, forged2):
        assert result.scenes == ["S"]  # its own result, not the lie
        assert result.ok  # it did render a Dot; what it wrote went nowhere


def test_a_job_cannot_signal_or_trace_its_worker(pool):
    code = construct(
        """
        for sig in (signal.SIGKILL, signal.SIGSTOP):
            try:
                os.kill(os.getppid(), sig)
                print("SIGNALLED")
            except OSError as exc:
                print("refused", exc.errno)
        try:
            os.listdir(f"/proc/{os.getppid()}/fd")
            print("LISTED")
        except OSError:
            print("refused fd")
        """
    )
    result = pool.render(code, preflight=False, use_cache=False, timeout=20)
    if os.geteuid() == 0:  # separate uids only when started as root
        assert "SIGNALLED" not in result.stdout and "LISTED" not in result.stdout
        assert result.ok
    _ok(pool)


# --------------------------------------------------------------------- 3. logs read back


def test_logs_swapped_for_symlinks_cannot_read_host_files(pool, secret):
    targets = [str(secret), "/etc/shadow"]
    code = construct(
        f"""
        print("before")
        for fd in (1, 2):
            path = os.readlink(f"/proc/self/fd/{{fd}}")
            for target in {targets!r}:
                try:
                    os.remove(path)
                    os.symlink(target, path)
                    print("SWAPPED", path)
                except OSError as exc:
                    print("refused", type(exc).__name__)
        for name in ("stdout.log", "stderr.log", "../stdout.log", "../stderr.log"):
            try:
                if os.path.lexists(name):
                    os.remove(name)
                os.symlink({str(secret)!r}, name)
            except OSError:
                pass
        print("after")
        """
    )
    content = secret.read_text().strip()
    result = pool.render(code, preflight=False, use_cache=False)
    assert "before" in result.stdout and "after" in result.stdout
    assert content not in result.stdout + result.stderr
    assert _leaked(pool, result, content) == []
    if Path("/etc/shadow").is_file():
        shadow = Path("/etc/shadow").read_text().splitlines()[0]
        assert shadow not in result.stdout + result.stderr
    assert secret.read_text().strip() == content


# --------------------------------------------------------------------- 4. smaller classes


def test_user_namespaces_are_refused_even_past_the_audit_hook(pool):
    probe = "import ctypes; print('UNSHARE', ctypes.CDLL(None, use_errno=True).unshare(0x10020000), ctypes.get_errno())"
    code = construct(
        f"out = subprocess.run([sys.executable, '-c', {probe!r}], capture_output=True, text=True)\n"
        "print(out.stdout, out.stderr)",
        prelude=NO_AUDIT,
    )
    result = pool.render(code, preflight=False, use_cache=False)
    assert "UNSHARE -1 1" in result.stdout, result.stdout + result.stderr  # EPERM
    _ok(pool)


@pytest.mark.skipif(bwrap_path() is None, reason="the disk cap is a bubblewrap tmpfs")
def test_filling_the_disk_stops_at_the_job_quota(pool):
    code = construct(
        """
        print("SIZE_MB", os.statvfs('.').f_blocks * os.statvfs('.').f_frsize // 2**20, flush=True)
        chunk = b"0" * 2**22
        for i in range(1000):
            with open(f"fill{i}.bin", "wb") as fh:
                for _ in range(8):
                    fh.write(chunk)
        """
    )
    result = pool.render(code, preflight=False, use_cache=False, timeout=60)
    assert (result.ok, result.error.category) == (False, "sandbox"), result.error
    assert "No space left" in result.error.message
    assert "SIZE_MB 64" in result.stdout
    _ok(pool)  # the next job has its space back


def test_segfault_is_reported_as_a_crash_not_memory(pool):
    code = construct("import faulthandler\nfaulthandler._sigsegv()")
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.stage, result.error.category) == (False, "execute", "other_runtime")
    assert "SIGSEGV" in result.error.message and "memory" not in result.error.message.lower()
    assert result.error.type == "Crash"


def test_leftover_processes_are_counted_once_each(pool):
    code = construct(
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)",
        prelude=NO_AUDIT,
    )
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.error.type) == (False, "LeftoverProcess")
    assert "left 2 process(es)" in result.error.message
    _ok(pool)


def test_unknown_category_and_stage_in_a_report_become_sandbox(pool):
    claim = {
        "ok": False,
        "stage": "pwned",
        "error": {"category": "[/]bogus", "type": "X" * 500, "message": "m" * 100_000},
        "scenes": ["S"],
    }
    code = construct(f"open('report.json', 'w').write(json.dumps({claim!r}))\nos._exit(0)")
    result = pool.render(code, preflight=False, use_cache=False)
    assert (result.ok, result.stage, result.error.category) == (False, "sandbox", "sandbox")
    assert len(result.error.type) <= 100 and len(result.error.message) <= 4000


# --------------------------------------------------------------------- the protocol, in isolation


FAKE_WORKER = """
import json, sys
print(json.dumps({"ready": True}), flush=True)
for n, line in enumerate(sys.stdin):
    job = json.loads(line)
    mode = job["code"]
    if mode == "garbage":
        print("this is not json", flush=True)
    elif mode == "wrong-id":
        print(json.dumps({"ok": True, "id": "someone-else"}), flush=True)
    elif mode == "two":
        print(json.dumps({"ok": True, "id": job["id"], "outputs": []}), flush=True)
        print(json.dumps({"ok": True, "id": "next"}), flush=True)
    else:
        print(json.dumps({"ok": False, "id": job["id"], "stage": "execute",
              "error": {"category": "name", "type": "NameError", "message": mode}}), flush=True)
"""


def test_malformed_replies_fail_that_job_and_restart_the_worker(tmp_path, monkeypatch):
    from manimatic.render import pool as pool_mod

    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)

    def fake_start(self):
        self._make_scratch()
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        assert json.loads(self._read_line(30))["ready"]

    monkeypatch.setattr(pool_mod._Worker, "start", fake_start)
    runner = pool_mod.LocalRunner(1, sandbox="none")
    try:
        job = {"timeout": 5, "limits": Limits().to_dict()}
        for mode in ("garbage", "wrong-id"):
            reply = runner.run({**job, "code": mode})
            assert reply["error"]["type"] == "ProtocolError", reply
            assert runner._idle.queue[0].proc is None  # killed: the next job gets a fresh one
        first = runner.run({**job, "code": "two"})
        assert first["ok"] is True
        after = runner.run({**job, "code": "mine"})
        # The stray line answers nobody: this job fails as sandbox rather than take it.
        assert after["error"]["type"] == "ProtocolError"
        again = runner.run({**job, "code": "mine"})
        assert again["error"]["message"] == "mine"
    finally:
        runner.close()


def test_result_from_reply_reduces_anything_to_the_contract():
    from manimatic.render.pool import result_from_reply

    for reply in ("x", None, [], {"ok": "yes"}, {"ok": True, "error": "bad", "outputs": 3}):
        result = result_from_reply(reply)
        assert not result.ok and result.error.category in {"sandbox", "no_output"}
    odd = result_from_reply({"ok": False, "stage": "?", "error": {"category": "nope"}})
    assert (odd.stage, odd.error.category) == ("sandbox", "sandbox")
    claims_ok = result_from_reply({"ok": True, "error": None, "outputs": []})
    assert not claims_ok.ok and claims_ok.error.category == "no_output"


# --------------------------------------------------------------------- pool start


def test_root_without_bwrap_refuses_unless_sandbox_none(monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("the refusal is for root")
    from manimatic.render import RenderPoolError, sandbox
    from manimatic.render.pool import LocalRunner

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(RenderPoolError) as info:
        LocalRunner(1, sandbox="auto")
    message = str(info.value)
    assert "\n" not in message
    assert "apt install bubblewrap" in message and "--sandbox none" in message
    LocalRunner(1, sandbox="none").close()  # explicit: allowed


def test_stale_scratch_of_a_killed_pool_is_reclaimed(tmp_path):
    from manimatic.render import scratch

    parent = tmp_path / "scratch"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from manimatic.render import scratch; "
            f"s = scratch.create(Path({str(parent)!r})); print(s.root, flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    stale_dir = Path(holder.stdout.readline().strip())
    (stale_dir / "w0").mkdir()
    (stale_dir / "w0" / "big.bin").write_bytes(b"0" * 1000)
    alive = scratch.create(parent)  # while the holder lives, its dir stays
    assert stale_dir.exists()
    holder.kill()  # kill -9: no cleanup ran
    holder.wait()
    legacy = parent / "pool-999999999-old"
    legacy.mkdir()
    again = scratch.create(parent)
    assert not stale_dir.exists() and not legacy.exists()
    assert alive.root.exists() and again.root.exists()
    alive.close()
    again.close()


def test_job_disk_size_is_configurable():
    from manimatic.render.sandbox import bwrap_command

    cmd = bwrap_command("bwrap", Path("/s"), ["true"], job_root=Path("/s/job"), disk_mb=7)
    at = cmd.index("--tmpfs", cmd.index("--size"))
    assert cmd[cmd.index("--size") + 1] == str(7 * 1024 * 1024) and cmd[at + 1] == "/s/job"
    assert Limits().disk_mb == 1024


# --------------------------------------------------------------------- human output


MARKUP = construct(
    'print("[/] [bold red]x[/] \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07")\n'
    'raise ValueError("[/] [link=http://x]y[/link] \\x1b[2J\\x1b[31mboom\\r")'
)


def test_cli_human_output_escapes_markup_and_strips_control_codes(tmp_path):
    (tmp_path / "markup.py").write_text(MARKUP)
    (tmp_path / "forger.py").write_text(FORGER)
    (tmp_path / "good.py").write_text(GOOD)
    cli = [sys.executable, "-c", "from manimatic.cli import main; main()", "render"]
    files = ["markup.py", "forger.py", "good.py"]
    env = {**os.environ, "TERM": "xterm-256color"}
    human = subprocess.run(
        [*cli, *files, "--workers", "1", "--no-preflight"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert "Traceback" not in human.stderr, human.stderr
    assert "\x1b" not in human.stdout and "\r" not in human.stdout and "\x07" not in human.stdout
    assert "[/]" in human.stdout and "boom" in human.stdout
    as_json = subprocess.run(
        [*cli, *files, "--workers", "1", "--no-preflight", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [Path(r["file"]).name for r in lines] == files  # exactly one result per input
    assert [r["ok"] for r in lines] == [False, True, True]
    assert lines[0]["error"]["category"] == "value"


def test_safe_text_strips_controls_and_escapes_markup():
    from rich.console import Console

    from manimatic.commands._common import safe_text

    raw = "a[/]b [bold]c\x1b[31md\x1b]0;t\x07e\r\x00f\tg\nh\x9b"
    cleaned = safe_text(raw)
    console = Console(record=True, width=200, color_system=None)
    console.print(cleaned)
    shown = console.export_text()
    assert shown.replace("        ", "\t").strip() == "a[/]b [bold]cdef\tg\nh"
    assert "\x1b" not in cleaned and "\r" not in cleaned


def test_host_tmp_stays_hidden_whatever_sys_path_holds(pool, secret, monkeypatch):
    from manimatic.render.sandbox import bwrap_command

    monkeypatch.setattr(sys, "path", ["/tmp", "/tmp", *sys.path])  # a script run from /tmp
    cmd = bwrap_command("bwrap", Path("/x/s"), ["true"])
    binds = {(cmd[i + 1], cmd[i + 2]) for i, arg in enumerate(cmd) if arg == "--ro-bind"}
    assert ("/tmp", "/tmp") not in binds
    code = construct(f"print('VISIBLE' if os.path.exists({str(secret)!r}) else 'HIDDEN')")
    result = pool.render(code, preflight=False, use_cache=False)
    if bwrap_path() is not None:
        assert "HIDDEN" in result.stdout, result.stdout

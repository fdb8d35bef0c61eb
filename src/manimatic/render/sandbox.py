"""Isolation for LLM-written code: bubblewrap around the worker pool, limits inside each job.

Layers, outermost first:

1. bubblewrap (when available) around each warm worker: read-only root, private /tmp, home
   directories hidden, only the worker's scratch dir writable, no network (a private loopback),
   private PID namespace, dies with its parent.
2. Per job (in the forked child): rlimits on address space, CPU seconds, file size and processes;
   a new session so the whole process group can be killed on timeout; when running as root, the
   job drops to an unprivileged uid so the process limit applies (root is exempt from it), and a
   seccomp filter refuses new user namespaces (so the job cannot regain capabilities in one).
3. An audit hook in the job that refuses network, process creation (except the TeX tools manim
   itself runs), ctypes calls and writes outside the job dir. The hook is not a security boundary
   by itself (layers 1-2 are); it turns attempts into a clear `sandbox` error instead of a
   confusing failure later.
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
import sys
import warnings
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from manimatic.render.errors import SandboxViolation

# Programs manim runs itself (LaTeX to SVG, optional ffmpeg): the only ones a job may start.
ALLOWED_PROGRAMS = frozenset(
    {"latex", "pdflatex", "xelatex", "lualatex", "dvisvgm", "ffmpeg", "ffprobe", "kpsewhich"}
)
UNPRIVILEGED_UID = 65534  # nobody: the job
# The worker's own uid when started as root: neither root nor the job's, so the job can neither
# signal nor trace it, nor write where the worker stages validated outputs. No account uses it.
WORKER_UID = 65533
# Capabilities a root-started worker keeps (permitted, not effective: it runs as WORKER_UID and
# switches back only to set up and clean up a job). bwrap drops every other one, SYS_ADMIN too.
WORKER_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_KILL",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
)
DEFAULT_DISK_MB = 1024  # size of the job directory's tmpfs under bubblewrap
_PATH_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate"}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one render job."""

    memory_mb: int = 4096  # address space; manim itself maps ~1.5 GB of virtual memory
    cpu_s: int | None = None  # default: timeout + 10 s (a backstop; the wall-clock timeout rules)
    file_mb: int = 512  # largest file a job may write (videos, logs)
    processes: int = 64  # per unprivileged uid; LaTeX needs a few
    disk_mb: int = DEFAULT_DISK_MB  # the job directory's tmpfs (bubblewrap only; set per worker)

    def to_dict(self) -> dict:
        return asdict(self)


@cache
def bwrap_path() -> str | None:
    """Path of a bubblewrap that works here, or None."""
    path = shutil.which("bwrap")
    if not path:
        return None
    import subprocess

    probe = [path, "--ro-bind", "/", "/", "--unshare-net", "--die-with-parent", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return path if ok else None


_warned_no_bwrap = False


def warn_no_bwrap_once() -> None:
    global _warned_no_bwrap
    if not _warned_no_bwrap:
        _warned_no_bwrap = True
        warnings.warn(
            "bubblewrap (bwrap) is not available: rendering with rlimits, an audit hook and a "
            "timeout only. Install it (apt install bubblewrap) for filesystem and network "
            "isolation.",
            RuntimeWarning,
            stacklevel=3,
        )


def _closed_ancestor(path: Path) -> Path | None:
    """The topmost ancestor of `path` that other users cannot traverse (e.g. /root)."""
    for parent in reversed(path.parents):
        if parent == Path("/"):
            continue
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return parent
        except OSError:
            return None
    return None


def runtime_paths() -> list[Path]:
    """Directories the worker must read: the interpreter, the venv, manimatic's own source."""
    import manimatic

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(manimatic.__file__).parent.parent}
    # sys.path[0] is the host's script directory (or its cwd): the worker, run with -m and the
    # PYTHONPATH it is given, never needs it, and re-binding it would expose it (a script in
    # /tmp would re-expose all of the host's /tmp) to every job.
    entries = sys.path[1:] + os.environ.get("PYTHONPATH", "").split(os.pathsep)
    paths |= {Path(p) for p in entries if p and Path(p).is_dir()}
    return sorted({p.resolve() for p in paths})


def bwrap_command(
    bwrap: str,
    scratch: Path,
    argv: list[str],
    *,
    job_root: Path | None = None,
    disk_mb: int = DEFAULT_DISK_MB,
    privileged: bool = False,
) -> list[str]:
    """The bubblewrap command line that runs `argv` with only `scratch` writable.

    `job_root` (inside `scratch`) becomes a tmpfs of `disk_mb` MiB: the job writes only there, so
    a job that fills its disk fills that and nothing else. `privileged` (started as root): keep
    only `WORKER_CAPS`, never CAP_SYS_ADMIN (no remounting the read-only root).
    """
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    # Hide home directories (keys, tokens, other projects); re-expose what Python needs.
    hidden = [p for p in ("/root", "/home") if Path(p).is_dir()]
    for path in hidden:
        cmd += ["--tmpfs", path]
    roots = [Path(h) for h in [*hidden, "/tmp"]]
    # Never a hidden root itself: binding all of /tmp or /home back would undo the hiding.
    rebinds = [
        p
        for p in runtime_paths()
        if p.exists() and p not in roots and any(p.is_relative_to(r) for r in roots)
    ]
    # Directories bwrap creates on the way to a mount point are private (0700); a job that runs
    # as `nobody` must traverse them, so create them open first.
    between = sorted(
        {
            a
            for p in [*rebinds, scratch.resolve()]
            for a in p.parents
            if any(a.is_relative_to(r) and a != r for r in roots)
        }
    )
    for directory in between:
        cmd += ["--perms", "0755", "--dir", str(directory)]
    for path in rebinds:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(scratch), str(scratch)]
    if job_root is not None:
        size = max(1, int(disk_mb)) * 1024 * 1024
        cmd += ["--perms", "0711", "--size", str(size), "--tmpfs", str(job_root)]
    if privileged:
        cmd += ["--cap-drop", "ALL"]
        for cap in WORKER_CAPS:
            cmd += ["--cap-add", cap]
    cmd += [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--chdir",
        str(scratch),
        "--",
        *argv,
    ]
    return cmd


def can_drop_privileges() -> bool:
    """Root is exempt from RLIMIT_NPROC; a job drops to `nobody` when that user can run Python."""
    if os.geteuid() != 0:
        return False
    # Under bwrap the closed home directories are replaced by open tmpfs mounts, so only check
    # outside of them when not sandboxed; the worker passes the answer in its job config.
    return all(_closed_ancestor(p) is None for p in runtime_paths())


def set_job_limits(limits: Limits, timeout_s: float, drop_to_uid: int | None) -> None:
    """Apply rlimits (and the uid drop) in the forked job process, before user code runs."""
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = limits.cpu_s if limits.cpu_s is not None else int(timeout_s) + 10
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = limits.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if drop_to_uid is not None and drop_to_uid != os.getuid():
        if os.geteuid() != 0:
            os.seteuid(0)  # the worker runs as WORKER_UID with root as its saved uid
        os.setgroups([])
        os.setresgid(drop_to_uid, drop_to_uid, drop_to_uid)
        os.setresuid(drop_to_uid, drop_to_uid, drop_to_uid)
    if os.geteuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


# --------------------------------------------------------------------------- seccomp: no userns

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# (clone, unshare, clone3) per architecture; clone3 passes its flags in memory a filter cannot
# read, so it is refused outright with ENOSYS, and glibc falls back to clone.
_SYSCALLS = {"x86_64": (56, 272, 435), "aarch64": (220, 97, 435)}
_CLONE_NEWUSER = 0x10000000


def userns_filter(machine: str | None = None) -> bytes | None:
    """A classic-BPF seccomp program refusing new user namespaces, or None on another arch.

    clone/unshare with CLONE_NEWUSER get EPERM; clone3, x32 calls and any foreign architecture
    (e.g. 32-bit `int 0x80` calls on x86_64, which use other syscall numbers) get ENOSYS.
    """
    import struct

    machine = machine or os.uname().machine
    if machine not in _AUDIT_ARCH:
        return None
    clone, unshare, clone3 = _SYSCALLS[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, errno_ret = 0x7FFF0000, 0x00050000
    eperm, enosys = errno_ret | 1, errno_ret | 38
    program = [
        (ld, 0, 0, 4),  # 0: arch
        (jeq, 0, 10, _AUDIT_ARCH[machine]),  # 1: foreign arch -> 12
        (ld, 0, 0, 0),  # 2: syscall number
        (jge, 8, 0, 0x40000000),  # 3: x32 -> 12
        (jeq, 7, 0, clone3),  # 4: -> 12
        (jeq, 2, 0, unshare),  # 5: -> 8
        (jeq, 1, 0, clone),  # 6: -> 8
        (ret, 0, 0, allow),  # 7
        (ld, 0, 0, 16),  # 8: low word of the first argument (the flags)
        (jset, 1, 0, _CLONE_NEWUSER),  # 9: -> 11
        (ret, 0, 0, allow),  # 10
        (ret, 0, 0, eperm),  # 11
        (ret, 0, 0, enosys),  # 12
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in program)


def block_user_namespaces() -> bool:
    """Install `userns_filter` on this process (no_new_privs first); False on an unknown arch.

    Raises OSError when the kernel refuses it: the job must not run without it.
    """
    import ctypes

    program = userns_filter()
    if program is None:
        return False

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    prog = SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_char_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")
    return True


def install_audit_hook(job_dir: Path) -> None:
    """Refuse network, process creation, ctypes and writes outside `job_dir` from now on."""
    allowed_roots = (str(job_dir.resolve()), "/dev/null")
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

    def outside(path: object) -> bool:
        if isinstance(path, int):
            return False  # an already open descriptor
        try:
            resolved = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return not any(
            resolved == root or resolved.startswith(root + os.sep) for root in allowed_roots
        )

    def program_allowed(executable: object, args: object) -> bool:
        name = executable
        if name is None and isinstance(args, list | tuple) and args:
            name = args[0]
        if not isinstance(name, bytes | str | os.PathLike):
            return False
        name = os.fsdecode(name)
        if os.path.basename(name) not in ALLOWED_PROGRAMS:
            return False
        # The real TeX tool, not a look-alike the job wrote (it can only write in its job dir).
        found = name if os.sep in name else shutil.which(name)
        if found is None:
            return True  # not installed: Popen fails with FileNotFoundError, a LaTeX error
        return outside(found) and outside(os.path.realpath(found))

    def hook(event: str, args: tuple) -> None:
        if event.startswith("socket.") and event in {
            "socket.connect",
            "socket.bind",
            "socket.sendto",
            "socket.sendmsg",
        }:
            raise SandboxViolation(f"network access is not allowed in the sandbox ({event})")
        if event in {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn"}:
            raise SandboxViolation(f"starting processes is not allowed in the sandbox ({event})")
        if event == "subprocess.Popen" and not program_allowed(args[0], args[1]):
            raise SandboxViolation(
                f"starting processes is not allowed in the sandbox (tried to run {args[1]!r})"
            )
        if event in {"ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function"}:
            raise SandboxViolation(f"ctypes is not allowed in the sandbox ({event})")
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & write_flags
            )
            if writing and outside(path):
                raise SandboxViolation(f"writing outside the job directory is not allowed: {path}")
        if event in _PATH_EVENTS and args and outside(args[0]):
            raise SandboxViolation(f"changing files outside the job directory: {args[0]}")
        if event in {"os.rename", "os.link", "os.symlink"} and len(args) > 1 and outside(args[1]):
            raise SandboxViolation(f"changing files outside the job directory: {args[1]}")
        if event == "shutil.rmtree" and args and outside(args[0]):
            raise SandboxViolation(f"changing files outside the job directory: {args[0]}")

    sys.addaudithook(hook)

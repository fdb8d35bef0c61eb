"""Pool scratch directories: one per live pool, reclaimed when their pool is gone.

Each pool holds an exclusive `flock` on `<its dir>/.lock` for its lifetime. The kernel drops the
lock when the process dies however it dies (`kill -9` included), so a later pool that can take
the lock knows the directory is stale and removes it. A pid in the name would not do: pids are
reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".lock"
PREFIX = "pool-"


@dataclass
class Scratch:
    """A pool's scratch directory and the lock that marks it alive."""

    root: Path
    lock_fd: int

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def _pid_alive(name: str) -> bool:
    pid = name[len(PREFIX) :].split("-", 1)[0]
    return pid.isdigit() and os.path.exists(f"/proc/{pid}")


def reclaim_stale(parent: Path) -> list[Path]:
    """Remove the scratch directories under `parent` whose pool is gone; return them."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        lock = entry / LOCK_NAME
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            # No lock file: a pool from before locks, or one being created right now (its pid
            # is then alive). Only the first is stale.
            if _pid_alive(entry.name):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # held: a live pool
            continue
        shutil.rmtree(entry, ignore_errors=True)  # symlink-safe (fd-based) on Linux
        os.close(fd)
        removed.append(entry)
    return removed


def create(parent: Path) -> Scratch:
    """A new locked scratch directory under `parent`, after reclaiming stale ones."""
    parent.mkdir(parents=True, exist_ok=True)
    reclaim_stale(parent)
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
    root.chmod(0o711)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return Scratch(root, fd)

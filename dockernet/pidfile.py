"""The watcher's pid file, for monit and init scripts (as the seed's was)."""

from __future__ import annotations

import os

from dockernet.atomicfile import write_atomic
from dockernet.errors import PidfileBusy, WriteFailed


def read_pid(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(path: str) -> None:
    """Write our pid to ``path``; refuse while a live process other than us holds it.

    A stale file (its pid is gone) is replaced. The pid is written to a temp
    file and renamed into place, so a reader never sees a half-written pid.
    """
    held = read_pid(path)
    if held and held != os.getpid() and process_alive(held):
        raise PidfileBusy(f"pid file {path} is held by running process {held}", hint="stop that watcher first")
    try:
        write_atomic(path, f"{os.getpid()}\n", mode=0o644)
    except OSError as exc:
        raise WriteFailed(f"cannot write pid file {path}: {exc.strerror}") from None


def release(path: str) -> None:
    """Remove the pid file if it is still ours."""
    if read_pid(path) == os.getpid():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

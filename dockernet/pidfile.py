"""The watcher's pid file, for monit and init scripts (as the seed's was); and what /proc says of a pid.

An owner id's lease names the process that holds it (``owners.py``). On
the same host a restarted watcher must be able to tell at once whether that
process still runs: ``pid_space`` says which pids are comparable with ours
(the same kernel boot and pid namespace), and ``process_started_at`` tells
a live holder from a later process that reuses its pid.
"""

from __future__ import annotations

import hashlib
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


def pid_space() -> str:
    """Where our pids are counted: a short digest of the kernel's boot id and our pid namespace ("" unknown).

    Two processes see the same process under one pid only when both match:
    a reboot or another pid namespace (a container) counts pids anew.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return hashlib.sha256(f"{boot} {namespace}".encode()).hexdigest()[:12]


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (unix time), or None when there is no such process (a zombie is none).

    From /proc/<pid>/stat, field 22 (clock ticks after boot), and the boot
    time in /proc/stat: whole seconds, so good to about a second.
    """
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        fields = stat.rsplit(")", 1)[1].split()  # the command name in () may hold spaces and ')'
        if fields[0] in ("Z", "X"):  # exited, not yet (or just) reaped
            return None
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, IndexError, ValueError):
        return None


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

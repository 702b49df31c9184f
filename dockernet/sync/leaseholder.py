"""Whether the watcher holding a lease still runs, as well as this process can tell (pure but for /proc).

A lease names its holder's process (``Process``): where that pid counts as
ours do (same boot, same pid namespace: ``pidfile.pid_space``) the pid
decides at once, so a restart or a crash frees the lease; elsewhere only the
lease's renewals tell (``registry.Lease.alive``). Claiming the lease is
``leases.py``; ``dns purge --owner`` and ``--adopt-owner`` ask here first.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from dockernet.errors import OwnerCollision
from dockernet.pidfile import pid_space, process_started_at
from dockernet.publish.registry import Lease

#: a holder's process may seem to have started this much after it claimed (/proc gives whole seconds)
START_SLACK = 2.0


@dataclass(frozen=True)
class Process:
    """This process as a lease names its holder: pid, where pids are counted (``pid_space``), instance id."""

    pid: int
    node: str
    #: random per process: tells two processes apart where pids cannot (another host); not a secret
    instance: str

    @classmethod
    def this(cls) -> Process:
        return cls(os.getpid(), pid_space(), secrets.token_urlsafe(12))


def holder_running(
    lease: Lease, here: Process, now: float, started_at: Callable[[int], float | None] = process_started_at
) -> bool:
    """Whether the process holding ``lease`` runs now, as well as ``here`` can tell.

    Where the holder's pid counts as ours do (same boot, same pid namespace),
    the pid decides at once: it runs while a process with that pid exists
    that started no later than it took the lease (a later one merely got the
    pid again; so did we, if it is ours). Elsewhere, and for an earlier
    dockernet's lease, only the renewals tell: three missed, or one from the
    future, and it is taken for stopped.
    """
    if lease.released:
        return False
    if lease.instance and lease.instance == here.instance:
        return True
    if lease.instance and lease.node and lease.node == here.node:
        if lease.pid == here.pid:
            return False
        started = started_at(lease.pid)
        return started is not None and started <= lease.since + START_SLACK
    return lease.alive(now)


def refuse_if_running(
    lease: Lease | None,
    here: Process,
    now: float,
    doing: str,
    engine: str | None = None,
    started_at: Callable[[int], float | None] = process_started_at,
) -> None:
    """Raise ``OwnerCollision`` when a watcher still runs under the owner id of ``lease`` (``--force`` skips this).

    Taking an owner's records away (``dns purge --owner``, ``--adopt-owner``)
    while its watcher runs is undone by it, or worse: it would publish them
    again, or find its names taken. Running is judged as ``holder_running``
    does; given this ``engine``, an earlier dockernet's lease of it counts as
    a stopped watcher, as a claim takes it (``claim_verdict``).
    """
    if lease is None or (engine is not None and lease.engine == engine and not lease.instance):
        return
    if not holder_running(lease, here, now, started_at):
        return
    raise OwnerCollision(
        f"owner id '{lease.owner}' is held by {lease.describe(now)}, and that watcher is still "
        f"running: not {doing}, it would publish its records again",
        hint="stop that watcher first, or give --force if it is gone for good",
    )

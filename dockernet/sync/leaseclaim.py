"""What a claim on an owner id's lease decides (``claim_verdict``), and how each refusal reads (``refusal``).

Pure: the lease as read, this engine and process, and the time go in; a
verdict comes out. ``LeaseKeeper`` (``leases.py``) reads and writes the
lease and acts on the verdict; the rules are kept here, in one table, so
that a case can be checked without a server.
"""

from __future__ import annotations

from collections.abc import Callable

from dockernet.errors import OwnerCollision
from dockernet.pidfile import process_started_at
from dockernet.publish.registry import Lease
from dockernet.sync.leaseholder import Process, holder_running

# what a claim decides (``claim_verdict``)
TAKE = "take"  # write the lease: it is free, or ours
TAKE_OVER = "take over"  # another engine's, stale, and --take-over-owner: write it, warning
BESIDE = "beside"  # a one-shot run next to this engine's running watcher: leave the lease to it
TAKEN = "taken"  # it was ours, another holds it now: stop without removing anything
OTHER_ENGINE = "other engine"  # another engine holds it: refuse
ENGINE_RUNNING = "engine running"  # --take-over-owner, but the other engine still renews it: refuse
RUNNING = "running"  # another process of this engine holds it and runs: refuse


def claim_verdict(
    current: Lease | None,
    engine: str,
    here: Process,
    now: float,
    *,
    held: bool,
    take_over: bool = False,
    one_shot: bool = False,
    started_at: Callable[[int], float | None] = process_started_at,
) -> str:
    """What a process of ``engine`` (``here``) may do with the lease it read (``current``).

    ============================  =====================================  ==========================
    the lease read                while claiming                         at a renewal (``held``)
    ============================  =====================================  ==========================
    none                          TAKE                                   TAKE (it is written again)
    this instance's               TAKE                                   TAKE (a lost answer)
    another engine's              OTHER_ENGINE; with ``take_over``:      TAKEN
                                  TAKE_OVER once stale, else
                                  ENGINE_RUNNING
    this engine's, earlier        TAKE (the earlier version restarted)   TAKEN
    dockernet
    this engine's, another        RUNNING (a one-shot run: BESIDE)       TAKEN
    process that runs
    this engine's, another        TAKE (a restart, a crash)              TAKEN
    process that stopped
    ============================  =====================================  ==========================
    """
    if current is None or (current.instance and current.instance == here.instance):
        return TAKE
    if held:
        return TAKEN
    if current.engine != engine:
        if not take_over:
            return OTHER_ENGINE
        return ENGINE_RUNNING if current.alive(now) else TAKE_OVER
    if not current.instance:
        return TAKE
    if holder_running(current, here, now, started_at):
        return BESIDE if one_shot else RUNNING
    return TAKE


def refusal(verdict: str, owner: str, current: Lease, me: Lease, now: float) -> OwnerCollision:
    """Another engine or process holds the lease: the error that stops this one, naming the holder."""
    this = f"this is engine {me.engine} on host {me.host or '?'}, pid {me.pid}"
    if verdict == TAKEN:
        return OwnerCollision(
            f"owner id '{owner}' was taken over by {current.describe(now)}; {this}: stopping without removing anything",
            hint="give each host, and each watcher, its own --owner-id",
        )
    if verdict == ENGINE_RUNNING:
        return OwnerCollision(
            f"owner id '{owner}' is held by {current.describe(now)}, so its watcher is running: not taking it over",
            hint="stop that watcher first, or give this host its own --owner-id",
        )
    if verdict == RUNNING:
        return OwnerCollision(
            f"owner id '{owner}' is already held by the running {current.holder()} on host "
            f"{current.host or '?'} (engine {current.engine}), {current.renewed(now)}; this is pid {me.pid}: "
            f"not running a second watcher under one owner id, as each would delete the records the other "
            f"publishes",
            hint="stop that watcher first (for a resync, send it SIGHUP), or give this one its own --owner-id",
        )
    return OwnerCollision(
        f"owner id '{owner}' is already used by {current.describe(now)}; {this}: not running, so that "
        f"neither deletes the other's records",
        hint="give each host its own --owner-id (DOCKERNET_OWNER_ID); if that engine is gone for good "
        "(a reinstalled host), start once with --take-over-owner",
    )

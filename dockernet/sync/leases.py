"""Owner ids across a fleet: claiming, renewing and retiring this watcher's lease in the zone.

Several Docker hosts publish into one zone, each under its own owner id;
every record carries its owner in its ownership mark (``plan.py``). Two
watchers that run under the *same* owner id (a cloned VM, a copied config,
a second ``watch`` started by hand on the same host) would each see the
other's records as their own and delete them. The zone itself keeps them
apart, with no coordination service of our own:

* each owner id has one **lease** record, a TXT at
  ``<owner>._owner._dockernet.<zone>`` naming the Docker engine (its unique
  ``docker info`` ID) and the process that runs it (its pid, where that pid
  is counted, a random instance id and when it started holding), and when
  it last renewed the lease;
* a watcher claims the lease before it removes anything and renews it every
  ``interval`` seconds, each write an RFC 2136 compare-and-swap on the exact
  text it read (a prerequisite), so two processes racing for one owner id
  cannot both win;
* a lease naming another engine stops the watcher with one line naming both
  engines; ``--take-over-owner`` replaces it deliberately, and only once the
  other engine has stopped renewing it (a reinstalled host);
* a lease naming another process of the same engine stops the watcher too,
  naming that process, while it runs. Whether it runs is told by its pid
  where the pid is comparable with ours (same boot, same pid namespace:
  ``pidfile.pid_space``), so a restart or a crash frees the lease at once;
  elsewhere by its renewals;
* a watcher that finds at a renewal that the lease names another instance
  stops without removing anything: someone else holds the owner id now;
  before a resync's removals and ``--cleanup-on-exit`` it reads the lease
  once more (``confirm``);
* a watcher that stops cleanly marks its lease released (pid 0), so every
  host sees at once that nobody holds the owner id (``dns purge --owner``
  from another host need not wait for three missed renewals).

A lease written by an earlier dockernet (no process fields) still reads; on
the same engine it is taken at once, as the earlier version's watcher being
restarted (an upgrade), since it cannot be told from a running one and an
upgrade must not wait for three missed renewals. Should that earlier
watcher still run, it rewrites the lease and this one stops at its next
renewal. A lease renewed further in the future than ``FUTURE_SLACK`` is
invalid (a clock set wrong): it shows no running watcher.

The lease is also each owner's last sign of life, which ``dns ls --all``
shows. Its name and text format are ``publish/registry.py``'s; what a claim
decides, and how a refusal reads, is ``leaseclaim.py``; adopting a renamed
owner's names is ``adopt.py``.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace

import dns.rdatatype

from dockernet.ddns import Nameserver, Outcome
from dockernet.errors import DnsError, DnsRejected, OwnerCollision, PrerequisiteFailed
from dockernet.pidfile import process_started_at
from dockernet.publish.registry import Lease, lease_name, parse_lease
from dockernet.rfc2136.messages import chunked_txt, new_update
from dockernet.sync.leaseclaim import BESIDE, TAKE, TAKE_OVER, TAKEN, claim_verdict, refusal
from dockernet.sync.leaseholder import Process, holder_running
from dockernet.sync.triage import Scope, rejection_scope

log = logging.getLogger("dockernet")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: the default renewal interval, seconds
LEASE_INTERVAL = 60


def safe_engine_id(engine_id: str) -> str:
    """The engine ID as a lease may hold it (Docker's IDs are hex, UUIDs, or colon-separated base32)."""
    cleaned = re.sub(r"[^A-Za-z0-9:_-]", "-", engine_id)[:100]
    return cleaned or "unknown"


def read_lease(nameserver: Nameserver, owner: str) -> tuple[Lease | None, list[str] | None]:
    """The owner's lease and the TXT strings it was read from (None: no lease)."""
    texts = nameserver.read_txt(lease_name(owner, nameserver.target.zone))
    if not texts:
        return None, None
    leases = [parse_lease(text) for text in texts]
    if len(leases) == 1 and leases[0] and leases[0].owner == owner:
        return leases[0], texts
    raise OwnerCollision(
        f"the lease name {lease_name(owner, nameserver.target.zone)} of owner id '{owner}' holds "
        f"records dockernet did not write; not running under this owner id",
        hint="remove them, or choose another --owner-id",
    )


def write_lease(nameserver: Nameserver, new: Lease, old_texts: list[str] | None) -> Outcome:
    """Compare-and-swap the lease: create it where there is none, else replace exactly ``old_texts``."""
    name = lease_name(new.owner, nameserver.target.zone)
    message = new_update(nameserver.target)
    if old_texts is None:
        message.absent(name)
    else:
        message.present(name, dns.rdatatype.TXT, *(chunked_txt(text) for text in old_texts))
        message.delete(name, dns.rdatatype.TXT)
    message.add(name, 0, dns.rdatatype.TXT, chunked_txt(new.text()))
    return nameserver.send_message(message)


def remove_lease(nameserver: Nameserver, lease: Lease) -> Outcome:
    """Delete a lease, if it is still exactly ``lease`` (retiring an owner)."""
    name = lease_name(lease.owner, nameserver.target.zone)
    message = new_update(nameserver.target)
    message.present(name, dns.rdatatype.TXT, chunked_txt(lease.text()))
    message.delete(name)
    return nameserver.send_message(message)


class LeaseKeeper:
    """Claims and renews this watcher's lease; raises ``OwnerCollision`` when another engine or process holds it.

    ``hold()`` is called before anything is removed and from the watcher's
    timers: it claims the lease once, then renews it when due. A server
    that refuses the lease name (an update-policy that grants only some
    names) turns collision detection off with one warning; it does not stop
    the watcher. A one-shot run (``hold(one_shot=True)``: ``watch --once``,
    ``dns sync``) next to this engine's running watcher of the same owner id
    leaves the lease to that watcher.
    """

    def __init__(
        self,
        nameserver: Nameserver,
        owner: str,
        identity: Callable[[], tuple[str, str]],
        interval: float = LEASE_INTERVAL,
        take_over: bool = False,
        clock: Callable[[], float] = time.time,
        process: Process | None = None,
        started_at: Callable[[int], float | None] = process_started_at,
    ):
        self._nameserver = nameserver
        self.owner = owner
        #: this engine's (ID, host name): docker info, asked once
        self._whoami = functools.cache(identity)
        self.interval = interval
        self.take_over = take_over
        self.clock = clock
        #: this process, as the lease names its holder
        self.process = process or Process.this()
        self._started_at = started_at
        #: the lease as this watcher last wrote it (None: not held yet)
        self.lease: Lease | None = None
        #: the running watcher this one-shot run leaves the lease to (None: none)
        self.beside: Lease | None = None
        #: why collision detection is off ("": it is on)
        self.disabled = ""
        self._next_try = 0.0

    @property
    def held(self) -> bool:
        return self.lease is not None or self.beside is not None or bool(self.disabled)

    def due_in(self) -> float:
        """Seconds until the lease should be renewed (0: now)."""
        if self.disabled:
            return float("inf")
        due = self.lease.seen + self.interval if self.lease is not None else 0.0
        return max(0.0, due - self.clock(), self._next_try - self.clock())

    def retry_later(self) -> None:
        """The server did not answer: try again in a few seconds, not in a busy loop."""
        self._next_try = self.clock() + min(self.interval, 5.0)

    def hold(self, one_shot: bool = False) -> None:
        """Claim the lease, or renew it when due. DnsTransient propagates: nothing is concluded from silence."""
        if self.disabled or (self.lease is not None and self.lease.seen + self.interval > self.clock()):
            return
        try:
            self._claim(one_shot)
        except DnsRejected as exc:
            if not self._refused_for_lease_only(exc):
                raise
            self.disabled = f"the server refuses the lease record ({exc.code})"
            log.warning(
                "%s refuses the lease record %s (%s): two hosts running with owner id '%s' would not be "
                "detected; grant this key updates of that name to turn detection on",
                self._nameserver.target.where,
                lease_name(self.owner, self._nameserver.target.zone),
                exc.code,
                self.owner,
            )

    def confirm(self) -> bool:
        """Before a full reconcile's deletions: is the lease still this process's? (one read)

        A renewal may be up to an interval away, and a lease taken meanwhile
        (``--take-over-owner`` after a pause, an earlier dockernet's watcher)
        means the records this engine does not list may be the new holder's.
        ``OwnerCollision`` when another holds it; False when the server does
        not answer (the deletions wait: nothing is concluded from silence).
        """
        if self.lease is None or self.disabled:
            return True
        try:
            current, _texts = read_lease(self._nameserver, self.owner)
        except DnsError as exc:
            log.debug("Cannot confirm the lease now: %s", exc)
            return False
        if (
            current is not None
            and claim_verdict(current, self.lease.engine, self.process, self.clock(), held=True) == TAKEN
        ):
            raise refusal(TAKEN, self.owner, current, self.lease, self.clock())
        return True

    def release(self) -> None:
        """On a clean stop: mark the lease released (pid 0), so that every host sees at once that nobody holds it.

        Only while it is still this process's (a compare-and-swap); any
        failure changes nothing: the lease then goes stale as after a crash.
        """
        if self.lease is None or self.disabled:
            return
        nameserver = self._nameserver
        try:
            current, texts = read_lease(nameserver, self.owner)
            if current is None or current.instance != self.process.instance:
                return
            released = replace(current, pid=0, seen=int(self.clock()))
            if write_lease(nameserver, released, texts) is Outcome.APPLIED:
                self.lease = None
                log.info("Released the lease of owner id '%s'", self.owner)
        except (DnsError, OwnerCollision) as exc:
            log.debug("Lease not released: %s", exc)

    def _refused_for_lease_only(self, exc: DnsRejected) -> bool:
        """A REFUSED or NOTAUTH that concerns the lease's name alone (``triage.rejection_scope``, the one rule)."""
        zone = self._nameserver.target.zone
        return exc.code in ("REFUSED", "NOTAUTH") and rejection_scope(self._nameserver, zone, exc) is Scope.NAME

    @property
    def engine(self) -> str:
        """This engine's ID, as leases hold it."""
        return safe_engine_id(self._whoami()[0])

    def _me(self) -> Lease:
        engine, host = self._whoami()
        now = int(self.clock())
        return Lease(
            self.owner,
            safe_engine_id(engine),
            _UNSAFE.sub("-", host)[:63],
            now,
            int(self.interval),
            self.process.pid,
            self.process.node,
            self.process.instance,
            now,
        )

    def _claim(self, one_shot: bool) -> None:
        nameserver = self._nameserver
        me = self._me() if self.lease is None else replace(self.lease, seen=int(self.clock()))
        for _attempt in range(3):
            current, texts = read_lease(nameserver, self.owner)
            now = self.clock()
            verdict = claim_verdict(
                current,
                me.engine,
                self.process,
                now,
                held=self.lease is not None,
                take_over=self.take_over,
                one_shot=one_shot,
                started_at=self._started_at,
            )
            if current is not None and verdict != TAKE:  # with no lease the verdict is always TAKE
                if verdict == BESIDE:
                    log.info(
                        "Owner id '%s' is held by the running %s: this run leaves the lease to it",
                        self.owner,
                        current.describe(now),
                    )
                    self.beside = current
                    return
                if verdict != TAKE_OVER:
                    raise refusal(verdict, self.owner, current, me, now)
                log.warning("Taking over owner id '%s' from %s (--take-over-owner)", self.owner, current.describe(now))
            elif self.lease is None and current is not None and current.instance != me.instance:
                log.info(
                    "Taking the lease of owner id '%s' from %s, which no longer runs",
                    self.owner,
                    current.describe(now)
                    if current.instance
                    else f"an earlier dockernet's watcher of this engine ({current.describe(now)})",
                )
            if write_lease(nameserver, me, texts) is Outcome.APPLIED:
                if self.lease is None:
                    log.info("Holding the lease of owner id '%s' for engine %s, pid %d", self.owner, me.engine, me.pid)
                self.lease = me
                return
            # a prerequisite failed: the lease changed between the read and the write; read again
        raise PrerequisiteFailed(f"the lease of owner id '{self.owner}' kept changing while this watcher claimed it")


def retire(
    nameserver: Nameserver,
    owner: str,
    clock: Callable[[], float] = time.time,
    here: Process | None = None,
    force: bool = False,
) -> None:
    """After ``dns purge``: remove the owner's lease too, unless its watcher is still running (then say so)."""
    lease, _texts = read_lease(nameserver, owner)
    if lease is None:
        return
    now = clock()
    if holder_running(lease, here or Process.this(), now):
        if not force:
            log.warning(
                "Owner id '%s' was alive moments ago (%s): its lease is kept, as a watcher still running "
                "would publish its records again; stop that watcher and purge again to retire the host",
                owner,
                lease.describe(now),
            )
            return
        log.warning(
            "Removing the lease of owner id '%s' although its watcher seems to run (%s; --force)",
            owner,
            lease.describe(now),
        )
    if remove_lease(nameserver, lease) is Outcome.APPLIED:
        log.info("Removed the lease of owner id '%s' (%s)", owner, lease.describe(now))

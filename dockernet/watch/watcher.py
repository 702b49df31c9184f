"""``dockernet watch``: the event loop around the reconciler.

One thread reads the engine's event stream into the inbox (``stream``); a
few inspector threads ask the engine about containers and post the answers
to the same inbox (``containers``), so an inspect that waits for a starting
container holds up no other container. The main thread does the rest
(plan, UPDATE), so the reconciler is never shared between threads. It wakes
for whichever comes first: an event or an answer, a signal, or a timer
(``timers``: a retry of pending DNS changes, the periodic resync, a lease
renewal, a systemd watchdog keep-alive).

Faults, and what heals them:

* the event stream ends (docker-py's iterator just stops when dockerd goes):
  wait for the engine, re-open the stream ``since`` the last event seen,
  reconcile everything (``stream``);
* the DNS server fails: ``Reconciler`` keeps the names pending and retries;
  a full reconcile that failed is run again when the server answers;
* drift (a record changed by hand, an event never delivered): the periodic
  resync;
* an engine that lists too few containers (it is still starting): deletions
  found by a full reconcile wait for a later listing that agrees (``guard``).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockernet.engine.interface import Engine
from dockernet.engine.kind import EngineKind
from dockernet.engine.model import ContainerEvent, ContainerInfo
from dockernet.errors import DnsTransient, DockerUnreachable, OwnerCollision
from dockernet.metrics import Health, NullMetrics
from dockernet.rfc2136 import reversezones
from dockernet.watch.containers import ContainerTracker
from dockernet.watch.dnshealth import DnsHealth
from dockernet.watch.guard import DeletionGuard
from dockernet.watch.inbox import DISCONNECTED, INSPECTED, RELOAD, STOP, Inbox
from dockernet.watch.ownership import Ownership
from dockernet.watch.signals import install_signal_handlers
from dockernet.watch.stream import EarlyListing, EngineStream
from dockernet.watch.supervision import Supervisor
from dockernet.watch.timers import Timers

if TYPE_CHECKING:
    from dockernet.ddns import Nameserver
    from dockernet.rfc2136.signer import Signer
    from dockernet.sync.journal import Journal
    from dockernet.sync.leases import LeaseKeeper
    from dockernet.sync.reconciler import Reconciler

log = logging.getLogger("dockernet")

#: seconds a stopping watcher spends on names still waiting in the backlog (an event's, before the stop)
STOP_DRAIN = 2.0


@dataclass(frozen=True)
class WatchOptions:
    docker_pid: str | None = None
    reconnect_cap: float = 10.0
    resync_interval: float = 300.0
    #: how long after (re)connecting deletions found by a full reconcile wait for a second listing
    settle_time: float = 10.0
    cleanup_on_exit: bool = False
    #: re-reads the key on SIGHUP; returns the new key
    reload_key: Callable[[], Signer] | None = None
    #: find the reverse zones for Docker's subnets on the server (--reverse-zone auto)
    auto_reverse: bool = False
    #: move this owner id's names to ours before the first reconcile (--adopt-owner)
    adopt_owner: str | None = None
    #: adopt them even while that owner's watcher seems to run (dns sync --force)
    adopt_force: bool = False
    #: given the engine's kind at each connect, sets the address mode the engine calls for (--address not given)
    settle_address: Callable[[EngineKind], None] = lambda kind: None


class Watcher:
    """The loop: takes what the inbox holds, hands it to the collaborator it concerns, runs what is due."""

    def __init__(
        self,
        engine: Engine,
        reconciler: Reconciler,
        options: WatchOptions = WatchOptions(),
        *,
        nameserver: Nameserver,
        ttl: int,
        journal: Journal | None = None,
        health: Health | None = None,
        metrics: NullMetrics | None = None,
        lease: LeaseKeeper | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        health = health or Health()
        self.engine = engine
        self.reconciler = reconciler
        self.nameserver = nameserver
        self.options = options
        self.events = Inbox()
        self.supervisor = Supervisor()
        self.stream = EngineStream(
            engine, self.events, health, self.supervisor, options.docker_pid, options.reconnect_cap
        )
        #: this owner id's lease in the zone: held before anything is removed (see leases.py)
        self.ownership = Ownership(lease, nameserver, journal, ttl, engine, options.adopt_owner, options.adopt_force)
        self.timers = Timers(clock, options.resync_interval, reconciler, self.ownership, self.supervisor)
        self.guard = DeletionGuard(self.timers, self.ownership, options.settle_time)
        self.dns = DnsHealth(nameserver, health, options.reload_key)
        self.containers = ContainerTracker(
            engine, reconciler, self.events, metrics or NullMetrics(), self._events_waiting
        )

    # -- lifecycle ---------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the loop after the update in flight, SIGHUP re-keys and resyncs (``signals``)."""
        install_signal_handlers(self.events)

    def once(self) -> bool:
        """One full reconcile; True when everything was applied."""
        self.engine.ping()
        if self.options.auto_reverse:
            self.discover_reverse_zones()
        self.dns.probe()
        self.ownership.take(one_shot=True)
        try:
            return self.reconciler.full(self.engine.running())
        finally:
            self.ownership.release()

    def run(self) -> None:
        """Watch until asked to stop. A key or zone the server rejects at start-up is fatal."""
        early = EarlyListing(self.stream)  # the engine's side of the start, while the DNS side's goes on here
        try:
            _start_dns(self.dns, self.ownership, self.options.adopt_owner)
        except BaseException:  # a watcher that may not write does not run
            early.discard()
            raise
        collided = False
        try:
            if self._reconnect(early.take()):
                self._loop()
        except OwnerCollision:
            collided = True  # another engine or watcher holds this owner id: remove nothing, not even on exit
            raise
        finally:
            self.stream.close()
            self.containers.stop()
            if self.options.cleanup_on_exit and not collided:
                self.ownership.clean_up(self.reconciler)
            if not collided:
                self.ownership.release()  # every host sees at once that nobody holds this owner id
            self.supervisor.stopping()

    # -- the loop ----------------------------------------------------------------

    def _loop(self) -> None:
        while not self.events.stopping():
            try:  # while names wait in the backlog, only look whether an event came
                item = self.events.get(timeout=0 if self.reconciler.waiting() else self.timers.wakeup_in())
            except queue.Empty:
                item = None
            if item == STOP:
                self._finish_backlog()
                break
            try:
                self._dispatch(item)
                self._run_due()
                if self.reconciler.waiting():
                    self.reconciler.drain(self._events_waiting)
            except DockerUnreachable as exc:
                log.warning("%s", exc)
                if not self._reconnect():
                    break

    def _events_waiting(self) -> bool:
        """Whether an event, an inspect's answer, a signal or a timer waits: the backlog then yields to it."""
        return not self.events.empty() or self.timers.wakeup_in() == 0.0

    def _finish_backlog(self) -> None:
        """Asked to stop: sync what events asked for before the stop, for a moment (the next start does the rest)."""
        deadline = self.timers.now() + STOP_DRAIN
        if self.reconciler.waiting():
            self.reconciler.drain(lambda: self.timers.now() > deadline)
        if self.reconciler.waiting():
            log.warning("Stopping with %d name(s) not synced yet; the next start syncs them", self.reconciler.waiting())

    def _dispatch(self, item: Any) -> None:
        if item is None:
            return
        if item == RELOAD:
            self._reload()
        elif isinstance(item, tuple) and item[0] == INSPECTED:
            self.containers.inspected(item[1], item[2])
        elif isinstance(item, tuple) and item[0] == DISCONNECTED:
            if self.stream.is_current(item[1]):  # not the end of a stream already replaced
                log.warning("Lost the Docker event stream from %s", self.engine.where)
                self.stream.lost()
                self._reconnect()
        elif isinstance(item, ContainerEvent):
            self.stream.seen(item)
            self.containers.event(item)
        elif isinstance(item, Exception):  # the reader thread met something other than the stream's end
            raise item

    def _run_due(self) -> None:
        """The periodic jobs ``timers`` finds due, in this order."""
        now = self.timers.now()
        self.supervisor.keep_alive(now)
        if self.timers.lease_due():
            self.ownership.renew()
        if self.timers.blocked_check_due():
            self.dns.look_at_blocked(lambda: self.reconciler.check_blocked(self._events_waiting))
        if self.dns.probe_due(now) and not self.reconciler.pending:
            self.dns.probe_idle()
        self.reconciler.mend_journal()
        due = self.reconciler.retry_due_in()
        if self.timers.resync_due(now) or (due == 0.0 and self.reconciler.needs_full):
            self._full()
        elif due == 0.0:
            self.reconciler.retry_pending(self._events_waiting)

    def _full(self) -> None:
        """A full reconcile from a fresh listing; schedules the next one."""
        self.timers.resync_later()
        running = self.engine.running()
        self.containers.listed(running)
        if self.reconciler.full(running, guard=self.guard.allow):
            self.supervisor.ready()

    def _reload(self) -> None:
        log.info("SIGHUP: re-reading the key file and resyncing")
        self.dns.rekey()
        self.timers.resync_now()

    # -- the engine connection ------------------------------------------------------

    def _reconnect(self, listed: tuple[list[ContainerInfo], EngineKind] | None = None) -> bool:
        """(Re)open the event stream and reconcile (``listed``: subscribed and listed already); False when asked
        to stop first."""
        while True:
            if listed is None:
                self.stream.lost()
                if not self.stream.wait_for_engine():
                    return False
            try:
                self._connect(listed)
                return True
            except DockerUnreachable as exc:
                log.warning("%s", exc)
                listed = None

    def discover_reverse_zones(self) -> None:
        """``--reverse-zone auto``: ask the server which zone holds each Docker subnet's reverse names."""
        self.reconciler.set_reverse_zones(reversezones.for_subnets(self.nameserver, self.engine.subnets()))

    def _connect(self, listed: tuple[list[ContainerInfo], EngineKind] | None) -> None:
        """Subscribe to events, then list and reconcile everything (see ``stream``: the order matters)."""
        if self.options.auto_reverse:
            self.discover_reverse_zones()
        if listed is None:
            self.stream.open()
        self.guard.connected()
        running, kind = listed or (self.engine.running(), self.engine.kind())
        self.options.settle_address(kind)
        log.info("Watching Docker events at %s, %s; %d running container(s)", self.engine.where, kind, len(running))
        self.timers.resync_later()
        self.containers.listed(running, reconnected=True)
        self.reconciler.full(running, guard=self.guard.allow)
        # ready once the first reconcile ran, even if DNS is down: the watcher is doing its job
        self.supervisor.ready()


def _start_dns(dns: DnsHealth, ownership: Ownership, adopt_owner: str | None) -> None:
    """The DNS side of the start: the key's probe and this owner id's lease. A key or zone the server rejects
    is fatal (``DnsRejected``), as is an ``OwnerCollision``; a server that does not answer is not, unless an
    adoption was asked for."""
    try:
        dns.check_at_start()
        ownership.take()
    except DnsTransient as exc:
        if adopt_owner:  # a one-time request: not done silently later, nor skipped
            raise DnsTransient(
                f"cannot adopt the names of owner id '{adopt_owner}' now: {exc}",
                hint="start again when the DNS server answers",
            ) from None
        log.error(
            "%s; starting anyway, updates will be retried (nothing is removed before this owner id's lease is held)",
            exc,
        )

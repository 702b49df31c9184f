"""``dockernet watch``: the event loop around the reconciler.

Order at start-up matters: the event stream is opened *before* the running
containers are listed, so a container that starts while the listing is
under way is seen by one or the other, never by neither.

One thread reads the engine's event stream into a queue; a few inspector
threads ask the engine about containers and post the answers to the same
queue, so an inspect that waits for a starting container holds up no other
container (``eventorder`` keeps each container's events in order). A
removal (``die``, ``stop``, ``destroy``, ``disconnect``) needs no inspect and
is applied as soon as its event arrives. The main thread does the rest
(plan, UPDATE), so the reconciler is never shared between threads. It wakes
for whichever comes first: an event or an answer, a signal, a retry of
pending DNS changes, the periodic resync, or a systemd watchdog keep-alive.

Faults, and what heals them:

* the event stream ends (docker-py's iterator just stops when dockerd goes):
  wait for the engine, re-open the stream ``since`` the last event seen,
  reconcile everything;
* the DNS server fails: ``Reconciler`` keeps the names pending and retries;
  a full reconcile that failed is run again when the server answers;
* drift (a record changed by hand, an event never delivered): the periodic
  resync;
* an engine that lists too few containers (it is still starting): deletions
  found by a full reconcile are held back while the connection is young or
  when they would remove most of this owner's records, and made only when a
  later listing agrees (``deletion_guard``).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable

from dockernet.rfc2136 import reversezones
from dockernet.engine.dockerapi import ContainerInfo, DockerEngine, iterate_events, parse_event, since_parameter
from dockernet.errors import DnsError, DnsTransient, DockernetError, DockerUnreachable, OwnerCollision
from dockernet.watch.eventorder import REMOVALS, EventOrder, InspectRequest
from dockernet.sync.journal import Journal
from dockernet.logformat import printable
from dockernet.sync.adopt import adopt_owner
from dockernet.sync.leases import LeaseKeeper
from dockernet.pidfile import process_alive, read_pid
from dockernet.sync.reconciler import Reconciler
from dockernet.watch.supervision import Health, NullMetrics, sd_notify, watchdog_interval

log = logging.getLogger("dockernet")

_STOP = "stop"
_RELOAD = "reload"
_DISCONNECTED = "disconnected"
_INSPECTED = "inspected"
#: inspects in flight at once: as many containers as a burst starts in parallel may each hold one
INSPECTORS = 8
#: seconds a stopping watcher spends on names still waiting in the backlog (an event's, before the stop)
STOP_DRAIN = 2.0


def docker_pid_state(pidfile: str | None) -> str:
    """What Docker's pid file says, for the log line while waiting (the seed's DOCKER_PID check)."""
    if not pidfile or not os.path.exists(pidfile):
        return f"pid file {pidfile} is missing"
    pid = read_pid(pidfile)
    if pid and process_alive(pid):
        return f"pid file {pidfile} names live process {pid}"
    return f"pid file {pidfile} names no live process"


@dataclass(frozen=True)
class WatchOptions:
    docker_pid: str | None = None
    reconnect_cap: float = 10.0
    resync_interval: float = 300.0
    #: how long after (re)connecting deletions found by a full reconcile wait for a second listing
    settle_time: float = 10.0
    cleanup_on_exit: bool = False
    #: re-reads the key on SIGHUP; returns the new key
    reload_key: Callable[[], object] | None = None
    #: find the reverse zones for Docker's subnets on the server (--reverse-zone auto)
    auto_reverse: bool = False
    #: move this owner id's names to ours before the first reconcile (--adopt-owner)
    adopt_owner: str | None = None
    #: adopt them even while that owner's watcher seems to run (dns sync --force)
    adopt_force: bool = False


class Inspectors:
    """A few threads that inspect containers and post each answer to the watcher's queue.

    An inspect mostly waits on dockerd (for a starting container, until its
    start is done), so threads are enough; each has its own keep-alive
    connection (``DockerEngine.inspect``). They start with the first request.
    """

    def __init__(self, engine: DockerEngine, answers: queue.SimpleQueue, count: int = INSPECTORS):
        self.engine = engine
        self.answers = answers
        self.count = count
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, request: InspectRequest) -> None:
        if not self._threads:
            self._threads = [threading.Thread(target=self._work, name=f"inspector-{n}", daemon=True)
                             for n in range(self.count)]
            for thread in self._threads:
                thread.start()
        self.requests.put(request)

    def _work(self) -> None:
        while (request := self.requests.get()) is not None:
            try:
                answer = self.engine.inspect(request.container_id)
            except Exception as exc:  # handed to the main thread: a thread that died would leave its container waiting
                answer = exc
            self.answers.put((_INSPECTED, request, answer))

    def stop(self) -> None:
        for _ in self._threads:
            self.requests.put(None)
        self._threads = []


class Watcher:
    def __init__(self, engine: DockerEngine, reconciler: Reconciler, options: WatchOptions = WatchOptions(),
                 metrics: NullMetrics | None = None, health: Health | None = None,
                 clock: Callable[[], float] = time.monotonic, lease: LeaseKeeper | None = None):
        self.engine = engine
        #: this owner id's lease in the zone: held before anything is removed (see owners.py)
        self.lease = lease
        self.reconciler = reconciler
        self.options = options
        self.metrics = metrics or NullMetrics()
        self.health = health or reconciler.health
        self.clock = clock
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.stopping = threading.Event()
        self._stream = None
        self._last_event_ns = 0
        self._connected_at = 0.0
        self._next_resync = float("inf")
        self._held: frozenset = frozenset()
        self._watchdog = watchdog_interval()
        self._next_watchdog = 0.0
        self._ready_sent = False
        self._probe_error = ""
        #: the last look at names held by others got no answer (said once, not per look)
        self._blocked_unanswered = False
        self.order = EventOrder()
        self.inspectors = Inspectors(engine, self.events)
        #: the running containers as last applied: a ``disconnect`` is applied from this, without an inspect
        self.known: dict[str, ContainerInfo] = {}

    # -- lifecycle ---------------------------------------------------------------

    def request_stop(self, *_args) -> None:
        """SIGTERM/SIGINT: finish the update in flight, then leave the loop."""
        self.stopping.set()
        self.events.put(_STOP)

    def request_reload(self, *_args) -> None:
        """SIGHUP: re-read the key, then resync."""
        self.events.put(_RELOAD)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def once(self) -> bool:
        """One full reconcile; True when everything was applied."""
        self.engine.ping()
        if self.options.auto_reverse:
            self.discover_reverse_zones()
        self.reconciler.nameserver.probe()
        self._take_ownership(one_shot=True)
        try:
            return self.reconciler.full(self.engine.running())
        finally:
            if self.lease is not None:
                self.lease.release()

    def _take_ownership(self, one_shot: bool = False) -> None:
        """Hold this owner id's lease, then adopt a renamed owner's names (--adopt-owner), before any reconcile.

        ``OwnerCollision`` propagates: another engine, or another running
        watcher, runs under this owner id. A one-shot run next to this
        engine's running watcher leaves the lease to it (``LeaseKeeper``).
        """
        if self.lease is not None:
            self.lease.hold(one_shot=one_shot)
        if self.options.adopt_owner:
            journal = self.reconciler.journal
            engine = self.lease.engine if self.lease is not None else self.engine.identity()[0]
            adopt_owner(self.reconciler.nameserver, self.options.adopt_owner, self.reconciler.policy.ttl, engine,
                        journal_names=lambda: set(Journal(journal.directory, self.options.adopt_owner).open(
                            writable=False)) if journal else set(),
                        here=self.lease.process if self.lease is not None else None, force=self.options.adopt_force)

    def run(self) -> None:
        """Watch until asked to stop. A key or zone the server rejects at start-up is fatal."""
        try:
            self.reconciler.nameserver.probe()
            self.health.dns_reached()
            self._take_ownership()
        except DnsTransient as exc:
            if self.options.adopt_owner:  # a one-time request: not done silently later, nor skipped
                raise DnsTransient(f"cannot adopt the names of owner id '{self.options.adopt_owner}' now: {exc}",
                                   hint="start again when the DNS server answers") from None
            log.error("%s; starting anyway, updates will be retried (nothing is removed before this owner id's "
                      "lease is held)", exc)
        # DnsRejected and OwnerCollision propagate: a watcher that may not write should not pretend to run
        collided = False
        try:
            if self._reconnect():
                self._loop()
        except OwnerCollision:
            collided = True  # another engine or watcher holds this owner id: remove nothing, not even on exit
            raise
        finally:
            self._close_stream()
            self.inspectors.stop()
            if self.options.cleanup_on_exit and not collided:
                self._cleanup()
            if self.lease is not None and not collided:
                self.lease.release()  # every host sees at once that nobody holds this owner id
            sd_notify("STOPPING=1")

    def _cleanup(self) -> None:
        """--cleanup-on-exit: purge this owner's records, once the lease is confirmed as still this process's.

        A lease taken since the last renewal means the records under this
        owner id may be the new holder's: then nothing is removed.
        """
        try:
            if self.lease is not None and not self.lease.confirm():
                log.error("Not removing this owner's records: this owner id's lease cannot be read now")
                return
        except OwnerCollision as exc:
            log.error("Not removing this owner's records: %s", exc)
            return
        log.info("Removing this owner's records before exit (--cleanup-on-exit)")
        if not self.reconciler.purge():
            log.error("Some records could not be removed (%d pending)", len(self.reconciler.pending))

    # -- the loop ----------------------------------------------------------------

    def _next_wakeup(self) -> float:
        now = self.clock()
        deadlines = [self._next_resync]
        retry = self.reconciler.retry_due_in()
        if retry is not None:
            deadlines.append(now + retry)
        if self._watchdog:
            deadlines.append(self._next_watchdog)
        if self.lease is not None:
            deadlines.append(now + self.lease.due_in())
        blocked = self.reconciler.blocked_due_in()
        if blocked is not None:
            deadlines.append(now + blocked)
        return max(0.0, min(min(deadlines) - now, 5.0))

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:  # while names wait in the backlog, only look whether an event came
                item = self.events.get(timeout=0 if self.reconciler.waiting() else self._next_wakeup())
            except queue.Empty:
                item = None
            if item == _STOP:
                self._finish_backlog()
                break
            try:
                self._dispatch(item)
                self._timers()
                if self.reconciler.waiting():
                    self.reconciler.drain(self._events_waiting)
            except DockerUnreachable as exc:
                log.warning("%s", exc)
                if not self._reconnect():
                    break

    def _events_waiting(self) -> bool:
        """Whether an event, an inspect's answer, a signal or a timer waits: the backlog then yields to it."""
        return not self.events.empty() or self._next_wakeup() == 0.0

    def _finish_backlog(self) -> None:
        """Asked to stop: sync what events asked for before the stop, for a moment (the next start does the rest)."""
        deadline = self.clock() + STOP_DRAIN
        if self.reconciler.waiting():
            self.reconciler.drain(lambda: self.clock() > deadline)
        if self.reconciler.waiting():
            log.warning("Stopping with %d name(s) not synced yet; the next start syncs them",
                        self.reconciler.waiting())

    def _dispatch(self, item) -> None:
        if item is None:
            return
        if item == _RELOAD:
            self._reload()
        elif isinstance(item, tuple) and item[0] == _INSPECTED:
            self._inspected(item[1], item[2])
        elif isinstance(item, tuple) and item[0] == _DISCONNECTED:
            if item[1] is self._stream:  # not the end of a stream already replaced
                log.warning("Lost the Docker event stream from %s", self.engine.where)
                self.health.docker_connected = False
                self._reconnect()
        else:
            self._handle(item)

    def _timers(self) -> None:
        now = self.clock()
        if self._watchdog and now >= self._next_watchdog:
            sd_notify("WATCHDOG=1")
            self._next_watchdog = now + self._watchdog
        if self.lease is not None and self.lease.due_in() == 0.0:
            self._renew_lease()
        if self.reconciler.blocked_due_in() == 0.0 and not self.reconciler.server_down():
            self._check_blocked()
        if now - self.health.dns_ok_at > self.health.stale_after / 2 and not self.reconciler.pending:
            self._probe_dns()
        self.reconciler.mend_journal()
        due = self.reconciler.retry_due_in()
        if now >= self._next_resync or (due == 0.0 and self.reconciler.needs_full):
            self._full()
        elif due == 0.0:
            self.reconciler.retry_pending(self._events_waiting)

    def _check_blocked(self) -> None:
        try:
            self.reconciler.check_blocked(self._events_waiting)
        except DnsError as exc:  # the next check looks again, later; an outage is reported by the update path
            log.log(logging.DEBUG if self._blocked_unanswered else logging.WARNING,
                    "Cannot look at names held by others now: %s", exc)
            self._blocked_unanswered = True
        else:
            self._blocked_unanswered = False

    def _renew_lease(self) -> None:
        """Claim or renew the lease; only ``OwnerCollision`` stops the watcher.

        Silence proves nothing, and a refusal of the key is reported by the
        update path: either way the lease is tried again a few seconds later.
        """
        try:
            self.lease.hold()
        except DnsError as exc:
            log.debug("Lease not renewed now: %s", exc)
            self.lease.retry_later()

    def _probe_dns(self) -> None:
        """Keep /healthz truthful while idle: one UPDATE probe that changes nothing."""
        try:
            self.reconciler.nameserver.probe()
        except DnsTransient:
            self.health.dns_failed()
        except DockernetError as exc:
            self.health.dns_failed()
            if str(exc) != self._probe_error:  # one line per state change, not one per probe
                log.error("%s", exc)
                self._probe_error = str(exc)
        else:
            self.health.dns_reached()
            if self._probe_error:
                log.info("The DNS server accepts this key again")
                self._probe_error = ""

    def _handle(self, raw: dict) -> None:
        """One engine event: a removal is applied at once, anything else is inspected (see eventorder.py)."""
        event = parse_event(raw)
        if event is None:
            return
        self._last_event_ns = max(self._last_event_ns, event.time_nano)
        self.metrics.event_seen(event.action)
        log.info("Event Fired (%s): %s", event.container_id[:12], event.action)
        if event.action in REMOVALS:
            self._apply(event.container_id, None, event.time_nano)
        elif event.action == "disconnect" and event.container_id in self.known:
            self._apply(event.container_id, self.known[event.container_id].without_network(event.network),
                        event.time_nano)
        request = self.order.event(event.container_id, event.action, event.time_nano)
        if request is not None:
            self.inspectors.submit(request)

    def _inspected(self, request: InspectRequest, answer) -> None:
        """An inspect returned: apply it unless a removal of its container came meanwhile, then ask again if
        newer events wait (after the UPDATE is sent, so that inspect does not compete with it for the CPU)."""
        apply, follow = self.order.inspected(request)
        try:
            if apply:
                self._apply_answer(request, answer)
        finally:
            if follow is not None:
                self.inspectors.submit(follow)

    def _apply_answer(self, request: InspectRequest, answer) -> None:
        if isinstance(answer, DockernetError):
            raise answer  # DockerUnreachable: the loop reconnects and reconciles everything
        if isinstance(answer, Exception):
            log.error("Cannot read container (%s) from the engine (%s: %s); the next resync looks again",
                      request.container_id[:12], answer.__class__.__name__, printable(str(answer)))
            return
        self._apply(request.container_id, answer, request.time_nano)

    def _apply(self, container_id: str, info: ContainerInfo | None, time_nano: int) -> None:
        before = self.reconciler.applied
        if info is not None and info.running:
            self.known[container_id] = info
        else:
            self.known.pop(container_id, None)
        self.reconciler.container_changed(container_id, info, interrupt=self._events_waiting)
        if self.reconciler.applied > before and time_nano:
            self.metrics.latency(max(0.0, (time.time_ns() - time_nano) / 1e9))

    def _full(self) -> None:
        """A full reconcile from a fresh listing; schedules the next one."""
        self._next_resync = self.clock() + self.options.resync_interval
        running = self.engine.running()
        self.known = {info.id: info for info in running}  # no entry outlives a container whose events were lost
        ok = self.reconciler.full(running, guard=self.deletion_guard)
        if ok and not self._ready_sent:
            self._ready_sent = sd_notify("READY=1\nSTATUS=watching")

    def deletion_guard(self, doomed: set, owned: int) -> bool:
        """Allow the deletions a full reconcile found, or hold them back for a second listing.

        Nothing is removed before this owner id's lease is held: another engine
        may run under the same id (see owners.py); and nothing while another
        process holds it now (it is read once more first: ``LeaseKeeper.confirm``).
        """
        now = self.clock()
        if self.lease is not None and not self.lease.held:
            log.warning("Holding back removal of %d record(s) until this owner id's lease is held", len(doomed))
            self._next_resync = min(self._next_resync, now + self.options.settle_time)
            return False
        young = now - self._connected_at < self.options.settle_time
        many = len(doomed) >= 4 and len(doomed) * 2 > owned
        if not young and (not many or frozenset(doomed) == self._held):
            if self.lease is not None and not self.lease.confirm():  # OwnerCollision: another holds it now
                log.warning("Holding back removal of %d record(s) until this owner id's lease can be confirmed",
                            len(doomed))
                self._next_resync = min(self._next_resync, now + self.options.settle_time)
                return False
            self._held = frozenset()
            return True
        if frozenset(doomed) != self._held:
            reason = (f"Docker was (re)connected {now - self._connected_at:.1f} s ago" if young
                      else f"that is {len(doomed)} of this owner's {owned} records")
            log.warning("Holding back removal of %d record(s) whose containers Docker does not list: %s; "
                        "checking again in %g s", len(doomed), reason, self.options.settle_time)
        self._held = frozenset(doomed)
        self._next_resync = min(self._next_resync, now + self.options.settle_time)
        return False

    def _reload(self) -> None:
        log.info("SIGHUP: re-reading the key file and resyncing")
        if self.options.reload_key is not None:
            self._adopt_new_key()
        self._next_resync = self.clock()

    def _adopt_new_key(self) -> None:
        """Sign with the re-read key only once the server accepted it, as start-up does.

        A well-formed file with a wrong secret would otherwise turn every
        later update into BADSIG; the old key keeps working meanwhile.
        """
        try:
            key = self.options.reload_key()
        except DockernetError as exc:
            log.error("Keeping the old key: %s", exc)
            return
        trial = self.reconciler.nameserver.with_key(key)
        try:
            trial.probe()
        except DnsTransient as exc:
            log.error("Keeping the old key: the new %s cannot be checked now (%s); send SIGHUP again", key, exc)
            return
        except DockernetError as exc:
            log.error("Keeping the old key: the server does not accept the new %s: %s", key, exc)
            return
        self.reconciler.nameserver.rekey(key)  # in place: the reconciler and the lease keeper sign with it
        log.info("Now signing with %s", key)

    # -- the engine connection ------------------------------------------------------

    def _reconnect(self) -> bool:
        """(Re)open the event stream and reconcile; False when asked to stop first."""
        while True:
            self._close_stream()
            self.health.docker_connected = False
            if not self._wait_for_docker():
                return False
            try:
                self._connect()
                return True
            except DockerUnreachable as exc:
                log.warning("%s", exc)

    def discover_reverse_zones(self) -> None:
        """``--reverse-zone auto``: ask the server which zone holds each Docker subnet's reverse names."""
        zones = reversezones.for_subnets(self.reconciler.nameserver, self.engine.subnets())
        self.reconciler.set_reverse_zones(zones)

    def _connect(self) -> None:
        """Subscribe to events, then reconcile everything (see the module docstring)."""
        since = since_parameter(self._last_event_ns + 1) if self._last_event_ns else None
        if self.options.auto_reverse:
            self.discover_reverse_zones()
        opened_ns = time.time_ns()
        self._stream = self.engine.events(since=since)
        self._connected_at = self.clock()
        self.health.docker_connected = True
        if not self._last_event_ns:
            self._last_event_ns = opened_ns
        reader = threading.Thread(target=self._read_events, args=(self._stream,), name="docker-events", daemon=True)
        reader.start()
        running = self.engine.running()
        log.info("Watching Docker events at %s; %d running container(s)", self.engine.where, len(running))
        self._next_resync = self.clock() + self.options.resync_interval
        self.order.reset()  # inspects asked for before this listing are covered by it
        self.known = {info.id: info for info in running}
        self.reconciler.full(running, guard=self.deletion_guard)
        if not self._ready_sent:
            # ready once the first reconcile ran, even if DNS is down: the watcher is doing its job
            self._ready_sent = sd_notify("READY=1\nSTATUS=watching")

    def _read_events(self, stream) -> None:
        for raw in iterate_events(stream):
            self.events.put(raw)
        if not self.stopping.is_set():
            self.events.put((_DISCONNECTED, stream))

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing a broken stream may raise anything; it is gone either way
                pass

    def _wait_for_docker(self) -> bool:
        """Block until the engine answers (False if asked to stop first). Logs once, not per try."""
        delay = 0.2
        announced = False
        while not self.stopping.is_set():
            try:
                self.engine.ping()
            except DockerUnreachable as exc:
                if not announced:
                    log.warning("Waiting for Docker: %s (%s)", exc, docker_pid_state(self.options.docker_pid))
                    announced = True
                if self._watchdog:
                    sd_notify("WATCHDOG=1")  # waiting for Docker is not hanging
                self.stopping.wait(delay)
                delay = min(self.options.reconnect_cap, delay * 2)
                continue
            if announced:
                log.info("Docker answers again at %s", self.engine.where)
            return True
        return False


"""Keep the zone in step with the containers: claims in, plan, apply, remember.

``Reconciler`` only orchestrates. The claims of the running containers are
in a ``ClaimIndex`` (by name and by container, so one event only touches
the names of one container); what the zone holds is read and remembered by
a ``ZoneReader``. Events and full resyncs both end in ``sync_name``, which
plans one name (``plan.plan_names``) and sends the change
(``ddns.Nameserver``); a full reconcile first sends what it can in batches
of many names (each name keeping its own prerequisites) and leaves the rest
to ``sync_name``. Names held by others are watched by ``BlockedNames``; what
the operator reads is said once by ``Notices``. What the watch loop and
``/healthz`` read of it (pending names, when to retry, the zone as known)
is ``ReconcilerStatus``, answered from its collaborators' books.

Failures are kept to the names they concern (``triage.rejection_scope``
decides; ``Retries`` keeps the books):

* **transient** (timeout, connection refused, SERVFAIL): the name stays in
  ``pending`` and is planned again from the newest claims, so its changes are
  never applied out of order. Its fate on the server is unknown (a timed-out
  UPDATE may still be applied), so it is *unsure*: looked up before it is
  planned again. One such failure holds up no other name; two in a row mean
  the server is down, and everything waits for the backoff. When the server
  answers again, a full reconcile follows shortly, to catch UPDATEs that
  landed after their answers were lost. A SERVFAIL is an answer, so it is
  looked into first: while the zone's probe still passes, the failure is
  that update's (an RRset above the server's limit), and only that name
  waits, with backoff; no other name is held up.
* **rejected for that name** (REFUSED or NOTAUTH while the zone still accepts
  this key's probe, NOTZONE, FORMERR): the name is *set aside* alone, logged
  once with the server's verdict and the containers that want it, counted in
  the metrics and shown in ``/healthz`` as degraded. It is tried again only
  when something about it changes: an event of its container, SIGHUP, or the
  periodic resync.
* **rejected for the key or the zone** (a TSIG error, or a refusal the zone
  probe confirms): no update can succeed; everything waits, with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

import dns.name

from dockernet.ddns import Nameserver, Transfer
from dockernet.engine.model import ContainerInfo
from dockernet.errors import DnsError
from dockernet.metrics import Health, NullMetrics
from dockernet.publish.claims import RecordPolicy, claims_of
from dockernet.publish.plan import Change, Claim, Current, Owned, plan_names, publishable
from dockernet.sync.backlog import Backlog
from dockernet.sync.blocked import BlockedNames
from dockernet.sync.claimindex import ClaimIndex
from dockernet.sync.journal import Journal
from dockernet.sync.namesync import Interrupt, NameSync
from dockernet.sync.notices import Notices
from dockernet.sync.retries import Backoff, Retries, SetAside
from dockernet.sync.triage import Triage
from dockernet.sync.writer import ZoneWriter
from dockernet.sync.zonereader import ZoneReader, ZoneState

#: ``guard(doomed, owned)`` may veto the deletions a full reconcile found (see ``Reconciler.full``)
DeletionGuard = Callable[[set, int], bool]


class ReconcilerStatus:
    """What the watch loop, ``/healthz``, ``topology`` and the tests read of a reconciler: answers from the books
    of the collaborators it is given, changing nothing. Kept apart so that ``Reconciler`` reads as what it does."""

    retries: Retries
    zone: ZoneReader
    writer: ZoneWriter
    blocked: BlockedNames
    index: ClaimIndex
    backlog: Backlog

    @property
    def clock(self) -> Callable[[], float]:
        """The clock retries and backoffs are timed by."""
        return self.retries.clock

    @property
    def health(self) -> Health:
        """What ``/healthz`` reports, as the reconcile's outcomes set it."""
        return self.retries.health

    @property
    def applied(self) -> int:
        """Changes applied since start; the watcher reads it to time events."""
        return self.writer.applied

    @property
    def needs_full(self) -> bool:
        """A full reconcile is due when the retry is (the last one failed, or an outage just ended)."""
        return self.retries.full_due

    @property
    def current(self) -> ZoneState:
        return self.zone.current

    @property
    def pending(self) -> set[dns.name.Name]:
        return self.retries.pending

    @property
    def unsure(self) -> set[dns.name.Name]:
        return self.retries.unsure

    @property
    def set_aside(self) -> dict[dns.name.Name, SetAside]:
        return self.retries.set_aside

    def owned(self) -> dict[dns.name.Name, Owned]:
        return self.zone.owned()

    def waiting(self) -> int:
        """How many names events asked for wait in the backlog (the watch loop yields to events while any do)."""
        return len(self.backlog)

    def claims_of_container(self, container_id: str) -> list[Claim]:
        """What this container asks for now, as the last reconcile saw it (``topology``)."""
        return self.index.claims_of_container(container_id)

    def blocked_due_in(self) -> float | None:
        """Seconds until the names held by others should be looked at (None: none is)."""
        return self.blocked.due_in()

    def server_down(self) -> bool:
        """Whether the server is taken for down (two failures in a row): everything waits for the backoff."""
        return self.retries.server_down

    def retry_due_in(self) -> float | None:
        """Seconds until pending names, or a full reconcile, should be tried (None: nothing waits)."""
        return self.retries.due_in()


class Reconciler(ReconcilerStatus):
    """Claims in, plan, apply, remember: the collaborators it is given do the reading, writing and telling."""

    def __init__(
        self,
        policy: RecordPolicy,
        nameserver: Nameserver,
        clock: Callable[[], float] = time.monotonic,
        retry_first: float = 0.5,
        retry_cap: float = 15.0,
        journal: Journal | None = None,
        metrics: NullMetrics | None = None,
        health: Health | None = None,
        *,
        notices: Notices | None = None,
        retries: Retries | None = None,
        zone: ZoneReader | None = None,
        writer: ZoneWriter | None = None,
        blocked: BlockedNames | None = None,
        triage: Triage | None = None,
    ):
        self.policy = policy
        self.nameserver = nameserver
        self.metrics = metrics or NullMetrics()
        health = health or Health()
        self.notices = notices or Notices()
        self.retries = retries or Retries(clock, self.metrics, health, retry_first, retry_cap, self.notices)
        self.zone = zone or ZoneReader(nameserver, policy.zone, journal, self.notices)
        self.writer = writer or ZoneWriter(nameserver, self.zone, journal, self.metrics, health, self.notices)
        self.blocked = blocked or BlockedNames(nameserver, clock, self.metrics, Backoff(retry_first, retry_cap))
        self.triage = triage or Triage(nameserver, self.retries, self.metrics)
        self.index = ClaimIndex()
        self.backlog = Backlog()  # names waiting to be synced, served in turn (see backlog.py)
        self.names = NameSync(
            nameserver,
            self.index,
            self.zone,
            self.writer,
            self.retries,
            self.triage,
            self.blocked,
            self.notices,
            self.backlog,
        )

    # -- inputs ---------------------------------------------------------------

    def container_changed(
        self, container_id: str, info: ContainerInfo | None, interrupt: Callable[[], bool] | None = None
    ) -> bool:
        """One container started, stopped, went or changed: sync only its names. With ``interrupt``, they join
        the backlog, synced in turn with other containers' (``drain``); True when nothing is left waiting."""
        claims = self._claims_of(info) if info is not None else []
        if info is None or not info.running:
            self.notices.container_gone(container_id)
        names = self.index.set_container(container_id, claims)
        self.retries.release(names)  # its container changed: a set-aside name may be tried again
        if interrupt is None:
            return self.sync(names)
        self.backlog.add(container_id, names)
        return self.drain(interrupt)

    def _claims_of(self, info: ContainerInfo) -> list[Claim]:
        return claims_of(info, self.policy, self.notices.remarks_of(info.id))

    def load(
        self,
        containers: list[ContainerInfo],
        transferred: Callable[[], Transfer[Current]] | None = None,
    ) -> set[dns.name.Name]:
        """Index every running container's claims and read the zones' truth (``ZoneReader.read``); returns the
        names in play. ``transferred``: a transfer of everything a caller started earlier."""
        names = self.index.replace_all({info.id: self._claims_of(info) for info in containers})
        self.zone.read(names, self.unsure, transferred, self.names.refused_on_read)
        self.unsure.clear()  # every name in play was just read from the server
        self.retries.server_answered()
        return names | set(self.owned())

    def preview(self, containers: list[ContainerInfo]) -> list[Change]:
        """The changes a full reconcile would send, sending nothing (``dns sync --dry-run``)."""
        return list(plan_names(self.load(containers), self.index.claims_for, self.current).changes)

    def full(self, containers: list[ContainerInfo], guard: DeletionGuard | None = None) -> bool:
        """Start over from every running container and the zones' truth (see ``load``).

        ``guard`` sees the names whose records would be deleted (no running
        container claims them) and may hold them back. With no containers at
        all this removes everything this owner holds (``dns purge``). Names
        set aside are tried once more, each alone (a resync is a change).
        """
        retry = set(self.set_aside)
        self.retries.release(retry)
        try:
            names = self.load(containers)
        except DnsError as exc:
            self.retries.full_failed(self.index.names(), str(exc))
            return False
        self.retries.full_done()
        owned = set(self.owned())
        self.writer.rewrite_journal(self.owned())
        doomed = {name for name in owned if not publishable(name, self.index.claims_for(name), self.current)}
        if doomed and guard is not None and not guard(doomed, len(owned)):
            names -= doomed
        ok = self.names.sync_all(names, alone=retry)
        if not self.pending:  # names set aside are reported on their own; they do not make a resync stale
            self.metrics.reconciled()
        return ok

    def purge(self) -> bool:
        """Remove every record this owner wrote, PTRs included, and nothing else (``dns purge``,
        ``--cleanup-on-exit``): the reverse zones are found first, then a full reconcile with no containers
        deletes each owned name, every delete carrying this owner's mark as its prerequisite."""
        self.find_owner_reverse_zones()
        return self.full([])

    def find_owner_reverse_zones(self) -> None:
        """Add the reverse zones this owner's PTR records may be in, whether or not --reverse-zone named them."""
        zones = self.zone.owner_reverse_zones()
        if zones is not None:
            self.set_reverse_zones(zones)

    def set_address(self, mode: str, host_address: str) -> None:
        """Publish containers' addresses (``container``) or this host's (``host``) from now on."""
        self.policy = replace(self.policy, address=mode, host_address=host_address)

    def set_reverse_zones(self, zones: tuple[dns.name.Name, ...]) -> None:
        """Publish (and look for) PTR records in these reverse zones from now on."""
        self.policy = replace(self.policy, reverse_zones=zones)
        self.nameserver.use_reverse_zones(zones)

    # -- applying (``NameSync``) -----------------------------------------------

    def sync(
        self,
        names: Iterable[dns.name.Name],
        verified: bool = False,
        interrupt: Interrupt = lambda: False,
    ) -> bool:
        """Bring each name in line, then the backlog; True when every one is done (none pending or set aside)."""
        return self.names.sync(names, verified, interrupt)

    def sync_name(self, fqdn: dns.name.Name, verified: bool = False) -> bool:
        """Bring one name in line; False when it is left pending or set aside."""
        return self.names.sync_name(fqdn, verified)

    def drain(self, interrupt: Interrupt = lambda: False) -> bool:
        """Sync the backlog one name at a time, stopping after any name once ``interrupt()`` says events wait."""
        return self.names.drain(interrupt)

    def retry_pending(self, interrupt: Interrupt = lambda: False) -> bool:
        """Try the pending names again, then the backlog until ``interrupt()``."""
        return self.names.retry_pending(interrupt)

    # -- names held by others ---------------------------------------------------

    def check_blocked(self, interrupt: Callable[[], bool] = lambda: False) -> None:
        """Take the names held by others as soon as they are released (``BlockedNames.check``), without waiting
        for a resync. Raises ``DnsTransient`` when the server does not answer, saying when it looks again."""
        self.blocked.check(lambda name, state: self.names.released(name, state, interrupt))

    def mend_journal(self) -> None:
        """Rewrite a journal that missed lines, once it can be written (journal.py); at most once a second."""
        self.writer.mend_journal()

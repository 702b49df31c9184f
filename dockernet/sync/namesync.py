"""Bringing names in line: plan each, send its change, remember what the zone holds now.

``NameSync`` is the apply step of the reconciler. A name is planned from
its claims (``plan.plan_names``), its change sent (``ZoneWriter``), and on
a failed prerequisite looked up and planned again; a failure goes to
``Triage``. The names an event asked for wait in the ``Backlog``, one
container's at a time, so the watcher can read its events between any two
UPDATEs; a name that changed hands queues what hangs on it (its SRV names
and PTRs). A full reconcile first sends what it can in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dns.name

from dockernet.ddns import Nameserver, Outcome
from dockernet.errors import DnsError, DnsRejected, DnsTransient, PrerequisiteFailed
from dockernet.publish.plan import Change, Current, Delete, forward_first, is_reverse_name, is_srv_name, plan_names
from dockernet.sync.backlog import Backlog
from dockernet.sync.blocked import BlockedNames
from dockernet.sync.claimindex import ClaimIndex
from dockernet.sync.notices import Notices
from dockernet.sync.retries import Retries
from dockernet.sync.triage import Triage
from dockernet.sync.writer import ZoneWriter
from dockernet.sync.zonereader import ZoneReader

#: ``interrupt()`` says events wait: the backlog yields to them
Interrupt = Callable[[], bool]


class NameSync:
    """Syncs names one at a time (or in batches), the backlog in turn; hands failures to ``Triage``."""

    def __init__(
        self,
        nameserver: Nameserver,
        index: ClaimIndex,
        zone: ZoneReader,
        writer: ZoneWriter,
        retries: Retries,
        triage: Triage,
        blocked: BlockedNames,
        notices: Notices,
        backlog: Backlog,
    ):
        self._nameserver = nameserver
        self._index = index
        self._zone = zone
        self._writer = writer
        self._retries = retries
        self._triage = triage
        self._blocked = blocked
        self._notices = notices
        self._backlog = backlog

    def sync(
        self, names: Iterable[dns.name.Name], verified: bool = False, interrupt: Interrupt = lambda: False
    ) -> bool:
        """Bring each name in line, then the backlog; True when every one is done (none pending or set aside).

        Names are synced address names first, so an SRV name or PTR among
        them is planned once the name it hangs on is in; the backlog then
        holds only what hangs on names that changed hands elsewhere, drained
        until ``interrupt()`` says events wait.
        """
        names = set(names)
        ok = True
        for fqdn in sorted(names, key=forward_first):
            ok = self.sync_name(fqdn, verified) and ok
        self._backlog.discard(names)
        return self.drain(interrupt) and ok

    def drain(self, interrupt: Interrupt = lambda: False) -> bool:
        """Sync the backlog one name at a time, stopping after any name once ``interrupt()`` says events wait.

        True when the backlog is empty and every name synced was done.
        """
        ok = True
        while self._backlog:
            fqdn, verified = self._backlog.pop()
            ok = self.sync_name(fqdn, verified) and ok
            if self._backlog and interrupt():
                return False
        return ok

    def retry_pending(self, interrupt: Interrupt = lambda: False) -> bool:
        """Try the pending names again, then the backlog until ``interrupt()``; stops at the first failure while
        the server is down."""
        ok = True
        for fqdn in self._retries.in_retry_order():
            if not self.sync_name(fqdn, verified=False):
                ok = False
                if self._retries.server_down:
                    return False
        return self.drain(interrupt) and ok  # what hangs on the names just done, among the rest

    def released(self, fqdn: dns.name.Name, state: Current, interrupt: Interrupt) -> None:
        """A name held by others changed (``BlockedNames.check``): remember what it holds now, and sync it."""
        self._zone.remember(fqdn, state)
        self.sync([fqdn], verified=True, interrupt=interrupt)

    def sync_name(self, fqdn: dns.name.Name, verified: bool = False) -> bool:
        """Bring one name in line; False when it is left pending or set aside."""
        if self._retries.waiting(fqdn):
            return False
        try:
            self._sync_name(fqdn, verified)
        except DnsError as exc:
            self._triage.failed(fqdn, exc, self._index.wanted_by(fqdn, self._zone.current.get(fqdn)))
            return False
        if self._retries.succeeded(fqdn):
            # an outage ended: UPDATEs whose answers were lost may land even now; look at the whole zone soon
            self._retries.full_after(2 * self._nameserver.target.timeout)
        return True

    def _sync_name(self, fqdn: dns.name.Name, verified: bool) -> None:
        """Plan the name, send its change, and on a failed prerequisite look and plan again (three times)."""
        unsure = self._retries.unsure
        if fqdn in unsure:  # the last UPDATE got no answer: it may have been applied after all
            self._zone.refresh(fqdn)
            unsure.discard(fqdn)
            verified = True
        for _attempt in range(3):
            self._notices.collision(fqdn, self._index.claims_for(fqdn), self._zone.current.get(fqdn))
            step = plan_names([fqdn], self._index.claims_for, self._zone.current)
            if step.blocked and not verified:  # make sure before saying so: look at the name once
                self._zone.refresh(fqdn)
                verified = True
                continue
            self._blocked.note(fqdn, step.blocked)
            if not step.changes:
                return
            try:
                outcome = self._writer.send(step.changes[0])
            except DnsTransient:
                unsure.add(fqdn)
                raise
            if outcome is Outcome.APPLIED:
                self._follow(step.changes[0])
                return
            # a prerequisite failed: the zone is not as we thought; look and plan again
            self._zone.refresh(fqdn)
            verified = True
        raise PrerequisiteFailed(f"{fqdn} kept changing on the server while dockernet updated it; trying again")

    def sync_all(self, names: set[dns.name.Name], alone: set[dns.name.Name]) -> bool:
        """A full reconcile's names: in batches where they can go, then name by name; True when every one is done.

        Names set aside are left out of the batches (a rejected name fails a
        whole batch), as is ``alone``: the names that were set aside until
        this resync, each tried once more by itself.
        """
        for fqdn in names:  # the batches bypass sync_name, which says it per event
            self._notices.crowded(fqdn, self._index.claims_for(fqdn))
        names = names - self.send_in_batches(names - alone - set(self._retries.set_aside))
        return self.sync(names, verified=True)

    def refused_on_read(self, fqdn: dns.name.Name, exc: DnsRejected) -> None:
        """The server refused to say what ``fqdn`` holds (``ZoneReader.read``): set it aside, naming who wants it."""
        self._triage.refused_on_read(fqdn, exc, self._index.wanted_by(fqdn, self._zone.current.get(fqdn)))

    def send_in_batches(self, names: set[dns.name.Name]) -> set[dns.name.Name]:
        """Plan many names and send them in few UPDATEs; returns the names done.

        Address names go first; SRV names, then PTRs, are planned once the
        names they hang on are in (``plan.holds_parent``). What a batch could
        not do is left to the name-by-name path, which finds out which name
        was not as planned.
        """
        if len(names) < 2 or self._retries.pending:
            return set()
        done: set[dns.name.Name] = set()
        srv = {n for n in names if is_srv_name(n)}
        reverse = {n for n in names if is_reverse_name(n)}
        for group in (names - srv - reverse, srv, reverse):
            applied = self._writer.send_batched(plan_names(group, self._index.claims_for, self._zone.current).changes)
            if applied.lost:
                self._retries.transient_batch(change.fqdn for change in applied.lost)
            for change in applied.done:
                self._follow(change)
                done.add(change.fqdn)
        self._backlog.discard(done)  # an SRV name or PTR sent in a later batch needs no second look
        return done

    def _follow(self, change: Change) -> None:
        """A name changed hands: the new holder's SRV and PTR records may now be published (``plan.holds_parent``)."""
        fqdn = change.fqdn
        if not isinstance(change, Delete) and not is_reverse_name(fqdn) and not is_srv_name(fqdn):
            for container_id, derived in self._index.hanging_on(fqdn).items():
                self._backlog.add(container_id, derived)

"""Sending planned changes to the server, and the books of what it applied (the journal, the counts).

``ZoneWriter`` is the dumb loop after the plan: it journals a name before
its UPDATE is sent (see journal.py), sends the change or a batch of them,
and for each change applied remembers the new state (``ZoneReader``),
drops a deleted name from the journal and says what was done. It decides
nothing: failures propagate to the reconciler, which triages them.
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.name

from dockernet.ddns import Applied, Nameserver, Outcome
from dockernet.metrics import Health, NullMetrics
from dockernet.publish.plan import Change, Delete, Owned, current_after
from dockernet.sync.journal import Journal
from dockernet.sync.notices import Notices
from dockernet.sync.zonereader import ZoneReader


class ZoneWriter:
    """Sends changes and keeps the books of those applied; reports the journal's health."""

    def __init__(
        self,
        nameserver: Nameserver,
        zone: ZoneReader,
        journal: Journal | None = None,
        metrics: NullMetrics | None = None,
        health: Health | None = None,
        notices: Notices | None = None,
    ):
        self._nameserver = nameserver
        self._zone = zone
        self.journal = journal
        self._metrics = metrics or NullMetrics()
        self._health = health or Health()
        self._notices = notices or Notices()
        #: changes applied since start; the watcher reads it to time events
        self.applied = 0
        if journal is not None:
            journal.on_state = self._journal_state
            journal.on_failure = self._metrics.journal_failed
            self._health.journal_error = journal.error  # it may fail from the start (a read-only --state-dir)

    def _journal_state(self, error: str) -> None:
        """The journal started or stopped failing: said once per change, and shown in /healthz."""
        self._health.journal_error = error
        if self.journal is not None:
            self._notices.journal_state(self.journal.path, error)

    def send(self, change: Change) -> Outcome:
        """Send one change (journaled first); CONFLICT: a prerequisite did not hold. ``DnsError`` propagates."""
        self._journal_before([change])
        outcome = self._nameserver.send(change)
        self._metrics.update_done("NOERROR" if outcome is Outcome.APPLIED else "PREREQUISITE_FAILED")
        self._health.dns_reached()
        if outcome is Outcome.APPLIED:
            self._book(change)
        return outcome

    def send_batched(self, changes: tuple[Change, ...]) -> Applied:
        """Send many changes in few UPDATEs (``Nameserver.apply_batched``) and book those applied."""
        self._journal_before(changes)
        applied = self._nameserver.apply_batched(changes)
        if applied.done:
            self._health.dns_reached()
        for change in applied.done:
            self._book(change)
        return applied

    def _book(self, change: Change) -> None:
        """Book-keeping and the log line for a change the server applied."""
        self.applied += 1
        self._zone.remember(change.fqdn, current_after(change))
        if isinstance(change, Delete) and self.journal:
            self.journal.remove(change.fqdn)
        self._notices.applied(change)

    def _journal_before(self, changes: Iterable[Change]) -> None:
        """Journal the names about to be written, before the UPDATE is sent (see journal.py)."""
        if self.journal:
            for change in changes:
                if not isinstance(change, Delete):
                    self.journal.add(change.fqdn, change.claim.short_id)

    def rewrite_journal(self, owned: dict[dns.name.Name, Owned]) -> None:
        """After a full read of the zone: the journal holds exactly this owner's names."""
        if self.journal:
            self.journal.rewrite({name: state.short_id for name, state in owned.items()})

    def mend_journal(self) -> None:
        """Rewrite a journal that missed lines, once it can be written (journal.py); at most once a second."""
        if self.journal is not None:
            self.journal.mend()

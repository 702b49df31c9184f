"""The deletion guard: removals a full reconcile found wait until Docker's listing can be trusted.

An engine that lists too few containers (it is still starting, or was just
reconnected) would make a full reconcile remove records of containers that
run. So its deletions are held back while the connection is young or when
they would remove most of this owner's records, and made only when a later
listing agrees; and nothing is removed before this owner id's lease is held
and confirmed as still ours (another engine may run under the same id).
"""

from __future__ import annotations

import logging

from dockernet.watch.ownership import Ownership
from dockernet.watch.timers import Timers

log = logging.getLogger("dockernet")


class DeletionGuard:
    """``allow`` is handed to ``Reconciler.full``; a refusal brings the next full reconcile forward."""

    def __init__(self, timers: Timers, ownership: Ownership, settle_time: float = 10.0):
        self.timers = timers
        self.ownership = ownership
        #: how long after (re)connecting deletions found by a full reconcile wait for a second listing
        self.settle_time = settle_time
        self._connected_at = 0.0
        #: the deletions held back last time: the same answer twice lets a mass removal through
        self._held: frozenset[str] = frozenset()

    def connected(self) -> None:
        """The event stream was (re)opened now: the next listings may be short for a while."""
        self._connected_at = self.timers.now()

    def allow(self, doomed: set[str], owned: int) -> bool:
        """Allow the deletions a full reconcile found, or hold them back for a second listing.

        Nothing is removed before this owner id's lease is held: another engine
        may run under the same id (see leases.py); and nothing while another
        process holds it now (it is read once more first: ``LeaseKeeper.confirm``).
        """
        now = self.timers.now()
        if not self.ownership.held():
            log.warning("Holding back removal of %d record(s) until this owner id's lease is held", len(doomed))
            self.timers.resync_within(self.settle_time)
            return False
        young = now - self._connected_at < self.settle_time
        many = len(doomed) >= 4 and len(doomed) * 2 > owned
        if not young and (not many or frozenset(doomed) == self._held):
            if not self.ownership.confirm():  # OwnerCollision: another holds it now
                log.warning(
                    "Holding back removal of %d record(s) until this owner id's lease can be confirmed", len(doomed)
                )
                self.timers.resync_within(self.settle_time)
                return False
            self._held = frozenset()
            return True
        if frozenset(doomed) != self._held:
            reason = (
                f"Docker was (re)connected {now - self._connected_at:.1f} s ago"
                if young
                else f"that is {len(doomed)} of this owner's {owned} records"
            )
            log.warning(
                "Holding back removal of %d record(s) whose containers Docker does not list: %s; "
                "checking again in %g s",
                len(doomed),
                reason,
                self.settle_time,
            )
        self._held = frozenset(doomed)
        self.timers.resync_within(self.settle_time)
        return False

"""What is due when: the periodic resync, retries, looks at blocked names, lease renewals, systemd keep-alives.

The watch loop sleeps until the earliest of them (``wakeup_in``), then asks
which are due. Time is a parameter (``clock``), so the schedule is tested
without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dockernet.watch.supervision import Supervisor

if TYPE_CHECKING:
    from dockernet.sync.reconciler import Reconciler
    from dockernet.watch.ownership import Ownership

#: the loop wakes at least this often (seconds), whatever is due
LONGEST_SLEEP = 5.0


class Timers:
    """The resync schedule, and the deadlines the reconciler, the lease and systemd set."""

    def __init__(
        self,
        clock: Callable[[], float],
        resync_interval: float,
        reconciler: Reconciler,
        ownership: Ownership,
        supervisor: Supervisor,
    ):
        self.clock = clock
        self.resync_interval = resync_interval
        self.reconciler = reconciler
        self.ownership = ownership
        self.supervisor = supervisor
        #: when the next full reconcile is due (``clock`` time)
        self.next_resync = float("inf")

    def now(self) -> float:
        return self.clock()

    def resync_later(self) -> None:
        """A full reconcile starts now: the next one is due an interval later."""
        self.next_resync = self.clock() + self.resync_interval

    def resync_now(self) -> None:
        self.next_resync = self.clock()

    def resync_within(self, seconds: float) -> None:
        """Bring the next full reconcile forward to at most ``seconds`` from now."""
        self.next_resync = min(self.next_resync, self.clock() + seconds)

    def resync_due(self, now: float) -> bool:
        return now >= self.next_resync

    def lease_due(self) -> bool:
        return self.ownership.due_in() == 0.0

    def blocked_check_due(self) -> bool:
        """Names held by others are looked at when due, and not while the server is down."""
        return self.reconciler.blocked_due_in() == 0.0 and not self.reconciler.server_down()

    def wakeup_in(self) -> float:
        """Seconds until the earliest deadline (0: something is due now), at most ``LONGEST_SLEEP``."""
        now = self.clock()
        deadlines = [self.next_resync]
        retry = self.reconciler.retry_due_in()
        if retry is not None:
            deadlines.append(now + retry)
        keep_alive = self.supervisor.next_keep_alive()
        if keep_alive is not None:
            deadlines.append(keep_alive)
        lease = self.ownership.due_in()
        if lease is not None:
            deadlines.append(now + lease)
        blocked = self.reconciler.blocked_due_in()
        if blocked is not None:
            deadlines.append(now + blocked)
        return max(0.0, min(min(deadlines) - now, LONGEST_SLEEP))

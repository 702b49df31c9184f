"""Which names wait, why, and when they are tried again: the reconciler's failure book-keeping.

The reconciler decides whom a failure concerns (``triage``); this class
only keeps the books, and ``Notices`` says so in the log:

* ``pending``: names to plan again when their retry is due, with backoff
  (0.5 s doubling to ``retry_cap``). While the server is down every name
  waits; otherwise a pending name holds up no other name.
* ``unsure``: names whose last UPDATE got no answer; they are looked up
  before they are planned again (the UPDATE may have been applied).
* ``set_aside``: names the server rejected for themselves; not tried until
  something about them changes (``release``).
* ``full_due``: a full reconcile waits for the retry (the last one failed,
  or an outage just ended).

No I/O; time comes from ``clock``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dns.name

from dockernet.metrics import Health, NullMetrics
from dockernet.publish.plan import forward_first
from dockernet.sync.notices import Notices


@dataclass(frozen=True)
class SetAside:
    """A name the server rejected for a reason that retrying will not change."""

    verdict: str  # the rcode: REFUSED, NOTZONE, ...
    reason: str  # what the verdict means, as the user reads it
    containers: tuple[str, ...]  # short ids of the containers that want the name


class Backoff:
    """A wait that doubles from ``first`` up to ``cap`` while failures go on, and starts over after ``reset``."""

    def __init__(self, first: float = 0.5, cap: float = 15.0):
        self.first = first
        self.cap = cap
        self.delay = 0.0

    def grow(self) -> float:
        """The next wait: ``first``, then twice the last, at most ``cap``."""
        self.delay = min(self.cap, max(self.first, self.delay * 2))
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


class Retries:
    def __init__(
        self,
        clock: Callable[[], float],
        metrics: NullMetrics,
        health: Health,
        retry_first: float = 0.5,
        retry_cap: float = 15.0,
        notices: Notices | None = None,
    ):
        self.clock = clock
        self.metrics = metrics
        self.health = health
        self.notices = notices or Notices()
        self.backoff = Backoff(retry_first, retry_cap)
        self.pending: set[dns.name.Name] = set()
        self.unsure: set[dns.name.Name] = set()
        self.set_aside: dict[dns.name.Name, SetAside] = {}
        self.retry_at = 0.0
        #: a full reconcile is due when the retry is
        self.full_due = False
        #: transient failures in a row; two mean the server is down, not one name
        self._streak = 0
        self.server_down = False

    @property
    def retry_cap(self) -> float:
        return self.backoff.cap

    def waiting(self, fqdn: dns.name.Name) -> bool:
        """Whether ``fqdn`` must not be sent now: set aside, or the server is down and the retry not due."""
        if fqdn in self.set_aside:
            return True
        if self.server_down and self.clock() < self.retry_at:
            self.pending.add(fqdn)
            return True
        return False

    # -- failures -----------------------------------------------------------------

    def transient(self, fqdn: dns.name.Name, message: str) -> None:
        """No answer, or SERVFAIL: one such failure is the name's; a second in a row is the server's."""
        if self._streak == 0:
            self._streak = 1
            self._back_off([fqdn], message)
        else:
            self.server_failed([fqdn], message)

    def transient_batch(self, names: Iterable[dns.name.Name]) -> None:
        """A batch got no answer: its names are unsure, and the next failure means the server is down."""
        self.unsure.update(names)
        self._streak += 1

    def contended(self, fqdn: dns.name.Name, message: str) -> None:
        self._back_off([fqdn], message)

    def name_failed(self, fqdn: dns.name.Name, message: str) -> None:
        """The server failed this name's update but takes others: the name waits alone, the server is up."""
        self._streak = 0
        self._back_off([fqdn], message)

    def server_failed(self, names: Iterable[dns.name.Name], message: str) -> None:
        """No update can succeed now (the server is down, or refuses the key or zone): everything waits."""
        self.server_down = True
        self._streak += 1
        self.health.dns_failed()
        self._back_off(names, message)

    def full_failed(self, names: Iterable[dns.name.Name], message: str) -> None:
        """A full reconcile could not read the zone: it is due again with the retry, and everything waits."""
        self.full_due = True
        self.server_failed(names, message)

    def set_name_aside(self, fqdn: dns.name.Name, entry: SetAside, where: str) -> None:
        """Set one rejected name aside; said once per verdict and set of containers."""
        self.set_aside[fqdn] = entry
        self.pending.discard(fqdn)
        self._streak = 0  # the server answered: it is up
        self.health.dns_reached()
        self._count()
        self.notices.set_aside(fqdn, entry.verdict, entry.containers, entry.reason, where)

    def server_answered(self) -> None:
        """The server answered (whatever it said): it is reachable."""
        self.health.dns_reached()

    def release(self, names: Iterable[dns.name.Name]) -> None:
        """Something about these names changed: let them be tried again."""
        if [name for name in names if self.set_aside.pop(name, None) is not None]:
            self._count()

    def _count(self) -> None:
        self.health.rejected_names = len(self.set_aside)
        self.metrics.rejected(len(self.set_aside))

    def _back_off(self, names: Iterable[dns.name.Name], message: str) -> None:
        self.pending.update(names)
        self.metrics.pending(len(self.pending))
        self.retry_at = self.clock() + self.backoff.grow()
        self.notices.failing(message, len(self.pending), self.backoff.cap)

    # -- success ------------------------------------------------------------------

    def succeeded(self, fqdn: dns.name.Name) -> bool:
        """The name is done; True when this ends an outage (the caller then looks at the whole zone)."""
        self.pending.discard(fqdn)
        self.notices.name_done(fqdn)
        self.metrics.pending(len(self.pending))
        self.health.dns_reached()
        self._streak = 0
        recovered, self.server_down = self.server_down, False
        self.notices.succeeding(not self.pending)
        if not self.pending:
            self.backoff.reset()
        return recovered

    def full_after(self, seconds: float) -> None:
        """A full reconcile is due in ``seconds`` (an outage ended: UPDATEs whose answers were lost may land)."""
        self.full_due = True
        self.retry_at = self.clock() + seconds

    def full_done(self) -> None:
        self.full_due = False

    def due_in(self) -> float | None:
        """Seconds until pending names, or a full reconcile, should be tried; None: nothing waits."""
        if not self.pending and not self.full_due:
            return None
        return max(0.0, self.retry_at - self.clock())

    def in_retry_order(self) -> list[dns.name.Name]:
        return sorted(self.pending, key=forward_first)

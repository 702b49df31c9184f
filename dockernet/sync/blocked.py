"""Names a running container wants that someone else holds: watched cheaply, and taken once released.

A name held by another owner, or by records a person wrote, is never
overwritten (``plan.Blocked``). It is watched instead: one SOA query per zone
tells whether anything changed; only then, or when a name's own backoff
(1 s doubling to a minute) is up, is that name looked up, at most
``BLOCKED_BATCH`` per check. Reads the server; changes nothing in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import dns.name

from dockernet.ddns import DnsTarget
from dockernet.errors import DnsTransient
from dockernet.metrics import NullMetrics
from dockernet.publish.plan import Blocked, Current, Foreign
from dockernet.sync.retries import Backoff

#: seconds between looks at the SOA serial while names are held by others (a release is seen this fast)
BLOCKED_POLL = 0.25
#: every blocked name is looked at again at least this often, even when the serial does not move
BLOCKED_RECHECK_CAP = 60.0
#: names looked up per check, at most: the cost of watching stays bounded however many names are blocked
BLOCKED_BATCH = 64

log = logging.getLogger("dockernet")


class NameReader(Protocol):
    target: DnsTarget

    def serial(self, zone: dns.name.Name) -> int | None: ...

    def lookup(self, fqdn: dns.name.Name) -> Current: ...


class BlockedNames:
    """The names held by others, per name its holder; when to look at them again, and the looks themselves."""

    def __init__(self, nameserver: NameReader, clock: Callable[[], float], metrics: NullMetrics, backoff: Backoff):
        self._nameserver = nameserver
        self._clock = clock
        self._metrics = metrics
        #: the wait between looks while the server does not answer them (the updates' backoff)
        self._backoff = backoff
        #: name -> who holds it
        self.held: dict[dns.name.Name, Foreign] = {}
        #: per name: (when to look again even if the serial did not move, the current wait)
        self._recheck: dict[dns.name.Name, tuple[float, float]] = {}
        self._serials: dict[dns.name.Name, int | None] = {}
        self._next_check = 0.0

    def note(self, fqdn: dns.name.Name, blocked: tuple[Blocked, ...]) -> None:
        """Keep the set of names held by others up to date; say so once per holder, not per look."""
        if not blocked:
            if self.held.pop(fqdn, None) is not None:
                self._recheck.pop(fqdn, None)
                self._metrics.blocked(len(self.held))
                if not self.held:
                    self._backoff.reset()  # a name blocked later starts at the normal pace
            return
        holder = blocked[0].holder
        if self.held.get(fqdn) != holder:
            log.warning(
                "%s is %s; not taking it for container (%s) while it is held",
                fqdn,
                holder.describe(),
                blocked[0].claim.short_id,
            )
            self._recheck[fqdn] = (self._clock() + 1.0, 1.0)
        self.held[fqdn] = holder
        self._metrics.blocked(len(self.held))

    def due_in(self) -> float | None:
        """Seconds until the names held by others should be looked at (None: none is)."""
        if not self.held:
            return None
        return max(0.0, self._next_check - self._clock())

    def check(self, released: Callable[[dns.name.Name, Current], None]) -> None:
        """Look at the names due; hand each one whose state changed to ``released`` (which syncs it).

        A server that does not answer is waited for like every update is,
        not one timeout per turn of the loop (``DnsTransient`` says when).
        """
        now = self._clock()
        self._next_check = now + BLOCKED_POLL
        try:
            self._look(now, released)
        except DnsTransient as exc:
            wait = self._backoff.grow()
            self._next_check = self._clock() + wait
            raise DnsTransient(f"{exc}; looking at names held by others again in {wait:g} s") from None
        self._backoff.reset()

    def _look(self, now: float, released: Callable[[dns.name.Name, Current], None]) -> None:
        zone_of = self._nameserver.target.zone_of
        moved = set()
        for zone in {zone_of(name) for name in self.held}:
            serial = self._nameserver.serial(zone)
            self._metrics.blocked_checked("serial")
            if serial is None or serial != self._serials.get(zone):
                moved.add(zone)
            self._serials[zone] = serial
        due = [name for name in self.held if zone_of(name) in moved or self._recheck.get(name, (0.0, 0.0))[0] <= now]
        for name in sorted(due, key=lambda n: self._recheck.get(n, (0.0, 0.0))[0])[:BLOCKED_BATCH]:
            wait = self._recheck.get(name, (0.0, 1.0))[1]
            self._recheck[name] = (now + wait, min(wait * 2, BLOCKED_RECHECK_CAP))
            state = self._nameserver.lookup(name)
            self._metrics.blocked_checked("name")
            if state != self.held.get(name):
                log.info("%s is no longer %s; syncing it", name, self.held[name].describe())
                released(name, state)

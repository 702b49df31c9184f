"""The ownership registry: whose a name is, as the zone itself records it (pure; no I/O).

Every record dockernet writes is marked, and every owner id has a lease; both
formats are defined here and nowhere else, so changing the mark means editing
this one module. The RFC 2136 provider (``ddns.py``) reads and writes the
TXT strings; deciding what they mean is done here.

Ownership mark
--------------
Every name dockernet writes carries, next to its A records, one TXT record::

    "heritage=dockernet,owner=<owner-id>,container=<12-hex id>"

It lives at the record's own name, so it is inside the zone (BIND refuses
names outside it with NOTZONE) and each mark is its own one-record RRset (no
RRset grows with the number of containers). Because the container id is in
the mark, a late ``die`` of an old container cannot delete the record its
successor under the same name already holds: the prerequisite names the old
container and fails.

A name the replicas of one Compose service share on this host (a
round-robin name) is marked for the service instead::

    "heritage=dockernet,owner=<owner-id>,service=<service>.<project>"

A *holder* is therefore either a 12-hex container id or a
``service.project`` token (it has a dot, a container id never does).

A name is ours only when its TXT RRset is exactly one mark of this owner
(``classify_name``); anything else there is someone else's.

Lease
-----
Each owner id has one lease, a TXT at ``<owner>._owner._dockernet.<zone>``
(one label per owner id: a ``.`` in an id is escaped inside the label,
below two labels no container name can take)::

    "heritage=dockernet-lease,owner=<id>,engine=<docker info ID>,host=<name>,
     pid=<pid>,node=<pid space>,instance=<random>,since=<unix time>,seen=<unix time>,every=<seconds>"

A lease written by an earlier dockernet has no process fields
(pid … since). Claiming and renewing it is ``sync/leases.py``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import dns.name

HERITAGE = "dockernet"
# Matched with ``fullmatch``: ``$`` would also accept a trailing newline.
_OWNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_MARK = re.compile(
    r"heritage=dockernet,owner=([A-Za-z0-9][A-Za-z0-9._-]{0,62}),"
    r"(?:container=([0-9a-f]{12})|service=([a-z0-9-]{1,63}\.[a-z0-9-]{1,63}))"
)
_LEASE = re.compile(
    r"heritage=dockernet-lease,owner=([A-Za-z0-9][A-Za-z0-9._-]{0,62}),engine=([A-Za-z0-9:_-]{1,100}),"
    r"host=([A-Za-z0-9._-]{0,63})"
    r"(?:,pid=([0-9]{1,10}),node=([0-9a-f]{0,12}),instance=([A-Za-z0-9_-]{8,32}),since=([0-9]{1,12}))?"
    r",seen=([0-9]{1,12}),every=([0-9]{1,6})"
)
#: a lease not renewed for this many intervals belongs to a watcher that has stopped
STALE_AFTER_INTERVALS = 3
#: seconds a lease's renewal may lie ahead of our clock (clocks of two hosts differ a little): further is
#: invalid. The TSIG fudge (300 s) already bounds how far a writer's clock can be from the server's.
FUTURE_SLACK = 300

#: one record of a name, as (type, data in presentation form): ("A", "10.1.0.2"), ("PTR", "web1.docker.test.")
Record = tuple[str, str]


# --- the mark -------------------------------------------------------------------------------


def valid_owner_id(owner: str) -> bool:
    """Owner ids go into TXT data and log lines: keep them short and plain."""
    return bool(_OWNER_ID.fullmatch(owner))


def is_service(holder: str) -> bool:
    """Whether a holder is a Compose service's token (``web.shop``) rather than a container id."""
    return "." in holder


def ownership_mark(owner: str, holder: str) -> str:
    """The TXT string that marks a name as written by ``owner`` for a container (or a service)."""
    if is_service(holder):
        return f"heritage={HERITAGE},owner={owner},service={holder}"
    return f"heritage={HERITAGE},owner={owner},container={holder[:12]}"


def parse_mark(text: str) -> tuple[str, str] | None:
    """``(owner, holder)`` from a TXT string, or None if it is no dockernet mark."""
    match = _MARK.fullmatch(text)
    return (match.group(1), match.group(2) or match.group(3)) if match else None


# --- whose a name is ------------------------------------------------------------------------


@dataclass(frozen=True)
class Owned:
    """The name holds records this watcher wrote for a container."""

    short_id: str
    records: tuple[Record, ...]
    ttl: int


@dataclass(frozen=True)
class Foreign:
    """The name holds records dockernet did not write (for this owner): never touched."""

    holder: str  # an owner id, or "" for records without any dockernet mark

    def describe(self) -> str:
        return f"owned by {self.holder}" if self.holder else "held by records dockernet did not write"


#: who holds a name: free (None), this owner (Owned) or someone else (Foreign)
Current = Owned | Foreign | None


def holder_of(txt_strings: list[str], owner: str) -> str | None:
    """The holder ``owner`` marked the name for, when its TXT RRset is exactly one mark of ``owner``; else None."""
    return _sole_holder([parse_mark(text) for text in txt_strings], owner)


def _sole_holder(marks: list[tuple[str, str] | None], owner: str) -> str | None:
    """The one rule of "ours": the TXT RRset is exactly one mark of ``owner``.

    The update's value-dependent prerequisite compares the whole RRset, so a
    name where someone added TXT data of their own cannot be changed safely.
    """
    if len(marks) == 1 and marks[0] and marks[0][0] == owner:
        return marks[0][1]
    return None


def classify_name(txt_strings: list[str], owner: str) -> Current:
    """Who holds a name that exists, judged by its TXT strings (records not read yet: ``Owned`` has none)."""
    marks = [parse_mark(text) for text in txt_strings]
    holder = _sole_holder(marks, owner)
    if holder is not None:
        return Owned(holder, (), 0)
    holders = sorted({mark[0] for mark in marks if mark and mark[0] != owner})
    return Foreign(holders[0] if holders else "")


# --- the transfer filter --------------------------------------------------------------------


class NameRecords(NamedTuple):
    """What a zone transfer holds at one name: its TXT strings, its A/AAAA/PTR/SRV records and their TTL."""

    texts: list[str]
    records: list[Record]
    ttl: int


def transfer_filter(
    owner: str,
    wanted: Collection[dns.name.Name] = frozenset(),
    everything: bool = False,
) -> Callable[[dns.name.Name, list[str]], bool]:
    """Which names a transfer keeps, asked when a name's TXT arrives: ``owner``'s own, the ``wanted`` ones, or all."""

    def keep(name: dns.name.Name, texts: list[str]) -> bool:
        return everything or name in wanted or holder_of(texts, owner) is not None

    return keep


def current_of(found: NameRecords, owner: str) -> Current:
    """Who holds a transferred name, with its records when it is ``owner``'s."""
    current = classify_name(found.texts, owner)
    if isinstance(current, Owned):
        return Owned(current.short_id, tuple(sorted(found.records)), found.ttl)
    return current


# --- the lease ------------------------------------------------------------------------------


def lease_name(owner: str, zone: dns.name.Name) -> dns.name.Name:
    """Where ``owner``'s lease lives: one label for the owner id, so a dot in it cannot add a level."""
    return dns.name.Name((owner.encode(), b"_owner", b"_dockernet", *zone.labels))


def is_lease_name(name: dns.name.Name, zone: dns.name.Name) -> bool:
    return len(name) == len(zone) + 3 and name.labels[1:3] == (b"_owner", b"_dockernet") and name.is_subdomain(zone)


@dataclass(frozen=True)
class Lease:
    """Who runs an owner id: a Docker engine, its host name, the process holding it, and when it last said so.

    A lease of an earlier dockernet has no process (``instance`` is "").
    """

    owner: str
    engine: str
    host: str
    seen: int  # unix time of the last renewal
    every: int  # seconds between renewals
    pid: int = 0
    node: str = ""  # where ``pid`` counts (pidfile.pid_space)
    instance: str = ""
    since: int = 0  # unix time this process first held the lease

    def text(self) -> str:
        process = (
            f",pid={self.pid},node={self.node},instance={self.instance},since={self.since}" if self.instance else ""
        )
        return (
            f"heritage=dockernet-lease,owner={self.owner},engine={self.engine},host={self.host}{process},"
            f"seen={self.seen},every={self.every}"
        )

    def age(self, now: float) -> float:
        return max(0.0, now - self.seen)

    def from_future(self, now: float) -> bool:
        """Renewed later than now (beyond clock skew): written by a clock set wrong, so it proves nothing."""
        return self.seen > now + FUTURE_SLACK

    @property
    def released(self) -> bool:
        """Its watcher stopped cleanly and said so (pid 0): nobody holds it."""
        return bool(self.instance) and self.pid == 0

    def alive(self, now: float) -> bool:
        """Whether its watcher renewed it recently enough to be running still (released, or from the future: no)."""
        return (
            not self.released
            and not self.from_future(now)
            and self.age(now) <= STALE_AFTER_INTERVALS * max(self.every, 1)
        )

    def holder(self) -> str:
        """The process that holds it, or '' for an earlier dockernet's lease."""
        if not self.instance:
            return ""
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        if self.released:
            return f"a watcher that stopped (instance {self.instance}, held since {started})"
        return f"watcher pid {self.pid} (instance {self.instance}, holding since {started})"

    def renewed(self, now: float) -> str:
        if self.from_future(now):
            return f"renewed {span(self.seen - now)} in the future, an invalid lease (a clock set wrong)"
        return f"{'released' if self.released else 'renewed'} {ago(self.age(now))}"

    def describe(self, now: float) -> str:
        holder = f", {self.holder()}" if self.instance else ""
        return f"engine {self.engine} on host {self.host or '?'}{holder}, {self.renewed(now)}"


def span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def ago(seconds: float) -> str:
    return f"{span(max(0.0, seconds))} ago"


def parse_lease(text: str) -> Lease | None:
    match = _LEASE.fullmatch(text)
    if not match:
        return None
    owner, engine, host, pid, node, instance, since, seen, every = match.groups()
    if instance is None:  # an earlier dockernet's lease
        return Lease(owner, engine, host, int(seen), int(every))
    return Lease(owner, engine, host, int(seen), int(every), int(pid), node, instance, int(since))


def leases_in(transferred: Mapping[dns.name.Name, NameRecords], zone: dns.name.Name) -> dict[str, Lease]:
    """owner id -> lease, from a zone transfer (``Nameserver.transfer_raw``)."""
    found = {}
    for name, (texts, _records, _ttl) in transferred.items():
        if is_lease_name(name, zone) and len(texts) == 1:
            lease = parse_lease(texts[0])
            if lease:
                found[lease.owner] = lease
    return found

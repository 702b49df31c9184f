"""Owner ids across a fleet: a lease per owner in the zone, adoption of a renamed owner's names.

Several Docker hosts publish into one zone, each under its own owner id;
every record carries its owner in its ownership mark (``plan.py``). Two
engines that run under the *same* owner id (a cloned VM, a copied config)
would each see the other's records as their own and delete them. The zone
itself keeps them apart, with no coordination service of our own:

* each owner id has one **lease** record, a TXT at
  ``<owner>._owner._dockernet.<zone>`` naming the Docker engine (its unique
  ``docker info`` ID) that runs it, and when it last renewed the lease;
* a watcher claims the lease before it removes anything and renews it every
  ``interval`` seconds, each write an RFC 2136 compare-and-swap on the exact
  text it read (a prerequisite), so two engines racing for one owner id
  cannot both win;
* a lease naming another engine stops the watcher with one line naming both
  engines; ``--take-over-owner`` replaces it deliberately, and only once the
  other engine has stopped renewing it (a reinstalled host).

The lease is also each owner's last sign of life, which ``dns ls --all``
shows. The lease name is one label per owner id (a ``.`` in an id is
escaped inside the label), below two labels no container name can take.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Callable

import dns.name
import dns.rdatatype
import dns.update

from dockernet.ddns import Nameserver, Outcome, new_update, quoted
from dockernet.errors import DnsRejected, NameContended, OwnerCollision
from dockernet.logformat import printable
from dockernet.plan import ownership_mark, parse_mark

log = logging.getLogger("dockernet")

_LEASE = re.compile(
    r"heritage=dockernet-lease,owner=([A-Za-z0-9][A-Za-z0-9._-]{0,62}),engine=([A-Za-z0-9:_-]{1,100}),"
    r"host=([A-Za-z0-9._-]{0,63}),seen=([0-9]{1,12}),every=([0-9]{1,6})"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: a lease not renewed for this many intervals belongs to a watcher that has stopped
STALE_AFTER_INTERVALS = 3
#: the default renewal interval, seconds
LEASE_INTERVAL = 60


def lease_name(owner: str, zone: dns.name.Name) -> dns.name.Name:
    """Where ``owner``'s lease lives: one label for the owner id, so a dot in it cannot add a level."""
    return dns.name.Name((owner.encode(), b"_owner", b"_dockernet", *zone.labels))


def is_lease_name(name: dns.name.Name, zone: dns.name.Name) -> bool:
    return len(name) == len(zone) + 3 and name.labels[1:3] == (b"_owner", b"_dockernet") and name.is_subdomain(zone)


@dataclass(frozen=True)
class Lease:
    """Who runs an owner id: a Docker engine, its host name, and when it last said so."""

    owner: str
    engine: str
    host: str
    seen: int  # unix time of the last renewal
    every: int  # seconds between renewals

    def text(self) -> str:
        return (f"heritage=dockernet-lease,owner={self.owner},engine={self.engine},host={self.host},"
                f"seen={self.seen},every={self.every}")

    def age(self, now: float) -> float:
        return max(0.0, now - self.seen)

    def alive(self, now: float) -> bool:
        """Whether its watcher renewed it recently enough to be running still."""
        return self.age(now) <= STALE_AFTER_INTERVALS * max(self.every, 1)

    def describe(self, now: float) -> str:
        return f"engine {self.engine} on host {self.host or '?'}, renewed {ago(self.age(now))}"


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def parse_lease(text: str) -> Lease | None:
    match = _LEASE.fullmatch(text)
    if not match:
        return None
    owner, engine, host, seen, every = match.groups()
    return Lease(owner, engine, host, int(seen), int(every))


def safe_engine_id(engine_id: str) -> str:
    """The engine ID as a lease may hold it (Docker's IDs are hex, UUIDs, or colon-separated base32)."""
    cleaned = re.sub(r"[^A-Za-z0-9:_-]", "-", engine_id)[:100]
    return cleaned or "unknown"


def read_lease(nameserver: Nameserver, owner: str) -> tuple[Lease | None, list[str] | None]:
    """The owner's lease and the TXT strings it was read from (None: no lease)."""
    texts = nameserver.read_txt(lease_name(owner, nameserver.target.zone))
    if not texts:
        return None, None
    leases = [parse_lease(text) for text in texts]
    if len(leases) == 1 and leases[0] and leases[0].owner == owner:
        return leases[0], texts
    raise OwnerCollision(f"the lease name {lease_name(owner, nameserver.target.zone)} of owner id '{owner}' holds "
                         f"records dockernet did not write; not running under this owner id",
                         hint="remove them, or choose another --owner-id")


def write_lease(nameserver: Nameserver, new: Lease, old_texts: list[str] | None) -> Outcome:
    """Compare-and-swap the lease: create it where there is none, else replace exactly ``old_texts``."""
    name = lease_name(new.owner, nameserver.target.zone)
    message = new_update(nameserver.target)
    if old_texts is None:
        message.absent(name)
    else:
        message.present(name, dns.rdatatype.TXT, *(quoted(text) for text in old_texts))
        message.delete(name, dns.rdatatype.TXT)
    message.add(name, 0, dns.rdatatype.TXT, quoted(new.text()))
    return nameserver.send_message(message)


def remove_lease(nameserver: Nameserver, lease: Lease) -> Outcome:
    """Delete a lease, if it is still exactly ``lease`` (retiring an owner)."""
    name = lease_name(lease.owner, nameserver.target.zone)
    message = new_update(nameserver.target)
    message.present(name, dns.rdatatype.TXT, quoted(lease.text()))
    message.delete(name)
    return nameserver.send_message(message)


class LeaseKeeper:
    """Claims and renews this watcher's lease; raises ``OwnerCollision`` when another engine holds it.

    ``hold()`` is called before anything is removed and from the watcher's
    timers: it claims the lease once, then renews it when due. A server
    that refuses the lease name (an update-policy that grants only some
    names) turns collision detection off with one warning; it does not stop
    the watcher.
    """

    def __init__(self, nameserver: Callable[[], Nameserver], owner: str, identity: Callable[[], tuple[str, str]],
                 interval: float = LEASE_INTERVAL, take_over: bool = False, clock: Callable[[], float] = time.time):
        self._nameserver = nameserver
        self.owner = owner
        self._identity = identity
        self.interval = interval
        self.take_over = take_over
        self.clock = clock
        #: the lease as this watcher last wrote it (None: not held yet)
        self.lease: Lease | None = None
        #: why collision detection is off ("": it is on)
        self.disabled = ""
        self._next_try = 0.0
        self._who: tuple[str, str] | None = None

    @property
    def held(self) -> bool:
        return self.lease is not None or bool(self.disabled)

    def due_in(self) -> float:
        """Seconds until the lease should be renewed (0: now)."""
        if self.disabled:
            return float("inf")
        due = self.lease.seen + self.interval if self.lease is not None else 0.0
        return max(0.0, due - self.clock(), self._next_try - self.clock())

    def retry_later(self) -> None:
        """The server did not answer: try again in a few seconds, not in a busy loop."""
        self._next_try = self.clock() + min(self.interval, 5.0)

    def hold(self) -> None:
        """Claim the lease, or renew it when due. DnsTransient propagates: nothing is concluded from silence."""
        if self.disabled or (self.lease is not None and self.lease.seen + self.interval > self.clock()):
            return
        try:
            self._claim()
        except DnsRejected as exc:
            if not self._refused_for_lease_only(exc):
                raise
            self.disabled = f"the server refuses the lease record ({exc.code})"
            log.warning("%s refuses the lease record %s (%s): two hosts running with owner id '%s' would not be "
                        "detected; grant this key updates of that name to turn detection on",
                        self._nameserver().target.where, lease_name(self.owner, self._nameserver().target.zone),
                        exc.code, self.owner)

    def _refused_for_lease_only(self, exc: DnsRejected) -> bool:
        if exc.code not in ("REFUSED", "NOTAUTH"):
            return False
        nameserver = self._nameserver()
        try:
            nameserver.probe_zone(nameserver.target.zone)
        except DnsRejected:
            return False
        return True

    @property
    def engine(self) -> str:
        """This engine's ID, as leases hold it."""
        return safe_engine_id(self._whoami()[0])

    def _whoami(self) -> tuple[str, str]:
        if self._who is None:
            self._who = self._identity()  # docker info: asked once
        return self._who

    def _me(self) -> Lease:
        engine, host = self._whoami()
        return Lease(self.owner, safe_engine_id(engine), _UNSAFE.sub("-", host)[:63], int(self.clock()),
                     int(self.interval))

    def _claim(self) -> None:
        nameserver = self._nameserver()
        me = self._me() if self.lease is None else replace(self.lease, seen=int(self.clock()))
        for _attempt in range(3):
            current, texts = read_lease(nameserver, self.owner)
            if current is not None and current.engine != me.engine:
                self._refuse(current, me)
            if write_lease(nameserver, me, texts) is Outcome.APPLIED:
                if self.lease is None:
                    log.info("Holding the lease of owner id '%s' for engine %s", self.owner, me.engine)
                self.lease = me
                return
            # a prerequisite failed: the lease changed between the read and the write; read again
        raise NameContended(f"the lease of owner id '{self.owner}' kept changing while this watcher claimed it")

    def _refuse(self, current: Lease, me: Lease) -> None:
        """Another engine holds the lease: take it only when told to and that engine is gone; else stop."""
        now = self.clock()
        if self.lease is not None:  # it was ours: another engine took it since
            raise OwnerCollision(
                f"owner id '{self.owner}' was taken over by {current.describe(now)}; this is engine {me.engine} on "
                f"host {me.host or '?'}: stopping without removing anything",
                hint="give each host its own --owner-id")
        if self.take_over and not current.alive(now):
            log.warning("Taking over owner id '%s' from %s (--take-over-owner)", self.owner, current.describe(now))
            return
        if self.take_over:
            raise OwnerCollision(
                f"owner id '{self.owner}' is held by {current.describe(now)}, so its watcher is running: not taking "
                f"it over", hint="stop that watcher first, or give this host its own --owner-id")
        raise OwnerCollision(
            f"owner id '{self.owner}' is already used by {current.describe(now)}; this is engine {me.engine} on "
            f"host {me.host or '?'}: not running, so that neither deletes the other's records",
            hint="give each host its own --owner-id (DOCKERNET_OWNER_ID); if that engine is gone for good "
                 "(a reinstalled host), start once with --take-over-owner")


def retire(nameserver: Nameserver, owner: str, clock: Callable[[], float] = time.time) -> None:
    """After ``dns purge``: remove the owner's lease too, unless its watcher is still running (then say so)."""
    lease, _texts = read_lease(nameserver, owner)
    if lease is None:
        return
    now = clock()
    if lease.alive(now):
        log.warning("Owner id '%s' was alive moments ago (%s): its lease is kept, as a watcher still running "
                    "would publish its records again; stop that watcher and purge again to retire the host",
                    owner, lease.describe(now))
        return
    if remove_lease(nameserver, lease) is Outcome.APPLIED:
        log.info("Removed the lease of owner id '%s' (%s)", owner, lease.describe(now))


def leases_in(raw: dict, zone: dns.name.Name) -> dict[str, Lease]:
    """owner id -> lease, from a zone transfer (``Nameserver.transfer_raw``)."""
    found = {}
    for name, (texts, _records, _ttl) in raw.items():
        if is_lease_name(name, zone) and len(texts) == 1:
            lease = parse_lease(texts[0])
            if lease:
                found[lease.owner] = lease
    return found


# --- adopting a renamed owner's names ----------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    moved: int = 0
    #: names that changed between the read and the move (taken, removed): left as they are
    skipped: tuple[dns.name.Name, ...] = ()


def adopt(nameserver: Nameserver, old: str, names: dict[dns.name.Name, str], ttl: int) -> Adoption:
    """Give ``old``'s names (name -> short container id) to this owner, one atomic UPDATE per name.

    Each UPDATE requires the TXT RRset to be exactly ``old``'s mark, then
    swaps in this owner's mark for the same container: a name is moved whole
    or not at all, and a name that changed meanwhile is left alone.
    """
    new = nameserver.target.owner
    moved, skipped = 0, []
    for name, short_id in sorted(names.items()):
        message = new_update(nameserver.target, nameserver.target.zone_of(name))
        message.present(name, dns.rdatatype.TXT, quoted(ownership_mark(old, short_id)))
        message.delete(name, dns.rdatatype.TXT)
        message.add(name, ttl, dns.rdatatype.TXT, quoted(ownership_mark(new, short_id)))
        if nameserver.send_message(message) is Outcome.APPLIED:
            moved += 1
        else:
            skipped.append(name)
    return Adoption(moved, tuple(skipped))


def names_of_owner(raw: dict, owner: str) -> dict[dns.name.Name, str]:
    """name -> short container id of every name whose TXT is exactly one mark of ``owner`` (from a transfer)."""
    found = {}
    for name, (texts, _records, _ttl) in raw.items():
        marks = [parse_mark(text) for text in texts]
        if len(marks) == 1 and marks[0] and marks[0][0] == owner:
            found[name] = marks[0][1]
    return found


def adopt_owner(nameserver: Nameserver, old: str, ttl: int, engine: str, journal_names: Callable[[], set] = set,
                clock: Callable[[], float] = time.time) -> Adoption:
    """``--adopt-owner OLD``: move every name of ``old`` to this owner, then retire ``old``'s lease.

    Refused while ``old``'s lease shows a live watcher on another engine
    (the same ``engine`` is this host under its old name). Names are found
    by zone transfer, else from ``old``'s journal.
    """
    lease, _texts = read_lease(nameserver, old)
    now = clock()
    if lease is not None and lease.alive(now) and lease.engine != safe_engine_id(engine):
        raise OwnerCollision(f"owner id '{old}' is held by {lease.describe(now)}, so its watcher is running: "
                             f"not adopting its names", hint="stop that watcher first")
    names: dict[dns.name.Name, str] = {}
    for zone in nameserver.target.zones:
        raw = nameserver.transfer_raw(zone)
        if raw is None:
            names = _from_journal(nameserver, old, journal_names())
            break
        names.update(names_of_owner(raw, old))
    result = adopt(nameserver, old, names, ttl)
    if lease is not None:
        remove_lease(nameserver, lease)
    log.info("Adopted %d name(s) of owner id '%s'%s", result.moved, printable(old),
             f"; {len(result.skipped)} changed meanwhile and were left alone" if result.skipped else "")
    return result


def _from_journal(nameserver: Nameserver, old: str, candidates: set) -> dict[dns.name.Name, str]:
    found = {}
    for name in candidates:
        texts = nameserver.read_txt(name) or []
        marks = [parse_mark(text) for text in texts]
        if len(marks) == 1 and marks[0] and marks[0][0] == old:
            found[name] = marks[0][1]
    return found


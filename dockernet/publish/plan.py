"""What should change in the zone, as plain values (pure; no I/O).

Three inputs meet here, one name at a time:

* the **claims**: running containers that want the name (from Docker);
* the **current** state of the name in the zone, as far as dockernet knows it:
  free, owned by this watcher for some container, or held by someone else;
* this watcher's **owner id**.

``plan_name`` turns them into at most one ``Change``, and ``plan_names``
many names into one ``Plan`` value; the DNS side
(``ddns.py``) turns a change into one RFC 2136 UPDATE whose prerequisites
re-check, atomically on the server, the current state the plan assumed.

Every name dockernet writes carries this owner's ownership mark for the
container (or Compose service) that holds it; its format, and deciding whose
a name is, live in ``registry.py``. Replicas of one service that share a
name are merged into one claim (``merge_replicas``): one RRset with every
replica's addresses, held by the service, so a replica that stops changes
the RRset and only the last one deletes the name.

Decision table (``winner`` is the claim that should hold the name)::

    current \\ winner   none            claim C
    free               -               Create(C)
    ours, for C        Delete          - (or Replace when records/TTL differ)
    ours, for X != C   Delete          Replace(X -> C)
    someone else's     -               - (Blocked: never taken)

Collisions: when several running containers claim one name, the holder keeps
it; with no holder the oldest container (creation time, then id) wins. The
rule depends only on the set of claims and the holder, never on event order.
"""

from __future__ import annotations

import re
from collections import ChainMap, Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import dns.name

from dockernet.publish.registry import Current, Foreign, Owned, Record, is_service, ownership_mark


@dataclass(frozen=True)
class Claim:
    """A running container wants ``fqdn`` to hold ``records`` (sorted; A, AAAA, PTR or SRV).

    ``group`` names the Compose service whose replicas share the name; a
    merged claim (``merge_replicas``) has the group as its ``container_id``.
    """

    fqdn: dns.name.Name
    container_id: str
    records: tuple[Record, ...]
    ttl: int
    created: str = ""
    group: str = ""
    #: for a merged claim: replicas whose records did not fit (``MAX_RRSET``)
    left_out: int = field(default=0, compare=False)

    @property
    def short_id(self) -> str:
        """Who holds the name once this claim is published: the short container id, or the service."""
        return self.container_id if is_service(self.container_id) else self.container_id[:12]


#: records of one type a name holds at most. BIND refuses an RRset above its
#: max-records-per-type (100 by default: SERVFAIL, "too many records" in its log), which
#: would be retried as a server failure and hold up every other name; and an answer of
#: 64 A records already fills a 1232-octet EDNS response.
MAX_RRSET = 64


def capped(records, limit: int = MAX_RRSET) -> tuple[tuple[Record, ...], int]:
    """``records`` sorted, at most ``limit`` of each type, and how many were left out."""
    kept: list[Record] = []
    counts: Counter = Counter()
    for record in sorted(set(records)):
        if counts[record[0]] < limit:
            counts[record[0]] += 1
            kept.append(record)
    return tuple(kept), len(set(records)) - len(kept)


def merge_replicas(claims: list[Claim], limit: int = MAX_RRSET) -> list[Claim]:
    """The claims on one name, those of one service's replicas merged into one claim held by the service.

    Its records are the replicas' records, oldest replica first, as long as
    no type grows beyond ``limit`` (the others keep their own names only,
    and take a place when an older one stops); its TTL the lowest asked;
    its age the oldest replica's (for the collision rule).
    """
    merged: list[Claim] = []
    groups: dict[str, list[Claim]] = {}
    for claim in claims:
        if claim.group:
            groups.setdefault(claim.group, []).append(claim)
        else:
            merged.append(claim)
    for group, members in sorted(groups.items()):
        members.sort(key=lambda claim: (created_ns(claim.created), claim.container_id))
        records: set[Record] = set()
        counts: Counter = Counter()
        kept = []
        for claim in members:
            more = Counter(rdtype for rdtype, data in set(claim.records) - records)
            if any(counts[rdtype] + n > limit for rdtype, n in more.items()):
                continue
            records |= set(claim.records)
            counts += more
            kept.append(claim)
        if not kept:  # even the oldest replica alone has too many (addresses on more than ``limit`` networks)
            continue
        oldest = kept[0]
        merged.append(
            Claim(
                oldest.fqdn,
                group,
                tuple(sorted(records)),
                min(claim.ttl for claim in kept),
                oldest.created,
                group,
                left_out=len(members) - len(kept),
            )
        )
    return merged


@dataclass(frozen=True)
class Create:
    fqdn: dns.name.Name
    claim: Claim


@dataclass(frozen=True)
class Replace:
    fqdn: dns.name.Name
    old: Owned
    claim: Claim


@dataclass(frozen=True)
class Delete:
    fqdn: dns.name.Name
    old: Owned


@dataclass(frozen=True)
class Blocked:
    """A claim that cannot be published because someone else holds the name."""

    fqdn: dns.name.Name
    claim: Claim
    holder: Foreign


Change = Create | Replace | Delete


_CREATED = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def created_ns(created: str) -> int:
    """Docker's ``Created`` as nanoseconds since the epoch (0 when unreadable).

    Compared as text it sorts wrong: Docker drops trailing zeros of the
    fraction, so ``...:18.12Z`` comes before ``...:18.1Z``.
    """
    match = _CREATED.fullmatch(created)
    if not match:
        return 0
    seconds, fraction, zone = match.groups()
    when = datetime.fromisoformat(seconds + ("+00:00" if zone == "Z" else zone))
    return int(when.timestamp()) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def choose_winner(claims: list[Claim], current: Current) -> Claim | None:
    """The claim that should hold the name (see the module's collision rule)."""
    if not claims:
        return None
    if len(claims) == 1:
        return claims[0]
    if isinstance(current, Owned):
        for claim in claims:
            if claim.short_id == current.short_id:
                return claim
    return min(claims, key=lambda claim: (created_ns(claim.created), claim.container_id))


def plan_name(fqdn: dns.name.Name, claims: list[Claim], current: Current) -> Change | Blocked | None:
    """At most one change that brings ``fqdn`` from ``current`` to what ``claims`` ask."""
    winner = choose_winner(claims, current)
    if isinstance(current, Foreign):
        return Blocked(fqdn, winner, current) if winner else None
    if winner is None:
        return Delete(fqdn, current) if current else None
    if current is None:
        return Create(fqdn, winner)
    if (current.short_id, current.records, current.ttl) == (winner.short_id, winner.records, winner.ttl):
        return None
    return Replace(fqdn, current, winner)


def is_reverse_name(fqdn: dns.name.Name) -> bool:
    """Whether the name is under arpa. (absolute names end with the empty root label)."""
    return len(fqdn.labels) >= 2 and fqdn.labels[-2].lower() == b"arpa"


def is_srv_name(fqdn: dns.name.Name) -> bool:
    """Whether the name is an SRV owner (``_service._proto.name``): no host name starts with ``_``."""
    return bool(fqdn.labels) and fqdn.labels[0].startswith(b"_")


def forward_first(fqdn: dns.name.Name) -> tuple[bool, bool, tuple[bytes, ...]]:
    """Sort key: address names first, then SRV names, PTR records last (each points at a name before it).

    Compares raw labels: ``dns.name.Name`` comparison is DNSSEC canonical
    order and costs about as much as the rest of a cold start's planning.
    """
    return (is_reverse_name(fqdn), is_srv_name(fqdn), fqdn.labels)


def parent_name(fqdn: dns.name.Name, claim: Claim) -> dns.name.Name | None:
    """The name a derived record hangs on: a PTR's target, an SRV owner's base name; None for an address name."""
    if is_reverse_name(fqdn):
        return dns.name.from_text(claim.records[0][1])
    if is_srv_name(fqdn):
        return fqdn.parent().parent()  # _service._proto.<name>
    return None


def holds_parent(fqdn: dns.name.Name, claim: Claim, zone: Mapping[dns.name.Name, Current]) -> bool:
    """Whether a derived claim's own holder holds the name it hangs on, in ``zone``.

    A PTR must never point at, and an SRV record never sit under, a name
    held by someone else (another owner, records written by hand, another
    container), nor outlive it: a derived claim counts only while this holds.
    """
    parent = parent_name(fqdn, claim)
    state = zone.get(parent) if parent is not None else None
    return isinstance(state, Owned) and state.short_id == claim.short_id


def publishable(fqdn: dns.name.Name, claims: list[Claim], zone: Mapping[dns.name.Name, Current]) -> list[Claim]:
    """The claims on a name that may be published now (for a PTR or SRV name: see ``holds_parent``)."""
    if not is_reverse_name(fqdn) and not is_srv_name(fqdn):
        return claims
    return [claim for claim in claims if holds_parent(fqdn, claim, zone)]


@dataclass(frozen=True)
class Plan:
    """What should change in the zone, forward names before PTRs, and what cannot change and why."""

    changes: tuple[Change, ...] = ()
    blocked: tuple[Blocked, ...] = ()


def plan_names(
    names: Iterable[dns.name.Name],
    claims_for: Callable[[dns.name.Name], list[Claim]],
    current: Mapping[dns.name.Name, Current],
) -> Plan:
    """The changes that bring ``names`` from ``current`` to what their claims ask.

    Address names are planned first; each SRV name and PTR is then planned
    against the zone *as it will be* once those changes are applied, so a
    handover of a name also hands over what hangs on it in the same plan.
    """
    # ChainMap writes only to its first map: ``current`` is read, never changed (hence the cast)
    after: ChainMap = ChainMap(
        {}, cast(MutableMapping, current)
    )  # what the zone holds once the planned changes are applied
    changes: list[Change] = []
    blocked: list[Blocked] = []
    for fqdn in sorted(names, key=forward_first):
        decision = plan_name(fqdn, publishable(fqdn, claims_for(fqdn), after), current.get(fqdn))
        if isinstance(decision, Blocked):
            blocked.append(decision)
        elif decision is not None:
            changes.append(decision)
            after[fqdn] = current_after(decision)
    return Plan(tuple(changes), tuple(blocked))


def owned_by(claim: Claim) -> Owned:
    """What the zone holds once ``claim`` is published."""
    return Owned(claim.short_id, claim.records, claim.ttl)


def current_after(change: Change) -> Current:
    """What the zone holds for the name once ``change`` is applied."""
    if isinstance(change, Delete):
        return None
    return owned_by(change.claim)


# --- from a change to its RR operations (RFC 2136) ------------------------------------------


@dataclass(frozen=True)
class Operations:
    """What one change asks of the server, as RFC 2136 sections: one prerequisite, deletes, adds.

    The single rule from plan to wire: the UPDATE message (``ddns``) and the
    nsupdate script of a dry run (``dnstools``) are both rendered from this
    value, so what a dry run prints is what a real run sends.
    """

    fqdn: dns.name.Name
    #: ``None``: "name is not in use" (section 2.4.5); else the TXT string that must be the
    #: name's whole TXT RRset: "RRset exists (value dependent)" (section 2.4.2)
    required_mark: str | None
    #: RRsets deleted (section 2.5.2): only the types this watcher writes at the name
    deletes: tuple[str, ...]
    #: records added (section 2.5.1), the ownership TXT last
    adds: tuple[Record, ...]
    ttl: int


def operations(change: Change, owner: str) -> Operations:
    """The RR operations that apply ``change`` if, and only if, the zone is as the plan assumed."""
    deletes: tuple[str, ...]
    if isinstance(change, Create):
        required, deletes = None, ()
    else:
        required = ownership_mark(owner, change.old.short_id)
        written = {rdtype for rdtype, _ in change.old.records}
        if not isinstance(change, Delete):
            written |= {rdtype for rdtype, _ in change.claim.records}
        deletes = (*sorted(written), "TXT")
    if isinstance(change, Delete):
        return Operations(change.fqdn, required, deletes, (), 0)
    claim = change.claim
    adds = (*claim.records, ("TXT", ownership_mark(owner, claim.container_id)))
    return Operations(change.fqdn, required, deletes, adds, claim.ttl)

"""The RFC 2136 provider's face: ``Nameserver`` sends changes to one server and reads the zone back.

What to send is decided in ``publish/plan.py``; whose a name is, in
``publish/registry.py``. The provider's parts live in ``rfc2136/``:
``messages`` builds each change's UPDATE (whose prerequisites re-check,
atomically on the server, the state the plan assumed), ``wire`` packs many
changes into few UPDATEs for a full reconcile, ``transport`` sends them,
``verdicts`` says what the answer means, ``zonetransfer`` reads a whole
zone. When a prerequisite fails the server answers YXDOMAIN or NXRRSET and
nothing changed; ``send`` reports that as ``Outcome.PREREQUISITE_FAILED``
and the caller looks the name up and plans again. The server's other
answers are typed errors (``DnsRejected`` with what to fix, ``DnsTransient``
to retry).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.update

from dockernet.errors import DnsRejected, DnsServerFailure, DnsTransient
from dockernet.publish.plan import Change, Current, Delete, Record
from dockernet.publish.registry import NameRecords, Owned, classify_name, current_of, transfer_filter
from dockernet.rfc2136.messages import (
    build_probe,
    build_update,
    is_reverse,
    new_update,
    quoted,
    record_types_at,
)
from dockernet.rfc2136.signer import Signer
from dockernet.rfc2136.target import DnsTarget
from dockernet.rfc2136.transport import exchange, exchange_wire, resolve_server, socket_in_namespace
from dockernet.rfc2136.verdicts import Outcome, outcome_of, rejection_for_rcode, tsig_rejection
from dockernet.rfc2136.wire import Batch, pack
from dockernet.rfc2136.zonetransfer import Keep, Transfer, transfer_names

#: what callers import from the provider's face
__all__ = [
    "BATCH_SIZE",
    "Applied",
    "DnsTarget",
    "Nameserver",
    "Outcome",
    "Transfer",
    "Batch",
    "build_probe",
    "build_update",
    "new_update",
    "quoted",
    "rejection_for_rcode",
    "resolve_server",
    "socket_in_namespace",
    "tsig_rejection",
]

#: changes per UPDATE in ``apply_batched`` at most (``wire.pack`` also keeps each within 64 KiB)
BATCH_SIZE = 200


@dataclass(frozen=True)
class Applied:
    """What ``apply_batched`` did; it decides nothing about what comes next."""

    #: applied; every other change was not (a prerequisite did not hold, a refusal, or never sent)
    done: tuple[Change, ...] = ()
    #: their batch got no answer: they may have been applied
    lost: tuple[Change, ...] = ()


class Nameserver:
    """Sends changes to one server for one zone on behalf of one owner."""

    def __init__(self, target: DnsTarget, namespace_of: Callable[[str], str | None] | None = None):
        self.target = target
        #: with ``send_from="container"``: a container id -> the path of its network namespace (None: gone)
        self.namespace_of = namespace_of

    def with_key(self, key: Signer | None) -> Nameserver:
        """The same server, zone and owner, signing with ``key``: to try a new key before taking it."""
        return Nameserver(replace(self.target, key=key), namespace_of=self.namespace_of)

    def rekey(self, key: Signer | None) -> None:
        """Sign with ``key`` from now on (SIGHUP), in place: whoever holds this nameserver signs with it."""
        self.target = replace(self.target, key=key)

    def use_reverse_zones(self, zones: tuple[dns.name.Name, ...]) -> None:
        """Look for and write PTR records in these reverse zones from now on (--reverse-zone auto)."""
        self.target = replace(self.target, reverse_zones=zones)

    def source_of(self, change: Change) -> str | None:
        """The namespace a change's UPDATE leaves from: the container's with --send-from container, else None.

        Deletes leave from the host: the container, and its namespace, may be gone.
        """
        if self.target.send_from != "container" or self.namespace_of is None or isinstance(change, Delete):
            return None
        return self.namespace_of(change.claim.container_id)

    # -- sending updates -----------------------------------------------------

    def send(self, change: Change) -> Outcome:
        """Apply one change (from where ``source_of`` says); PREREQUISITE_FAILED: nothing changed."""
        return self._send(build_update(change, self.target), source_ns=self.source_of(change))

    def send_batch(self, batch: Batch) -> Outcome:
        """Apply a batch's changes in its one UPDATE, over TCP; PREREQUISITE_FAILED means none was applied."""
        rcode = exchange_wire(self.target, batch.wire).rcode()
        return outcome_of(rcode, self.target, self.target.zone_of(batch.changes[0].fqdn))

    def apply_batched(self, changes: tuple[Change, ...]) -> Applied:
        """Send changes in few UPDATEs, one zone and at most ``BATCH_SIZE`` changes (and 64 KiB) each, and report
        what happened.

        Each batch carries every change's own prerequisite, so it is applied
        whole or not at all (RFC 2136 section 3.2). A batch without an answer
        ends the sending: the server is likely down.
        """
        done: list[Change] = []
        for batch, send in self.batches_of(changes):
            try:
                outcome = send()
            except (DnsRejected, DnsServerFailure):
                continue  # answered, nothing applied: one bad name fails its batch; name by name tells which
            except DnsTransient:
                return Applied(tuple(done), batch)
            if outcome is Outcome.APPLIED:
                done.extend(batch)
        return Applied(tuple(done))

    def batches_of(self, changes: tuple[Change, ...]) -> list[tuple[tuple[Change, ...], Callable[[], Outcome]]]:
        """The changes in sending order, as (batch, how to send it): packed per zone, or one by one with
        --send-from container (each from its own container)."""
        if self.target.send_from == "container":
            return [((change,), functools.partial(self.send, change)) for change in changes]
        by_zone: dict[dns.name.Name, list[Change]] = {}
        for change in changes:
            by_zone.setdefault(self.target.zone_of(change.fqdn), []).append(change)
        return [
            (batch.changes, functools.partial(self.send_batch, batch))
            for zone, group in by_zone.items()
            for batch in pack(zone, group, self.target.owner, BATCH_SIZE)
        ]

    def send_message(self, message: dns.update.UpdateMessage) -> Outcome:
        """Send an UPDATE built elsewhere (the owner lease, an adoption); PREREQUISITE_FAILED: nothing changed."""
        return self._send(message)

    def _send(self, message: dns.update.UpdateMessage, tcp: bool = False, source_ns: str | None = None) -> Outcome:
        rcode = exchange(self.target, message, tcp=tcp, source_ns=source_ns).rcode()
        return outcome_of(rcode, self.target, message.zone[0].name if message.zone else None)

    def probe(self) -> None:
        """Raise unless the server accepts our key for updates to every zone."""
        for zone in self.target.zones:
            self.probe_zone(zone)

    def probe_zone(self, zone: dns.name.Name) -> None:
        """Raise unless the server accepts our key for updates to ``zone`` (nothing changes either way)."""
        self._send(build_probe(self.target, zone))

    # -- reading the zone ----------------------------------------------------

    def query(self, fqdn: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        # signed like the updates, and the answer verified: what dockernet reads decides what it writes
        return exchange(self.target, dns.message.make_query(fqdn, rdtype))

    def read_txt(self, fqdn: dns.name.Name) -> list[str] | None:
        """The TXT strings at ``fqdn`` (each record's strings joined); None when the name does not exist."""
        response = self.query(fqdn, dns.rdatatype.TXT)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode != dns.rcode.NOERROR:
            raise rejection_for_rcode(rcode, self.target)
        txt = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.TXT)
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in txt] if txt else []

    def soa(self, zone: dns.name.Name):
        """The zone's SOA record (``.mname``, ``.serial``) on this server, or None when it answers none."""
        response = self.query(zone, dns.rdatatype.SOA)
        rrset = response.get_rrset(response.answer, zone, dns.rdataclass.IN, dns.rdatatype.SOA)
        return rrset[0] if rrset else None

    def serial(self, zone: dns.name.Name) -> int | None:
        """The zone's SOA serial on this server (one small query), or None when it does not answer with one."""
        soa = self.soa(zone)
        return soa.serial if soa is not None else None

    def lookup(self, fqdn: dns.name.Name) -> Current:
        """Who holds ``fqdn`` now: free (None), this owner (Owned) or someone else (Foreign)."""
        texts = self.read_txt(fqdn)
        if texts is None:
            return None
        current = classify_name(texts, self.target.owner)
        if not isinstance(current, Owned):
            return current
        records: list[Record] = []
        ttl = current.ttl
        types = record_types_at(fqdn, is_reverse(self.target.zone_of(fqdn)))
        for rdtype in types:
            answer = self.query(fqdn, rdtype)
            rrset = answer.get_rrset(answer.answer, fqdn, dns.rdataclass.IN, rdtype)
            if rrset:
                records.extend((dns.rdatatype.to_text(rdtype), rdata.to_text()) for rdata in rrset)
                ttl = rrset.ttl
        return Owned(current.short_id, tuple(sorted(records)), ttl)

    def zone_for(self, fqdn: dns.name.Name) -> dns.name.Name | None:
        """The zone this server serves that holds ``fqdn`` (by its SOA), or None when it serves none."""
        response = self.query(fqdn, dns.rdatatype.SOA)
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return None
        for section in (response.answer, response.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA and fqdn.is_subdomain(rrset.name):
                    return rrset.name
        return None

    def transfer(
        self,
        wanted: Collection[dns.name.Name] = frozenset(),
        everything: bool = False,
    ) -> Transfer[Current]:
        """Who holds each name this owner holds or ``wanted`` lists, by AXFR of every zone; or why it was refused.

        Other owners' names are dropped as the transfer streams by, so a big
        shared zone costs this process little memory; ``everything`` keeps
        them all (a one-shot reader that cannot know ``wanted`` yet).
        """
        keep = transfer_filter(self.target.owner, wanted, everything)
        names: dict[dns.name.Name, Current] = {}
        for zone in self.target.zones:
            part = self.transfer_zone(zone, keep)
            if part.refused:
                return part
            names.update(part.names)
        return Transfer(names)

    def transfer_zone(self, zone: dns.name.Name, keep: Keep | None = None) -> Transfer[Current]:
        """Every name of one zone (that ``keep`` keeps) with who holds it, by AXFR; or why it was refused."""
        raw = self.transfer_raw(zone, keep)
        if raw.refused:
            return Transfer(refused=raw.refused)
        owner = self.target.owner
        return Transfer({name: current_of(found, owner) for name, found in raw.names.items()})

    def transfer_raw(self, zone: dns.name.Name, keep: Keep | None = None) -> Transfer[NameRecords]:
        """name -> (TXT strings, records, TTL) of one zone, by AXFR (``zonetransfer.transfer_names``)."""
        return transfer_names(self.target, zone, keep)

"""Many changes of one zone packed into as few UPDATEs as fit, rendered straight to wire format (pure).

A full reconcile sends hundreds of changes in a few UPDATEs. Built as
dnspython messages, each change became rdatasets found and merged by
hashed names, then rendered with full name compression: with 500
containers that was half of the reconcile's time. Here each change's
``plan.operations`` is written out directly; the message
``messages.add_change`` builds (what single changes are still sent as) is
the specification, and the tests hold the two to the same sections. Each
change's owner name is written once, in its prerequisite, as its own labels
and a pointer to the zone name; its update records point back to it.
Signing and sending are ``transport``'s.
"""

from __future__ import annotations

import functools
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from dockernet.publish.plan import Change, Operations, Record, operations
from dockernet.rfc2136.messages import record_rdata, txt_rdata

#: the header's flags: an UPDATE (opcode 5), no other bit
UPDATE_FLAGS = 5 << 11
#: octets an unsigned UPDATE may take: a TCP message's 65,535 less room for the TSIG record (key name,
#: algorithm, MAC: a few hundred octets even for GSS-TSIG)
MESSAGE_LIMIT = 65535 - 1024
_HEADER = struct.Struct("!HHHHHH")  # id, flags, zone count, prerequisites, updates, additional
#: the zone name's place in the message: right after the header
_ZONE_OFFSET = _HEADER.size
_RR_FIXED = struct.Struct("!HHIH")  # type, class, TTL, rdata length
#: the furthest offset a compression pointer reaches (RFC 1035 4.1.4)
_POINTER_MAX = 0x3FFF


@dataclass(frozen=True)
class Batch:
    """Changes of one zone and the one unsigned UPDATE that applies them all, or none (RFC 2136 3.2)."""

    changes: tuple[Change, ...]
    wire: bytes


def pack(
    zone: dns.name.Name, changes: Sequence[Change], owner: str, most: int, limit: int = MESSAGE_LIMIT
) -> list[Batch]:
    """``changes`` (all in ``zone``, kept in order) in as few UPDATEs as fit: ``most`` changes, ``limit`` octets each.

    Each change's prerequisite is "name is not in use" (2.4.5) or "RRset
    exists (value dependent)" on its ownership TXT (2.4.2); its deletes are
    whole RRsets (class ANY, 2.5.2); its adds are grouped by type, types in
    the order they first appear (2.5.1). A change alone larger than
    ``limit`` still gets a message of its own.
    """
    zone_wire = octets(zone)
    batches: list[Batch] = []
    message = _Message(zone, zone_wire)
    for change in changes:
        ops = operations(change, owner)
        if len(message.changes) >= most or not message.add(change, ops, limit):
            batches.append(message.batch())
            message = _Message(zone, zone_wire)
            message.add(change, ops, limit)
    if message.changes:
        batches.append(message.batch())
    return batches


class _Message:
    """One UPDATE being filled: its prerequisites and updates so far, and where each owner name was written."""

    def __init__(self, zone: dns.name.Name, zone_wire: bytes):
        self.zone = zone
        #: names are compared without case (RFC 4343): --zone Docker.Test holds web.docker.test
        self.zone_folded = tuple(label.lower() for label in zone.labels)
        self.zone_wire = zone_wire
        self.changes: list[Change] = []
        self.prerequisites: list[bytes] = []
        self.updates: list[bytes] = []
        #: the header, the zone section, then the prerequisites: where the next prerequisite starts
        self.next_prerequisite = _HEADER.size + len(zone_wire) + 4
        self.size = self.next_prerequisite
        self.names: dict[tuple[bytes, ...], int] = {}

    def add(self, change: Change, ops: Operations, limit: int) -> bool:
        """Add one change, unless the message would outgrow ``limit`` octets (a first change always goes in)."""
        labels = ops.fqdn.labels
        at = self.names.get(labels)
        if at is None:
            depth = len(labels) - len(self.zone.labels)
            if depth >= 0 and tuple(label.lower() for label in labels[depth:]) == self.zone_folded:
                owner = b"".join(bytes((len(label),)) + label for label in labels[:depth]) + _pointer(_ZONE_OFFSET)
            else:  # not in this zone: written whole, and the server's NOTZONE fails this batch alone
                owner = octets(ops.fqdn)
            # a pointer has 14 bits: a name written further in is written in full each time
            same = _pointer(self.next_prerequisite) if self.next_prerequisite <= _POINTER_MAX else owner
        else:
            owner = same = _pointer(at)
        if ops.required_mark is None:
            prerequisite = owner + _RR_FIXED.pack(dns.rdatatype.ANY, dns.rdataclass.NONE, 0, 0)
        else:
            mark = octets(txt_rdata(ops.required_mark))
            prerequisite = owner + _RR_FIXED.pack(dns.rdatatype.TXT, dns.rdataclass.IN, 0, len(mark)) + mark
        updates = [same + _RR_FIXED.pack(_type_code(rdtype), dns.rdataclass.ANY, 0, 0) for rdtype in ops.deletes]
        updates += [
            same + _RR_FIXED.pack(rdtype, dns.rdataclass.IN, ops.ttl, len(rdata)) + rdata
            for rdtype, rdata in _grouped(ops.adds)
        ]
        grown = self.size + len(prerequisite) + sum(map(len, updates))
        if self.changes and grown > limit:
            return False
        if at is None and self.next_prerequisite <= _POINTER_MAX:
            self.names[labels] = self.next_prerequisite
        self.changes.append(change)
        self.prerequisites.append(prerequisite)
        self.next_prerequisite += len(prerequisite)
        self.updates += updates
        self.size = grown
        return True

    def batch(self) -> Batch:
        counts = (1, len(self.prerequisites), len(self.updates), 0)
        header = _HEADER.pack(secrets.randbits(16), UPDATE_FLAGS, *counts)
        zone = self.zone_wire + struct.pack("!HH", dns.rdatatype.SOA, dns.rdataclass.IN)
        return Batch(tuple(self.changes), b"".join((header, zone, *self.prerequisites, *self.updates)))


def _grouped(adds: tuple[Record, ...]) -> list[tuple[int, bytes]]:
    """The records to add as (type, rdata), those of one type together, types in order of first appearance."""
    by_type: dict[str, list[bytes]] = {}
    for record in adds:
        by_type.setdefault(record[0], []).append(octets(record_rdata(record)))
    return [(_type_code(rdtype), rdata) for rdtype, rdatas in by_type.items() for rdata in rdatas]


def octets(item: dns.name.Name | dns.rdata.Rdata) -> bytes:
    """A name's or rdata's uncompressed wire format (dnspython types ``to_wire()`` as maybe returning None)."""
    data = item.to_wire()
    if data is None:
        raise TypeError(f"no wire format for {item!r}")
    return data


def _pointer(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


@functools.lru_cache(maxsize=16)
def _type_code(rdtype: str) -> int:
    return int(dns.rdatatype.from_text(rdtype))

"""The nameserver seam: RFC 2136 UPDATEs, ownership look-ups and zone transfer.

Everything that talks to the DNS server is here; what to send is decided in
``plan.py``. Each ``Change`` becomes exactly one UPDATE whose prerequisite
section re-checks, atomically on the server, the state the plan assumed:

* ``Create``: "name is not in use" (RFC 2136 section 2.4.5), so a record a
  person or another host made in the meantime is never overwritten;
* ``Replace`` and ``Delete``: "RRset exists (value dependent)" (section 2.4.2)
  on this watcher's ownership TXT for the old container, so only our own
  record for that very container is touched.

When a prerequisite fails the server answers YXDOMAIN or NXRRSET and nothing
changed; ``send`` reports that as ``CONFLICT`` and the caller looks the name
up and plans again. The server's other answers are turned into typed errors
by meaning (``DnsRejected`` with what to fix, ``DnsTransient`` to retry).
"""

from __future__ import annotations

import enum
import ipaddress
import secrets
import socket
import threading
from dataclasses import dataclass, replace
from typing import Callable

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.tsig
import dns.update
import dns.xfr

from dockernet.errors import (
    DnsNotAuthoritative, DnsNotZone, DnsRefused, DnsRejected, DnsServerFailure, DnsTransient, TsigRejected,
)
from dockernet.publish.plan import Change, Current, Delete, Foreign, Owned, Record, is_srv_name, operations, parse_mark
from dockernet.rfc2136.tsigkey import TsigKey

#: rcodes with which a server says "a prerequisite did not hold" (RFC 2136 section 3.2)
_PREREQUISITE_FAILED = {dns.rcode.YXDOMAIN, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.NXRRSET}
_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
_RECORD_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.PTR, dns.rdatatype.SRV)


class Outcome(enum.Enum):
    APPLIED = "applied"
    #: a prerequisite failed: the name is not in the state the plan assumed
    CONFLICT = "conflict"


#: changes per UPDATE in ``apply_batched``: ~170 octets each, so a batch stays far below 64 KiB over TCP
BATCH_SIZE = 200


@dataclass(frozen=True)
class Applied:
    """What ``apply_batched`` did; it decides nothing about what comes next."""

    #: applied; every other change was not (a prerequisite did not hold, a refusal, or never sent)
    done: tuple[Change, ...] = ()
    #: their batch got no answer: they may have been applied
    lost: tuple[Change, ...] = ()


@dataclass(frozen=True)
class DnsTarget:
    """Where updates go and how they are signed."""

    server: str
    port: int
    zone: dns.name.Name  # the forward zone
    key: TsigKey | None
    owner: str
    timeout: float = 2.0
    reverse_zones: tuple[dns.name.Name, ...] = ()
    #: "host", or "container": creates and replacements leave from the container's own namespace
    send_from: str = "host"
    #: where the zone's SOA was asked, when updates were sent on to the primary it names (primary.py)
    asked: str = ""
    #: the primary's name in the SOA, when updates were sent on to it
    mname: str = ""
    #: why this server is known not to be the zone's primary (said when it refuses an update)
    not_primary: str = ""

    @property
    def where(self) -> str:
        return f"{self.server}#{self.port}"

    @property
    def zones(self) -> tuple[dns.name.Name, ...]:
        return (self.zone, *self.reverse_zones)

    def zone_of(self, fqdn: dns.name.Name) -> dns.name.Name:
        """The zone a name is in: the deepest zone it is a subdomain of (on label boundaries)."""
        inside = [zone for zone in self.zones if fqdn.is_subdomain(zone)]
        return max(inside, key=len) if inside else self.zone


def quoted(text: str) -> str:
    return '"' + text + '"'


# Rdata built directly rather than parsed from text: at start-up with
# hundreds of names, dnspython's text parser was a fifth of the run.
def address_rdata(address: str):
    if ":" in address:
        return dns.rdtypes.IN.AAAA.AAAA(dns.rdataclass.IN, dns.rdatatype.AAAA, address)
    return dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, address)


def record_rdata(record: Record):
    rdtype, data = record
    if rdtype == "PTR":
        return dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, dns.rdatatype.PTR, dns.name.from_text(data))
    if rdtype == "TXT":
        return txt_rdata(data)
    if rdtype == "SRV":
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SRV, data)
    return address_rdata(data)


def record_types_at(fqdn: dns.name.Name, reverse: bool) -> tuple[dns.rdatatype.RdataType, ...]:
    """The types dockernet writes at a name: PTR in reverse zones, SRV at ``_service._proto`` names, else A/AAAA."""
    if reverse:
        return (dns.rdatatype.PTR,)
    return (dns.rdatatype.SRV,) if is_srv_name(fqdn) else _ADDRESS_TYPES


def address_records(addresses) -> tuple[Record, ...]:
    return tuple(sorted(("AAAA" if ":" in a else "A", a) for a in addresses))


def socket_in_namespace(path: str, family: int, kind: int = socket.SOCK_DGRAM) -> socket.socket:
    """A socket created inside the network namespace at ``path``; this process never moves.

    setns(2) switches only the calling thread, and a socket keeps the
    namespace it was made in, so a short-lived thread enters, makes the
    socket and ends. The namespace is never created (``flags=0``).
    """
    from pyroute2 import netns

    made: dict = {}

    def enter_and_make() -> None:
        try:
            netns.setns(path, flags=0)
            sock = socket.socket(family, kind)
            sock.setblocking(False)  # dnspython's timeouts only work on non-blocking sockets
            made["socket"] = sock
        except OSError as exc:
            made["error"] = exc

    worker = threading.Thread(target=enter_and_make, name="netns-socket")
    worker.start()
    worker.join()
    if "error" in made:
        raise DnsTransient(f"cannot open a socket in {path}: {made['error'].strerror or made['error']}")
    return made["socket"]


def is_reverse(zone: dns.name.Name) -> bool:
    return zone.is_subdomain(_IN_ADDR) or zone.is_subdomain(_IP6)


_IN_ADDR = dns.name.from_text("in-addr.arpa.")
_IP6 = dns.name.from_text("ip6.arpa.")


def txt_rdata(text: str):
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text.encode()])


def new_update(target: DnsTarget, zone: dns.name.Name | None = None) -> dns.update.UpdateMessage:
    key = target.key
    return dns.update.UpdateMessage(zone or target.zone, keyring=key.keyring if key else None,
                                    keyname=key.name if key else None)


def build_update(change: Change, target: DnsTarget) -> dns.update.UpdateMessage:
    """The one UPDATE that applies ``change`` if, and only if, the zone is as planned."""
    message = new_update(target, target.zone_of(change.fqdn))
    add_change(message, change, target)
    return message


def build_batch(changes: list[Change], target: DnsTarget) -> dns.update.UpdateMessage:
    """One UPDATE for many changes of one zone: all their prerequisites hold, or nothing is applied (RFC 2136 3.2)."""
    message = new_update(target, target.zone_of(changes[0].fqdn))
    for change in changes:
        add_change(message, change, target)
    return message


def add_change(message: dns.update.UpdateMessage, change: Change, target: DnsTarget) -> None:
    """Append one change's prerequisite and updates to ``message`` (rendered from ``plan.operations``)."""
    ops = operations(change, target.owner)
    if ops.required_mark is None:
        message.absent(ops.fqdn)
    else:
        message.present(ops.fqdn, txt_rdata(ops.required_mark))
    for rdtype in ops.deletes:
        message.delete(ops.fqdn, rdtype)
    if ops.adds:
        message.add(ops.fqdn, ops.ttl, *(record_rdata(record) for record in ops.adds))


def build_probe(target: DnsTarget, zone: dns.name.Name | None = None) -> dns.update.UpdateMessage:
    """An UPDATE that can never change anything: its prerequisite asks for a TXT nobody has.

    A server that would accept our updates answers NXRRSET; one that would
    not answers REFUSED, NOTAUTH or a TSIG error, which ``send`` turns into
    the matching ``DnsRejected``.
    """
    zone = zone or target.zone
    message = new_update(target, zone)
    message.present(zone, dns.rdatatype.TXT, quoted(f"dockernet-probe-{secrets.token_hex(8)}"))
    return message


def _key_label(target: DnsTarget) -> str:
    return f"key '{target.key.label}'" if target.key else "unsigned update"


def rejection_for_rcode(rcode: int, target: DnsTarget, zone_name: dns.name.Name | None = None) -> DnsRejected | DnsTransient:
    """The error that says what a non-success rcode means for an update of the zone."""
    zone = (zone_name or target.zone).to_text(omit_final_dot=True)
    name = dns.rcode.to_text(rcode)
    keyref = f'key "{target.key.label}"' if target.key else "this host's address"
    if target.not_primary and rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
        return (DnsRefused if rcode == dns.rcode.REFUSED else DnsNotAuthoritative)(
            f"update of zone {zone} refused by {target.where} ({name})", hint=target.not_primary)
    if rcode == dns.rcode.REFUSED:
        return DnsRefused(
            f"update of zone {zone} refused by {target.where} (REFUSED)",
            hint=f"named.conf does not grant {keyref} updates to this zone: add allow-update {{ {keyref}; }}; or a matching update-policy",
        )
    if rcode == dns.rcode.NOTAUTH:
        return DnsNotAuthoritative(
            f"{target.where} is not authoritative for zone {zone}, or does not accept {_key_label(target)} (NOTAUTH)",
            hint="check --zone and --server, and that named.conf includes the same key",
        )
    if rcode == dns.rcode.NOTZONE:
        return DnsNotZone(f"a record name lies outside zone {zone} (NOTZONE)", hint="check --zone")
    if rcode == dns.rcode.SERVFAIL:
        return DnsServerFailure(f"{target.where} failed to process the update (SERVFAIL)")
    return DnsRejected(f"{target.where} answered {name} to an update of zone {zone}", code=name)


def tsig_rejection(exc: Exception, target: DnsTarget) -> TsigRejected:
    """The error for a TSIG failure, naming the key and the TSIG error."""
    label = _key_label(target)
    if isinstance(exc, dns.tsig.PeerBadKey):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADKEY)",
            hint="the server knows no key of this name and algorithm: check that named.conf includes the same key",
            code="BADKEY",
        )
    if isinstance(exc, dns.tsig.PeerBadSignature):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADSIG)",
            hint="the secret differs from the server's copy of the key: use the same key file on both sides",
            code="BADSIG",
        )
    if isinstance(exc, dns.tsig.PeerBadTime):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADTIME)",
            hint="this host's clock and the server's differ by more than 5 minutes: synchronise them (NTP)",
            code="BADTIME",
        )
    return TsigRejected(
        f"the answer of {target.where} to {label} does not verify ({exc.__class__.__name__})",
        hint="the server signs with another secret: use the same key file on both sides",
        code="TSIG",
    )


class Nameserver:
    """Sends changes to one server for one zone on behalf of one owner."""

    def __init__(self, target: DnsTarget, namespace_of: Callable[[str], str | None] | None = None):
        self.target = target
        #: with ``send_from="container"``: a container id -> the path of its network namespace (None: gone)
        self.namespace_of = namespace_of
        #: what the server did when it last gave no zone transfer ("answered REFUSED", ...)
        self.no_transfer_reason = ""

    def with_key(self, key) -> "Nameserver":
        """The same server, zone and owner, signing with ``key``: to try a new key before taking it."""
        return Nameserver(replace(self.target, key=key), namespace_of=self.namespace_of)

    def rekey(self, key) -> None:
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

    # -- the exchange --------------------------------------------------------

    def _exchange(self, message: dns.message.Message, tcp: bool = False, source_ns: str | None = None) -> dns.message.Message:
        target = self.target
        try:
            if source_ns:
                family = socket.AF_INET6 if ":" in target.server else socket.AF_INET
                with socket_in_namespace(source_ns, family) as sock:
                    return dns.query.udp(message, target.server, timeout=target.timeout, port=target.port, sock=sock)
            if tcp:
                response = dns.query.tcp(message, target.server, timeout=target.timeout, port=target.port)
            else:
                response, _ = dns.query.udp_with_fallback(message, target.server, timeout=target.timeout, port=target.port)
        except dns.exception.Timeout:
            raise DnsTransient(f"no answer from {target.where} within {target.timeout:g} s") from None
        except (dns.tsig.PeerError, dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadTime,
                dns.tsig.BadAlgorithm, dns.message.UnknownTSIGKey) as exc:
            raise tsig_rejection(exc, target) from None
        except OSError as exc:
            raise DnsTransient(f"cannot reach {target.where}: {exc.strerror or exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsTransient(f"bad answer from {target.where}: {exc}") from None
        return response

    def send(self, change: Change) -> Outcome:
        """Apply one change (from where ``source_of`` says); CONFLICT: a prerequisite did not hold."""
        return self._send(build_update(change, self.target), source_ns=self.source_of(change))

    def send_batch(self, changes: list[Change]) -> Outcome:
        """Apply many changes in one UPDATE over TCP; CONFLICT means none was applied."""
        return self._send(build_batch(changes, self.target), tcp=True)

    def apply_batched(self, changes: tuple[Change, ...]) -> Applied:
        """Send changes in few UPDATEs, one zone and ``BATCH_SIZE`` changes each, and report what happened.

        Each batch carries every change's own prerequisite, so it is applied
        whole or not at all (RFC 2136 section 3.2). A batch without an answer
        ends the sending: the server is likely down.
        """
        by_zone: dict[dns.name.Name, list[Change]] = {}
        for change in changes:
            by_zone.setdefault(self.target.zone_of(change.fqdn), []).append(change)
        size = 1 if self.target.send_from == "container" else BATCH_SIZE  # each from its own container
        batches = [group[i:i + size] for group in by_zone.values() for i in range(0, len(group), size)]
        done: list[Change] = []
        for batch in batches:
            try:
                outcome = self.send(batch[0]) if size == 1 else self.send_batch(batch)
            except (DnsRejected, DnsServerFailure):
                continue  # answered, nothing applied: one bad name fails its batch; name by name tells which
            except DnsTransient:
                return Applied(tuple(done), tuple(batch))
            if outcome is Outcome.APPLIED:
                done.extend(batch)
        return Applied(tuple(done))

    def send_message(self, message: dns.update.UpdateMessage) -> Outcome:
        """Send an UPDATE built elsewhere (the owner lease, an adoption); CONFLICT: a prerequisite did not hold."""
        return self._send(message)

    def _send(self, message: dns.update.UpdateMessage, tcp: bool = False, source_ns: str | None = None) -> Outcome:
        rcode = self._exchange(message, tcp=tcp, source_ns=source_ns).rcode()
        if rcode == dns.rcode.NOERROR:
            return Outcome.APPLIED
        if rcode in _PREREQUISITE_FAILED:
            return Outcome.CONFLICT
        raise rejection_for_rcode(rcode, self.target, message.zone[0].name if message.zone else None)

    def probe(self) -> None:
        """Raise unless the server accepts our key for updates to every zone."""
        for zone in self.target.zones:
            self.probe_zone(zone)

    def probe_zone(self, zone: dns.name.Name) -> None:
        """Raise unless the server accepts our key for updates to ``zone`` (nothing changes either way)."""
        self._send(build_probe(self.target, zone))

    # -- reading the zone ----------------------------------------------------

    def query(self, fqdn: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        key = self.target.key
        query = dns.message.make_query(fqdn, rdtype)
        if key:
            query.use_tsig(key.keyring, keyname=key.name)
        return self._exchange(query)

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

    def transfer(self, wanted: frozenset | set = frozenset(), everything: bool = False,
                 ) -> dict[dns.name.Name, Current] | None:
        """Who holds each name this owner holds or ``wanted`` lists, by AXFR; None when a transfer is not allowed.

        Other owners' names are dropped as the transfer streams by, so a big
        shared zone costs this process little memory; ``everything`` keeps
        them all (a one-shot reader that cannot know ``wanted`` yet).
        """
        owner = self.target.owner

        def keep(name: dns.name.Name, texts: list[str]) -> bool:
            return everything or name in wanted or isinstance(classify_name(texts, owner), Owned)

        result: dict[dns.name.Name, Current] = {}
        for zone in self.target.zones:
            names = self.transfer_zone(zone, keep)
            if names is None:
                return None
            result.update(names)
        return result

    def transfer_zone(self, zone: dns.name.Name, keep=None) -> dict[dns.name.Name, Current] | None:
        """Every name of one zone (that ``keep`` keeps) with who holds it, by AXFR; None when not allowed."""
        raw = self.transfer_raw(zone, keep)
        if raw is None:
            return None
        result: dict[dns.name.Name, Current] = {}
        for name, (texts, records, ttl) in raw.items():
            current = classify_name(texts, self.target.owner)
            if isinstance(current, Owned):
                current = Owned(current.short_id, tuple(sorted(records)), ttl)
            result[name] = current
        return result

    def transfer_raw(self, zone: dns.name.Name, keep: Callable[[dns.name.Name, list[str]], bool] | None = None,
                     ) -> dict[dns.name.Name, tuple[list[str], list[Record], int]] | None:
        """name -> (TXT strings, A/AAAA/PTR records, their TTL) for a zone, by AXFR; None when refused.

        ``keep(name, texts)``, asked when a name's TXT arrives, drops the names
        it refuses there and then: a name's RRsets arrive next to each other
        (BIND, Knot and PowerDNS send a zone in name order), so nearly nothing
        is held for them. A record of a dropped name that arrives elsewhere
        shows up as a name without TXT, which a caller that asked for
        ``keep`` filters out (``Reconciler.load`` keeps only names in play).
        """
        target = self.target
        key = target.key
        texts: dict[dns.name.Name, list[str]] = {}
        records: dict[dns.name.Name, list[Record]] = {}
        ttls: dict[dns.name.Name, int] = {}
        names: set[dns.name.Name] = set()
        dropped = None  # the last name dropped: its other RRsets follow it (a stray one is harmless, see load)
        received = 0
        try:
            for message in dns.query.xfr(
                target.server, zone, port=target.port, timeout=target.timeout, lifetime=60,
                keyring=key.keyring if key else None, keyname=key.name if key else None, relativize=False,
            ):
                received += 1
                for rrset in message.answer:
                    if rrset.name == dropped:
                        continue
                    names.add(rrset.name)
                    if rrset.rdtype == dns.rdatatype.TXT:
                        found = texts.setdefault(rrset.name, [])
                        found.extend(b"".join(rdata.strings).decode("utf-8", "replace") for rdata in rrset)
                        if keep is not None and not keep(rrset.name, found):
                            dropped = rrset.name
                            names.discard(rrset.name)
                            texts.pop(rrset.name)
                            records.pop(rrset.name, None)
                            ttls.pop(rrset.name, None)
                    elif rrset.rdtype in _RECORD_TYPES:
                        records.setdefault(rrset.name, []).extend(
                            (dns.rdatatype.to_text(rrset.rdtype), rdata.to_text()) for rdata in rrset)
                        ttls[rrset.name] = rrset.ttl
        except dns.xfr.TransferError as exc:
            if exc.rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
                self.no_transfer_reason = f"{target.where} answered {dns.rcode.to_text(exc.rcode)}"
                return None
            raise DnsTransient(f"zone transfer from {target.where} failed ({dns.rcode.to_text(exc.rcode)})") from None
        except dns.exception.Timeout:
            raise DnsTransient(f"zone transfer from {target.where} timed out") from None
        except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
            raise tsig_rejection(exc, target) from None
        except (OSError, EOFError) as exc:
            closed = isinstance(exc, (ConnectionResetError, EOFError))
            if closed and received:  # data came, then the connection went: a failed transfer, not a refusal
                raise DnsTransient(f"zone transfer of {zone} from {target.where} was cut off after {received} "
                                   f"message(s)") from None
            if closed:  # no answer at all: some servers refuse a transfer this way
                self.no_transfer_reason = f"{target.where} closed the connection without answering"
                return None
            raise DnsTransient(f"cannot reach {target.where} for zone transfer: {exc.strerror or exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsTransient(f"zone transfer from {target.where} failed: {exc}") from None
        return {name: (texts.get(name, []), records.get(name, []), ttls.get(name, 0))
                for name in names if name != zone}  # the apex (SOA, NS) is never ours


def classify_name(txt_strings: list[str], owner: str) -> Current:
    """Who holds a name that exists, judged by its TXT strings.

    Ours only when the TXT RRset is exactly one mark of this owner: the
    update's value-dependent prerequisite compares the whole RRset, so a
    name where someone added TXT data of their own cannot be changed safely.
    """
    marks = [parse_mark(text) for text in txt_strings]
    if len(marks) == 1 and marks[0] and marks[0][0] == owner:
        return Owned(marks[0][1], (), 0)
    holders = sorted({mark[0] for mark in marks if mark and mark[0] != owner})
    return Foreign(holders[0] if holders else "")


def resolve_server(server: str) -> str:
    """An address for ``server``, which may be an IP literal or a host name."""
    try:
        return str(ipaddress.ip_address(server))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(server, None, proto=socket.IPPROTO_UDP)
    except socket.gaierror as exc:
        raise DnsTransient(f"cannot resolve DNS server name '{server}': {exc.strerror}") from None
    return infos[0][4][0]

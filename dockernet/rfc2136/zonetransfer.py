"""The zone reader: every name of a zone by AXFR, or the server's refusal as a value.

A server that does not let this key transfer the zone is not an error:
dockernet then reads name by name (its journal), and says why. So a transfer
returns a ``Transfer``, holding either the names or the refusal's reason;
failures that a retry may cure raise ``DnsTransient`` (a TSIG failure
``TsigRejected``), as everywhere in the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.xfr

from dockernet.errors import DnsTransient
from dockernet.publish.registry import NameRecords, Record
from dockernet.rfc2136.target import DnsTarget
from dockernet.rfc2136.transport import with_renewal
from dockernet.rfc2136.verdicts import tsig_rejection

T = TypeVar("T")
#: ``keep(name, texts)``: whether a transfer keeps a name, asked when its TXT arrives (``registry.transfer_filter``)
Keep = Callable[[dns.name.Name, list[str]], bool]
_RECORD_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.PTR, dns.rdatatype.SRV)


@dataclass(frozen=True)
class Transfer(Generic[T]):
    """What a zone transfer gave: the names it read, or the server's refusal and why (then ``names`` is empty)."""

    names: dict[dns.name.Name, T] = field(default_factory=dict)
    #: why the server gave no transfer ("127.0.0.1#53 answered REFUSED"); "" when it gave one
    refused: str = ""


class _Names:
    """The names of a transfer as its RRsets stream by, dropping those ``keep`` refuses there and then."""

    def __init__(self, zone: dns.name.Name, keep: Keep | None):
        self.zone = zone
        self.keep = keep
        self.texts: dict[dns.name.Name, list[str]] = {}
        self.records: dict[dns.name.Name, list[Record]] = {}
        self.ttls: dict[dns.name.Name, int] = {}
        self.seen: set[dns.name.Name] = set()
        self.dropped: dns.name.Name | None = None  # the last name dropped: its other RRsets follow it
        #: messages received: data that came and then stopped is a failed transfer, not a refusal
        self.received = 0

    def add(self, rrset: dns.rrset.RRset) -> None:
        name = rrset.name
        if name == self.dropped:
            return
        self.seen.add(name)
        if rrset.rdtype == dns.rdatatype.TXT:
            found = self.texts.setdefault(name, [])
            found.extend(b"".join(rdata.strings).decode("utf-8", "replace") for rdata in rrset)
            if self.keep is not None and not self.keep(name, found):
                self.dropped = name
                self.seen.discard(name)
                self.texts.pop(name)
                self.records.pop(name, None)
                self.ttls.pop(name, None)
        elif rrset.rdtype in _RECORD_TYPES:
            self.records.setdefault(name, []).extend(
                (dns.rdatatype.to_text(rrset.rdtype), rdata.to_text()) for rdata in rrset
            )
            self.ttls[name] = rrset.ttl

    def result(self) -> dict[dns.name.Name, NameRecords]:
        return {
            name: NameRecords(self.texts.get(name, []), self.records.get(name, []), self.ttls.get(name, 0))
            for name in self.seen
            if name != self.zone
        }  # the apex (SOA, NS) is never ours


def transfer_names(target: DnsTarget, zone: dns.name.Name, keep: Keep | None = None) -> Transfer[NameRecords]:
    """name -> (TXT strings, A/AAAA/PTR/SRV records, their TTL) for a zone, by AXFR; or why it was refused.

    ``keep(name, texts)``, asked when a name's TXT arrives, drops the names
    it refuses there and then: a name's RRsets arrive next to each other
    (BIND, Knot and PowerDNS send a zone in name order), so nearly nothing
    is held for them. A record of a dropped name that arrives elsewhere
    shows up as a name without TXT, which a caller that asked for
    ``keep`` filters out (``Reconciler.load`` keeps only names in play).
    """
    if target.key is None:
        return _transfer(target, zone, keep, None)
    return with_renewal(target, lambda key: _transfer(target, zone, keep, key))


def _transfer(
    target: DnsTarget, zone: dns.name.Name, keep: Keep | None, key: dns.tsig.Key | None
) -> Transfer[NameRecords]:
    names = _Names(zone, keep)
    try:
        for message in dns.query.xfr(
            target.server,
            zone,
            port=target.port,
            timeout=target.timeout,
            lifetime=60,
            keyring={key.name: key} if key else None,
            keyname=key.name if key else None,
            relativize=False,
        ):
            names.received += 1
            for rrset in message.answer:
                names.add(rrset)
    except dns.xfr.TransferError as exc:
        if exc.rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            return Transfer(refused=f"{target.where} answered {dns.rcode.to_text(exc.rcode)}")
        raise DnsTransient(f"zone transfer from {target.where} failed ({dns.rcode.to_text(exc.rcode)})") from None
    except dns.exception.Timeout:
        raise DnsTransient(f"zone transfer from {target.where} timed out") from None
    except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
        raise tsig_rejection(exc, target) from None
    except (OSError, EOFError) as exc:
        closed = isinstance(exc, (ConnectionResetError, EOFError))
        if closed and names.received:  # data came, then the connection went: a failed transfer, not a refusal
            raise DnsTransient(
                f"zone transfer of {zone} from {target.where} was cut off after {names.received} message(s)"
            ) from None
        if closed:  # no answer at all: some servers refuse a transfer this way
            return Transfer(refused=f"{target.where} closed the connection without answering")
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DnsTransient(f"cannot reach {target.where} for zone transfer: {reason}") from None
    except dns.exception.FormError:
        if not names.received and _answers_without_the_zone(target, zone, key):
            return Transfer(refused=f"{target.where} answered without the zone")
        raise DnsTransient(f"zone transfer of {zone} from {target.where} failed: a malformed answer") from None
    except dns.exception.DNSException as exc:
        raise DnsTransient(f"zone transfer from {target.where} failed: {exc}") from None
    return Transfer(names.result())


def _answers_without_the_zone(target: DnsTarget, zone: dns.name.Name, key: dns.tsig.Key | None) -> bool:
    """Whether the server answers an AXFR as Active Directory refuses one: NOERROR, no records, its SOA in the
    authority section (dnspython's transfer calls that malformed). Asked once more, alone, to tell it from a
    transfer that really was malformed."""
    query = dns.message.make_query(zone, dns.rdatatype.AXFR)
    if key is not None:
        query.use_tsig(key, keyname=key.name)
    try:
        answer = dns.query.tcp(query, target.server, port=target.port, timeout=target.timeout)
    except (OSError, EOFError, dns.exception.DNSException):
        return False
    soa = answer.get_rrset(answer.authority, zone, dns.rdataclass.IN, dns.rdatatype.SOA)
    return answer.rcode() == dns.rcode.NOERROR and not answer.answer and soa is not None

"""Building RFC 2136 UPDATE messages from plan values (pure; nothing is sent here).

Each ``Change`` becomes one UPDATE whose prerequisite section re-checks,
atomically on the server, the state the plan assumed:

* ``Create``: "name is not in use" (RFC 2136 section 2.4.5), so a record a
  person or another host made in the meantime is never overwritten;
* ``Replace`` and ``Delete``: "RRset exists (value dependent)" (section 2.4.2)
  on this watcher's ownership TXT for the old container, so only our own
  record for that very container is touched.

The RR operations themselves come from ``plan.operations``, so a dry run's
nsupdate script and the real UPDATE say the same thing.
"""

from __future__ import annotations

import functools
import secrets

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.update

from dockernet.publish.plan import Change, Record, is_srv_name, operations
from dockernet.publish.registry import lease_name
from dockernet.rfc2136.target import DnsTarget

_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
_IN_ADDR = dns.name.from_text("in-addr.arpa.")
_IP6 = dns.name.from_text("ip6.arpa.")


def quoted(text: str) -> str:
    return '"' + text + '"'


def chunked_txt(text: str) -> str:
    """One TXT record holding ``text``, in strings of at most 255 bytes (RFC 1035 3.3.14); readers join them."""
    return " ".join(quoted(text[at : at + 255]) for at in range(0, len(text), 255)) or quoted("")


# Rdata built directly rather than parsed from text: at start-up with
# hundreds of names, dnspython's text parser was a fifth of the run. The
# ownership mark is built once per container, not once per name (its
# forward name and PTR names carry the same one): dnspython's rdata are
# immutable, so one object serves every message.
@functools.lru_cache(maxsize=512)
def address_rdata(address: str) -> dns.rdata.Rdata:
    if ":" in address:
        return dns.rdtypes.IN.AAAA.AAAA(dns.rdataclass.IN, dns.rdatatype.AAAA, address)
    return dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, address)


@functools.lru_cache(maxsize=512)
def txt_rdata(text: str) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text.encode()])


def record_rdata(record: Record) -> dns.rdata.Rdata:
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


def is_reverse(zone: dns.name.Name) -> bool:
    return zone.is_subdomain(_IN_ADDR) or zone.is_subdomain(_IP6)


def new_update(target: DnsTarget, zone: dns.name.Name | None = None) -> dns.update.UpdateMessage:
    """An empty UPDATE of ``zone`` (default: the forward zone); ``transport.exchange`` signs it as it leaves."""
    return dns.update.UpdateMessage(zone or target.zone)


def build_update(change: Change, target: DnsTarget) -> dns.update.UpdateMessage:
    """The one UPDATE that applies ``change`` if, and only if, the zone is as planned."""
    message = new_update(target, target.zone_of(change.fqdn))
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
    """An UPDATE that can never change anything, yet is judged as a real one: NXRRSET when allowed, else REFUSED.

    It deletes one TXT record that does not exist, behind a prerequisite that
    this very record exists, which cannot hold: nothing changes, even on a
    server that skipped the prerequisite. Prerequisites alone are not
    enough: BIND 9.18 answers an UPDATE holding only prerequisites with
    NXRRSET whoever signs it, and checks the signer's grant
    (``update-policy``) only for update records. The record is at this
    owner's lease name in the forward zone, a name dockernet must be
    granted anyway, and at a fresh name in a reverse zone. A signer the zone
    grants gets NXRRSET, one it does not gets REFUSED (or a TSIG error),
    which ``send`` turns into the matching ``DnsRejected``.
    """
    zone = zone or target.zone
    message = new_update(target, zone)
    mark = txt_rdata(f"dockernet-probe-{secrets.token_hex(8)}")
    if zone == target.zone:
        name = lease_name(target.owner, zone)
    else:
        name = dns.name.Name((f"dockernet-probe-{secrets.token_hex(4)}".encode(), *zone.labels))
    message.present(name, mark)
    message.delete(name, mark)
    return message

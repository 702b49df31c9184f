"""Where updates go: the zone's primary, found from its SOA as ``nsupdate`` finds it.

``--server`` may name any authoritative server of the zone, a secondary
included. A server that takes this key's updates is used as it is (the
zone's SOA often names the primary by an address only valid somewhere
else: ``localhost``, a NAT'd address). One that refuses them is most likely
a secondary, so updates *and* reads go to the primary: the server the zone's
SOA MNAME names. Its address is asked of the server given when MNAME lies
inside the zone (that server is authoritative for the answer) and of the
system resolver otherwise, falling back to the given server's answer.
``--primary HOST[:PORT]`` overrides all of this.

When MNAME has no address to be found, or the given server is among its
addresses, the given server is used, and its refusal says what was found.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass, replace

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.ANY.SOA import SOA

from dockernet.ddns import DnsTarget, Nameserver, resolve_server
from dockernet.errors import DnsError, DnsRejected, DnsTransient

log = logging.getLogger("dockernet")


def addresses_of(host: dns.name.Name, zone: dns.name.Name, nameserver: Nameserver) -> list[str]:
    """A server's addresses: from the zone's own server when the name is in the zone, else the system resolver."""
    if host.is_subdomain(zone):
        return _asked_of(nameserver, host)
    try:
        infos = socket.getaddrinfo(host.to_text(omit_final_dot=True), None, proto=socket.IPPROTO_UDP)
    except (socket.gaierror, UnicodeError):
        return _asked_of(nameserver, host)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _asked_of(nameserver: Nameserver, host: dns.name.Name) -> list[str]:
    found: list[str] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        response = nameserver.query(host, rdtype)
        if response.rcode() != dns.rcode.NOERROR:
            continue
        rrset = response.get_rrset(response.answer, host, dns.rdataclass.IN, rdtype)
        found.extend(rdata.address for rdata in rrset or ())
    return found


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address."""
    if text.startswith("[") and "]" in text:
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit() and 0 < int(port) < 65536:
            return host, int(port)
    return text, default_port


def same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def find_primary(given: DnsTarget, primary: str | None = None) -> DnsTarget:
    """The target updates and reads should use: ``given`` redirected to the zone's primary where that differs.

    A redirected target keeps where the SOA was asked in ``asked``; with
    ``--primary`` naming a server the SOA says is not the primary,
    ``not_primary`` says so, for the refusal hints. A server that does not
    answer leaves ``given`` as it is: the watcher starts anyway and reports
    the outage its usual way.
    """
    if primary:
        host, port = split_host_port(primary, given.port)
        chosen = replace(given, server=resolve_server(host), port=port)
        return replace(chosen, not_primary=_check_is_primary(chosen))
    asked = Nameserver(given)
    try:
        asked.probe_zone(given.zone)
        return given  # it takes this key's updates (a primary, or a secondary that forwards them)
    except DnsRejected as exc:
        # GSS: no key could be negotiated there (a secondary without the service's keytab, say)
        if exc.code not in ("REFUSED", "NOTAUTH", "GSS"):
            return given  # a key problem: reported as it is, wherever updates go
    except DnsError:
        return given
    if given.key is not None and given.key.negotiated:
        asked = asked.with_key(None)  # it negotiates no key with us: ask it unsigned, as nsupdate -g does
    try:
        soa = asked.soa(given.zone)
        if soa is None:
            return given
        addresses = addresses_of(soa.mname, given.zone, asked)
    except DnsError as exc:
        log.debug("Cannot look for the primary of %s at %s: %s", given.zone, given.where, exc)
        return given
    mname = soa.mname.to_text(omit_final_dot=True)
    if not addresses:
        return replace(
            given,
            not_primary=f"if {given.where} is a secondary: the zone's SOA names the primary {mname}, "
            f"whose address dockernet could not find; give it with --primary",
        )
    if any(same_address(address, given.server) for address in addresses):
        return given
    family_first = sorted(addresses, key=lambda address: (":" in address) != (":" in given.server))
    return replace(given, server=family_first[0], asked=given.where, mname=mname)


def _check_is_primary(target: DnsTarget) -> str:
    """With --primary: whether that server's own SOA agrees it is the primary (said in refusal hints)."""
    nameserver = Nameserver(target)
    try:
        soa = nameserver.soa(target.zone)
        addresses = addresses_of(soa.mname, target.zone, nameserver) if soa else []
    except DnsError:
        return ""
    if soa is None or not addresses or any(same_address(a, target.server) for a in addresses):
        return ""
    mname = soa.mname.to_text(omit_final_dot=True)
    return (
        f"{target.where} is a secondary of the zone, not its primary: the SOA names {mname} "
        f"({', '.join(addresses)}); point --primary there, or leave --primary out"
    )


@dataclass(frozen=True)
class ServerState:
    """One name server of the zone, as ``dns check`` reports it."""

    name: str
    where: str
    serial: int | None
    error: str = ""


def zone_servers(nameserver: Nameserver, zone: dns.name.Name) -> tuple[SOA | None, list[ServerState]]:
    """The primary's SOA and every server listed in NS with its serial (asked at the primary's port)."""
    soa = nameserver.soa(zone)
    response = nameserver.query(zone, dns.rdatatype.NS)
    ns = response.get_rrset(response.answer, zone, dns.rdataclass.IN, dns.rdatatype.NS)
    states = []
    for rdata in sorted(ns or (), key=lambda rdata: rdata.target):
        host = rdata.target
        if soa is not None and host == soa.mname:
            continue
        try:
            addresses = addresses_of(host, zone, nameserver)
        except DnsError as exc:
            states.append(ServerState(host.to_text(omit_final_dot=True), "?", None, str(exc)))
            continue
        for address in addresses:
            other = Nameserver(replace(nameserver.target, server=address))
            try:
                theirs = other.soa(zone)
            except DnsTransient as exc:
                states.append(ServerState(host.to_text(omit_final_dot=True), other.target.where, None, str(exc)))
                continue
            states.append(
                ServerState(
                    host.to_text(omit_final_dot=True),
                    other.target.where,
                    theirs.serial if theirs else None,
                    "" if theirs else "does not serve the zone",
                )
            )
    return soa, states

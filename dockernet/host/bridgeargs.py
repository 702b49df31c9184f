"""``bridge setup``'s arguments validated into the bridge as it should be (``bridge.BridgeSpec``); pure, no I/O.

Every value that reaches Docker's files or the ifupdown stanza passes
through here first: an interface name, addresses, domain names, a number.
Nothing a user typed can therefore end a line or mean something to the
shell that sources DOCKER_OPTS. Each failure is a ``UsageError`` saying
what was expected; the click types of ``cli.params`` share the predicates.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from dockernet.bridge import BridgeSpec
from dockernet.errors import UsageError
from dockernet.logformat import printable

#: an interface name that the kernel, ifupdown, Docker and a shell all take as one plain word: the kernel alone
#: allows any 15 bytes but '/', ':' and spaces, and '$(reboot)' would then reach a sourced DOCKER_OPTS
_IFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")  # fullmatch: '$' would accept a trailing newline
#: a label of a search domain as dockerd's ValidateDNSSearch takes it (no '_': dockerd would refuse to start)
_SEARCH_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def valid_ifname(name: str) -> bool:
    """Letters, digits, '_', '.' and '-', 1-15 characters, not starting with '.' or '-'."""
    return bool(_IFNAME.fullmatch(name or ""))


def search_domain(text: str) -> str | None:
    """``text`` as a container search domain (one trailing dot dropped), or None when it is not a domain name.

    dockerd's own rule: labels of letters, digits and inner '-', at most 63
    each, and at least one letter; so no character of it means anything to
    a shell or ends a line.
    """
    domain = text[:-1] if text.endswith(".") else text
    labels = domain.split(".")
    if not domain or len(domain) > 253 or not all(_SEARCH_LABEL.fullmatch(label) for label in labels):
        return None
    return domain if any(c.isalpha() for c in domain) else None


def resolver_address(text: str) -> str | None:
    """``text`` as a resolver address (canonical form), or None: an IPv4 or IPv6 address without a scope.

    ``ipaddress`` takes ``fe80::1%<anything>``; dockerd does not, and the
    scope would be written verbatim into Docker's files.
    """
    if "%" in text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parses(parse: Callable[[str], object], value: str) -> bool:
    """Whether ``parse`` (``ipaddress.ip_address``, ``ip_interface``) takes ``value``: files may hold anything."""
    try:
        parse(value)
    except ValueError:
        return False
    return True


def make_spec(
    name: str,
    cidr: str,
    gateway: str | None = None,
    mtu: int | None = None,
    dns: tuple[str, ...] = (),
    dns_search: tuple[str, ...] = (),
    cidr6: str | None = None,
) -> BridgeSpec:
    """Validate the arguments of ``bridge setup``; every failure is a ``UsageError``.

    ``--cidr 10.1.0.1/16`` means network 10.1.0.0/16 with gateway 10.1.0.1;
    ``--cidr 10.1.0.0/16`` takes the first host address as the gateway.
    """
    if not valid_ifname(name):
        raise UsageError(
            f"'{printable(name)}' is not a valid interface name (1-15 letters, digits, '_', '.' "
            "or '-', not starting with '.' or '-')"
        )
    interface = _gateway_interface(cidr, gateway)
    if mtu is not None and not 68 <= mtu <= 65535:
        raise UsageError(f"MTU {mtu} is out of range (68-65535)")
    return BridgeSpec(
        name,
        interface,
        mtu,
        _resolvers(dns or (str(interface.ip),)),
        _search_domains(dns_search),
        _interface6(cidr6) if cidr6 else None,
        dns_defaulted=not dns,
    )


def _gateway_interface(cidr: str, gateway: str | None) -> ipaddress.IPv4Interface:
    """``--cidr`` and ``--gateway`` as the bridge's address with the subnet's prefix."""
    try:
        given = ipaddress.ip_interface(cidr)
    except ValueError:
        raise UsageError(f"'{printable(cidr)}' is not a CIDR (expected e.g. 10.1.0.0/16)") from None
    if "/" not in cidr:
        raise UsageError(f"'{cidr}' has no prefix length", hint=f"maybe you meant {cidr}/24 ?")
    if given.version != 4:
        raise UsageError(
            f"{cidr} is IPv6: the Docker bridge address is IPv4 (IPv6 goes in daemon.json's fixed-cidr-v6)"
        )
    network = given.network
    if network.prefixlen > 30:
        raise UsageError(f"{network} is too small: a bridge needs at least a /30 (gateway and one container)")
    if gateway is not None:
        try:
            gateway_ip = ipaddress.IPv4Address(gateway)
        except ValueError:
            raise UsageError(f"gateway '{printable(gateway)}' is not an IPv4 address") from None
    elif given.ip != network.network_address:
        gateway_ip = given.ip
    else:
        gateway_ip = network.network_address + 1
    if gateway_ip not in network:
        raise UsageError(f"gateway {gateway_ip} is outside {network}")
    if gateway_ip in (network.network_address, network.broadcast_address):
        which = "network" if gateway_ip == network.network_address else "broadcast"
        raise UsageError(
            f"gateway {gateway_ip} is the {which} address of {network}",
            hint=f"use a host address such as {network.network_address + 1}",
        )
    return ipaddress.IPv4Interface(f"{gateway_ip}/{network.prefixlen}")


def _resolvers(servers: tuple[str, ...]) -> tuple[str, ...]:
    resolvers = []
    for server in servers:
        address = resolver_address(server)
        if address is None:
            raise UsageError(f"DNS server '{printable(server)}' is not an IP address")
        resolvers.append(address)
    return tuple(resolvers)


def _search_domains(texts: tuple[str, ...]) -> tuple[str, ...]:
    domains = []
    for text in texts:
        domain = search_domain(text)
        if domain is None:
            raise UsageError(
                f"search domain '{printable(text)}' is not a domain name (labels of letters, digits "
                "and '-', separated by dots)"
            )
        domains.append(domain)
    return tuple(domains)


def _interface6(cidr6: str) -> ipaddress.IPv6Interface:
    """``--cidr6 fd00:1::/64``: the bridge takes the prefix's first address, as Docker gives its bridge."""
    try:
        if "%" in cidr6:  # ipaddress keeps a scope ('fd00::%x/64') verbatim in str(): it would reach the files
            raise ValueError(cidr6)
        network = ipaddress.IPv6Network(cidr6, strict=False)
    except ValueError:
        raise UsageError(f"'{printable(cidr6)}' is not an IPv6 prefix (expected e.g. fd00:1::/64)") from None
    if "/" not in cidr6:
        raise UsageError(f"'{cidr6}' has no prefix length", hint=f"maybe you meant {cidr6}/64 ?")
    if network.is_link_local or network.is_multicast or network.is_loopback:
        raise UsageError(f"{network} cannot hold containers' addresses (link-local, multicast or loopback)")
    if network.prefixlen > 80:
        raise UsageError(f"{network} is too small: Docker needs a /80 or larger for fixed-cidr-v6")
    return ipaddress.IPv6Interface(f"{network.network_address + 1}/{network.prefixlen}")

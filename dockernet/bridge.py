"""The Docker bridge over netlink: validate, observe, plan, apply.

Validation and planning are pure (``make_spec``, ``find_overlaps``,
``plan_bridge``); ``observe`` reads the kernel's state through one
``IPRoute`` socket, and ``apply_steps`` executes a plan without deciding
anything. The socket is opened inside a network namespace when one is
given, by name or path, and never creates a missing one (``flags=0``).

The seed did this by hand (``brctl delbr``/``addbr`` and an ifupdown
stanza); the traps it left open are closed here: a gateway written as the
network address, a subnet that overlaps the host's own networks (and cuts
it off), a bridge rebuilt while Docker still uses it.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from dockernet.errors import DockernetError, LinkVanished, NamespaceMissing, NetlinkFailed, UsageError
from dockernet.logformat import printable

#: an interface name that the kernel, ifupdown, Docker and a shell all take as one plain word: the kernel alone
#: allows any 15 bytes but '/', ':' and spaces, and '$(reboot)' would then reach a sourced DOCKER_OPTS
_IFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")  # fullmatch: '$' would accept a trailing newline
#: a label of a search domain as dockerd's ValidateDNSSearch takes it (no '_': dockerd would refuse to start)
_SEARCH_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class BridgeSpec:
    """The bridge as it should be."""

    name: str
    interface: ipaddress.IPv4Interface  # the gateway address with the subnet's prefix
    mtu: int | None = None
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    #: the bridge's IPv6 address with the prefix containers get theirs from (``--cidr6``)
    interface6: ipaddress.IPv6Interface | None = None
    #: ``dns`` is the gateway because no resolver was given: a resolver already in Docker's files may replace it
    dns_defaulted: bool = False

    @property
    def network(self) -> ipaddress.IPv4Network:
        return self.interface.network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.interface.ip


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


def make_spec(name: str, cidr: str, gateway: str | None = None, mtu: int | None = None,
              dns: tuple[str, ...] = (), dns_search: tuple[str, ...] = (), cidr6: str | None = None) -> BridgeSpec:
    """Validate the arguments of ``bridge setup``; every failure is a ``UsageError``.

    ``--cidr 10.1.0.1/16`` means network 10.1.0.0/16 with gateway 10.1.0.1;
    ``--cidr 10.1.0.0/16`` takes the first host address as the gateway.
    """
    if not valid_ifname(name):
        raise UsageError(f"'{printable(name)}' is not a valid interface name (1-15 letters, digits, '_', '.' "
                         "or '-', not starting with '.' or '-')")
    try:
        given = ipaddress.ip_interface(cidr)
    except ValueError:
        raise UsageError(f"'{printable(cidr)}' is not a CIDR (expected e.g. 10.1.0.0/16)") from None
    if "/" not in cidr:
        raise UsageError(f"'{cidr}' has no prefix length", hint=f"maybe you meant {cidr}/24 ?")
    if given.version != 4:
        raise UsageError(f"{cidr} is IPv6: the Docker bridge address is IPv4 (IPv6 goes in daemon.json's fixed-cidr-v6)")
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
        raise UsageError(f"gateway {gateway_ip} is the {which} address of {network}",
                         hint=f"use a host address such as {network.network_address + 1}")
    if mtu is not None and not 68 <= mtu <= 65535:
        raise UsageError(f"MTU {mtu} is out of range (68-65535)")
    resolvers = []
    for server in dns or (str(gateway_ip),):
        address = resolver_address(server)
        if address is None:
            raise UsageError(f"DNS server '{printable(server)}' is not an IP address")
        resolvers.append(address)
    domains = []
    for text in dns_search:
        domain = search_domain(text)
        if domain is None:
            raise UsageError(f"search domain '{printable(text)}' is not a domain name (labels of letters, digits "
                             "and '-', separated by dots)")
        domains.append(domain)
    return BridgeSpec(name, ipaddress.IPv4Interface(f"{gateway_ip}/{network.prefixlen}"), mtu,
                      tuple(resolvers), tuple(domains), _interface6(cidr6) if cidr6 else None, dns_defaulted=not dns)


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


# --- what is there ----------------------------------------------------------------


@dataclass(frozen=True)
class LinkState:
    """A bridge (or whatever holds the name) as the kernel reports it."""

    name: str
    index: int
    kind: str
    mtu: int
    up: bool
    addresses: tuple[ipaddress.IPv4Interface, ...]
    forward_delay: int | None = None  # centiseconds, as netlink reports it
    stp: int | None = None
    ports: tuple[str, ...] = ()
    #: global IPv6 addresses (link-local ones come and go with the link)
    addresses6: tuple[ipaddress.IPv6Interface, ...] = ()


@dataclass(frozen=True)
class NetworkInUse:
    """An address or route on another interface, for the overlap check."""

    network: ipaddress.IPv4Network
    ifname: str
    what: str  # "address" or "route"


@dataclass(frozen=True)
class Observation:
    bridge: LinkState | None
    others: tuple[NetworkInUse, ...] = field(default_factory=tuple)


def find_overlaps(network: ipaddress.IPv4Network, others: tuple[NetworkInUse, ...]) -> list[str]:
    """One sentence per network elsewhere that overlaps ``network`` (default routes excepted)."""
    found = []
    for other in others:
        if other.network.prefixlen == 0 or not network.overlaps(other.network):
            continue
        sentence = f"{network} overlaps {other.network} on {other.ifname}"
        if sentence not in found:
            found.append(sentence)
    return found


# --- the plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteLink:
    name: str
    why: str

    def describe(self) -> str:
        return f"ip link del {self.name}    # {self.why}"


@dataclass(frozen=True)
class CreateBridge:
    name: str

    def describe(self) -> str:
        return f"ip link add {self.name} type bridge forward_delay 0 stp_state 0"


@dataclass(frozen=True)
class SetMtu:
    name: str
    mtu: int

    def describe(self) -> str:
        return f"ip link set {self.name} mtu {self.mtu}"


@dataclass(frozen=True)
class AddAddress:
    name: str
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface

    def describe(self) -> str:
        return f"ip addr add {self.interface} dev {self.name}"


@dataclass(frozen=True)
class SetUp:
    name: str

    def describe(self) -> str:
        return f"ip link set {self.name} up"


Step = DeleteLink | CreateBridge | SetMtu | AddAddress | SetUp


def differences(state: LinkState, spec: BridgeSpec) -> list[str]:
    """How the existing link differs from the spec (empty: it is as wanted)."""
    found = []
    if state.kind != "bridge":
        found.append(f"it is a {state.kind or 'plain'} link, not a bridge")
    if tuple(state.addresses) != (spec.interface,):
        have = ", ".join(str(a) for a in state.addresses) or "no address"
        found.append(f"address {have} instead of {spec.interface}")
    if spec.interface6 and tuple(state.addresses6) != (spec.interface6,):  # without --cidr6, IPv6 is Docker's
        have = ", ".join(str(a) for a in state.addresses6) or "no IPv6 address"
        found.append(f"{have} instead of {spec.interface6}")
    if spec.mtu is not None and state.mtu != spec.mtu:
        found.append(f"MTU {state.mtu} instead of {spec.mtu}")
    if state.forward_delay not in (0, None):
        found.append(f"forward delay {state.forward_delay / 100:g} s instead of 0")
    if state.stp not in (0, None):
        found.append("STP on")
    if not state.up:
        found.append("link down")
    return found


def plan_bridge(observed: LinkState | None, spec: BridgeSpec) -> list[Step]:
    """The netlink steps from ``observed`` to ``spec``; empty when nothing is to be done.

    A bridge that differs in any way is deleted and made again, so no
    setting of an earlier configuration survives by accident.
    """
    steps: list[Step] = []
    if observed is not None:
        diffs = differences(observed, spec)
        if not diffs:
            return []
        steps.append(DeleteLink(spec.name, "; ".join(diffs)))
    steps.append(CreateBridge(spec.name))
    if spec.mtu is not None:
        steps.append(SetMtu(spec.name, spec.mtu))
    steps.append(AddAddress(spec.name, spec.interface))
    if spec.interface6:
        steps.append(AddAddress(spec.name, spec.interface6))
    steps.append(SetUp(spec.name))
    return steps


def plan_restore(old: LinkState | None, name: str, exists_now: bool) -> list[Step]:
    """The steps that put the link back as ``old`` was (None: it did not exist), from whatever is there now.

    Only a bridge can be made again; its addresses, MTU and state come back,
    the ports it had do not (containers reattach when Docker restarts them).
    """
    steps: list[Step] = [DeleteLink(name, "putting back the link as it was")] if exists_now else []
    if old is None or old.kind != "bridge":
        return steps
    steps += [CreateBridge(name), SetMtu(name, old.mtu)]
    steps += [AddAddress(name, address) for address in (*old.addresses, *old.addresses6)]
    return steps + ([SetUp(name)] if old.up else [])


def plan_teardown(observed: LinkState | None, name: str) -> list[Step]:
    return [DeleteLink(name, "bridge teardown")] if observed is not None else []


# --- netlink ----------------------------------------------------------------------------


@contextmanager
def netlink(netns: str | None = None) -> Iterator:
    """An ``IPRoute`` socket in the host namespace or in ``netns`` (a name under /var/run/netns or a path)."""
    from pyroute2 import IPRoute, NetlinkError

    try:
        ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
    except FileNotFoundError:
        raise NamespaceMissing(f"network namespace {netns} does not exist") from None
    except (OSError, NetlinkError) as exc:
        raise _netlink_error(exc, "open a netlink socket") from None
    try:
        yield ipr
    finally:
        ipr.close()


def default_route_address(netns: str | None = None) -> str | None:
    """The address of the interface holding the default route (IPv4 first), or None without one.

    What other machines reach this host at, for ``--address host``: the
    route's preferred source when it names one, else the interface's first
    global address. Read from the routing table; nothing is sent.
    """
    with netlink(netns) as ipr:
        for family in (socket.AF_INET, socket.AF_INET6):
            for route in ipr.get_default_routes(family=family):
                if route.get("RTA_PREFSRC"):
                    return str(route.get("RTA_PREFSRC"))
                found = sorted(str(address.get("IFA_ADDRESS")) for address in ipr.get_addr(family=family)
                               if address["index"] == route.get("RTA_OIF") and address["scope"] == 0)
                if found:
                    return found[0]
    return None


def _netlink_error(exc: Exception, doing: str) -> DockernetError:
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if code in (errno.EPERM, errno.EACCES):
        return NetlinkFailed(f"not allowed to {doing}", hint="run as root (CAP_NET_ADMIN)")
    reason = errno.errorcode.get(code, "") if code else ""
    return NetlinkFailed(f"cannot {doing}: {exc}" + (f" ({reason})" if reason and reason not in str(exc) else ""))


def _v4_addresses(ipr, index: int) -> tuple[ipaddress.IPv4Interface, ...]:
    return tuple(sorted(
        ipaddress.IPv4Interface(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}") for a in ipr.get_addr(family=2, index=index)
    ))


def observe(ipr, name: str) -> Observation:
    """The link called ``name`` (if any) and every IPv4 network in use on other links."""
    from pyroute2 import NetlinkError

    try:
        links = {link["index"]: link for link in ipr.get_links()}
        bridge = None
        names = {index: link.get("IFLA_IFNAME") for index, link in links.items()}
        for index, link in links.items():
            if link.get("IFLA_IFNAME") != name:
                continue
            info = link.get("IFLA_LINKINFO")
            kind = info.get("IFLA_INFO_KIND") if info else ""
            data = info.get("IFLA_INFO_DATA") if info else None
            ports = tuple(sorted(names[i] for i, other in links.items() if other.get("IFLA_MASTER") == index))
            bridge = LinkState(
                name=name, index=index, kind=kind or "", mtu=link.get("IFLA_MTU"),
                up=bool(link["flags"] & 1), addresses=_v4_addresses(ipr, index), addresses6=_v6_addresses(ipr, index),
                forward_delay=data.get("IFLA_BR_FORWARD_DELAY") if data else None,
                stp=data.get("IFLA_BR_STP_STATE") if data else None, ports=ports,
            )
        others = []
        for address in ipr.get_addr(family=2):
            if bridge is not None and address["index"] == bridge.index:
                continue
            network = ipaddress.IPv4Interface(f"{address.get('IFA_ADDRESS')}/{address['prefixlen']}").network
            if not network.is_loopback:
                others.append(NetworkInUse(network, names.get(address["index"], "?"), "address"))
        for route in ipr.get_routes(family=2, table=254):
            oif = route.get("RTA_OIF")
            if bridge is not None and oif == bridge.index or route.get("RTA_DST") is None:
                continue
            network = ipaddress.IPv4Network(f"{route.get('RTA_DST')}/{route['dst_len']}", strict=False)
            others.append(NetworkInUse(network, names.get(oif, "?"), "route"))
    except NetlinkError as exc:
        raise _netlink_error(exc, "read links and addresses") from None
    return Observation(bridge, tuple(others))


def _index_of(ipr, step: Step) -> int:
    """The link a step acts on; it may have vanished since the plan was made (another tool, a reboot of Docker)."""
    found = ipr.link_lookup(ifname=step.name)
    if not found:
        raise LinkVanished(f"{step.name} disappeared before dockernet could {step.describe()}",
                           hint="something else changed the links meanwhile; run the command again")
    return found[0]


def _v6_addresses(ipr, index: int) -> tuple[ipaddress.IPv6Interface, ...]:
    found = (ipaddress.IPv6Interface(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}") for a in ipr.get_addr(family=10, index=index))
    return tuple(sorted(address for address in found if not address.is_link_local))


def apply_steps(ipr, steps: list[Step]) -> None:
    """Execute a plan, in order. Decides nothing."""
    from pyroute2 import NetlinkError

    for step in steps:
        try:
            if isinstance(step, DeleteLink):
                ipr.link("del", index=_index_of(ipr, step))
            elif isinstance(step, CreateBridge):
                ipr.link("add", ifname=step.name, kind="bridge", br_forward_delay=0, br_stp_state=0)
            else:
                index = _index_of(ipr, step)
                if isinstance(step, SetMtu):
                    ipr.link("set", index=index, mtu=step.mtu)
                elif isinstance(step, AddAddress):
                    ipr.addr("add", index=index, address=str(step.interface.ip), prefixlen=step.interface.network.prefixlen)
                elif isinstance(step, SetUp):
                    ipr.link("set", index=index, state="up")
        except NetlinkError as exc:
            raise _netlink_error(exc, step.describe()) from None

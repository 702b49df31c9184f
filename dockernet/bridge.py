"""The Docker bridge over netlink: the spec, observe, plan, apply; the face of the bridge wing.

Planning is pure: ``plan_bridge`` turns the kernel's ``LinkState`` and the
wanted ``BridgeSpec`` into a list of steps (frozen values that print as the
``ip`` commands they stand for), ``find_overlaps`` finds the host's
networks the subnet would cut off. ``observe`` reads the kernel's state
through one ``IPRoute`` socket and ``apply_steps`` executes a plan without
deciding anything. The socket (``netlink``) is opened inside a network
namespace when one is given, by name or path, and never creates a missing
one (``flags=0``); the netns wing opens its sockets here too.

The rest of the wing lives in ``dockernet.host``, which builds on this
module: ``bridge setup``'s arguments validated into a ``BridgeSpec``
(``host.bridgeargs``: ``make_spec``), and the plans, files and refusals of
``bridge setup``/``teardown`` (``host.bridgesetup`` and its neighbours).

The seed did this by hand (``brctl delbr``/``addbr`` and an ifupdown
stanza); the traps it left open are closed here: a gateway written as the
network address, a subnet that overlaps the host's own networks (and cuts
it off), a bridge rebuilt while Docker still uses it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dockernet.errors import DockernetError, LinkVanished, NamespaceMissing, NetlinkFailed


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
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...] = (*old.addresses, *old.addresses6)
    steps += [AddAddress(name, address) for address in addresses]
    return steps + ([SetUp(name)] if old.up else [])


def plan_link_teardown(observed: LinkState | None, name: str) -> list[Step]:
    """The netlink steps of ``bridge teardown``: delete the link when there is one."""
    return [DeleteLink(name, "bridge teardown")] if observed is not None else []


# --- netlink: one socket, in the host's namespace or another one ---------------------------


@contextmanager
def netlink(netns: str | None = None) -> Iterator[Any]:
    """An ``IPRoute`` socket in the host namespace or in ``netns`` (a name under /var/run/netns or a path)."""
    from pyroute2 import IPRoute, NetlinkError  # start-up time: only commands that touch links load pyroute2

    try:
        ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
    except FileNotFoundError:
        raise NamespaceMissing(f"network namespace {netns} does not exist") from None
    except (OSError, NetlinkError) as exc:
        raise netlink_error(exc, "open a netlink socket") from None
    try:
        yield ipr
    finally:
        ipr.close()


def netlink_error(exc: Exception, doing: str) -> DockernetError:
    """A failed netlink request (or socket) as one sentence; a permission error says to run as root."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if code in (errno.EPERM, errno.EACCES):
        return NetlinkFailed(f"not allowed to {doing}", hint="run as root (CAP_NET_ADMIN)")
    reason = errno.errorcode.get(code, "") if code else ""
    return NetlinkFailed(f"cannot {doing}: {exc}" + (f" ({reason})" if reason and reason not in str(exc) else ""))


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
                found = sorted(
                    str(address.get("IFA_ADDRESS"))
                    for address in ipr.get_addr(family=family)
                    if address["index"] == route.get("RTA_OIF") and address["scope"] == 0
                )
                if found:
                    return found[0]
    return None


# --- reading and changing the link -------------------------------------------------------


def _v4_addresses(ipr, index: int) -> tuple[ipaddress.IPv4Interface, ...]:
    return tuple(
        sorted(
            ipaddress.IPv4Interface(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}")
            for a in ipr.get_addr(family=2, index=index)
        )
    )


def observe(ipr, name: str) -> Observation:
    """The link called ``name`` (if any) and every IPv4 network in use on other links."""
    from pyroute2 import NetlinkError  # start-up time: pyroute2 is loaded by the first socket, not on import

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
                name=name,
                index=index,
                kind=kind or "",
                mtu=link.get("IFLA_MTU"),
                up=bool(link["flags"] & 1),
                addresses=_v4_addresses(ipr, index),
                addresses6=_v6_addresses(ipr, index),
                forward_delay=data.get("IFLA_BR_FORWARD_DELAY") if data else None,
                stp=data.get("IFLA_BR_STP_STATE") if data else None,
                ports=ports,
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
        raise netlink_error(exc, "read links and addresses") from None
    return Observation(bridge, tuple(others))


def _index_of(ipr, step: Step) -> int:
    """The link a step acts on; it may have vanished since the plan was made (another tool, a reboot of Docker)."""
    found = ipr.link_lookup(ifname=step.name)
    if not found:
        raise LinkVanished(
            f"{step.name} disappeared before dockernet could {step.describe()}",
            hint="something else changed the links meanwhile; run the command again",
        )
    return found[0]


def _v6_addresses(ipr, index: int) -> tuple[ipaddress.IPv6Interface, ...]:
    found = (
        ipaddress.IPv6Interface(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}")
        for a in ipr.get_addr(family=10, index=index)
    )
    return tuple(sorted(address for address in found if not address.is_link_local))


def apply_steps(ipr, steps: list[Step]) -> None:
    """Execute a plan, in order. Decides nothing."""
    from pyroute2 import NetlinkError  # start-up time: pyroute2 is loaded by the first socket, not on import

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
                    ipr.addr(
                        "add", index=index, address=str(step.interface.ip), prefixlen=step.interface.network.prefixlen
                    )
                elif isinstance(step, SetUp):
                    ipr.link("set", index=index, state="up")
        except NetlinkError as exc:
            raise netlink_error(exc, step.describe()) from None

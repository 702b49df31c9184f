"""Containers' network namespaces, seen and configured from the host (pipework's job, over netlink); the face
of the netns wing.

The "host side" is the namespace that holds Docker's bridges and the outer
ends of the veth pairs: this process's own, or ``host_netns``.

Here are the changes (``change_address``, ``change_route``, ``attach``,
``detach``), each of which leaves nothing half-done and changes only what
``attach`` made unless forced. The rest of the wing is re-exported, so that
callers import ``dockernet.netns``: opening a container's namespace without
a race (``host.containerns``), reading and drawing it (``host.netnsview``:
``show``, ``list_views``, ``render_*``), and parsing the commands'
arguments (``host.netnsargs``: ``parse_*``).
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockernet.bridge import netlink
from dockernet.engine import ContainerInfo, Engine
from dockernet.errors import NetlinkFailed, NotAttachedByDockernet, UsageError
from dockernet.host.containerns import container_netlink, namespace_path, resolve
from dockernet.host.netnsargs import (
    check_ifname,
    parse_destination,
    parse_interface,
    parse_ip_spec,
    parse_mac,
    stable_mac,
)
from dockernet.host.netnsview import (
    Interface,
    Peer,
    Route,
    View,
    host_links,
    list_views,
    port_owners,
    read_view,
    render_ls,
    render_show,
    show,
)

__all__ = [
    "ATTACH_MARK",
    "AttachSpec",
    "Interface",
    "Peer",
    "Route",
    "View",
    "attach",
    "change_address",
    "change_route",
    "check_ifname",
    "check_ours",
    "container_netlink",
    "detach",
    "host_links",
    "list_views",
    "namespace_path",
    "parse_destination",
    "parse_interface",
    "parse_ip_spec",
    "parse_mac",
    "port_owners",
    "read_view",
    "render_ls",
    "render_show",
    "resolve",
    "show",
    "stable_mac",
    "veth_names",
]

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: the alias ``attach`` gives the interface it makes inside a container; only those are
#: changed or detached without --force (eth0 is Docker's: deleting it cuts the container off)
ATTACH_MARK = "dockernet-attach"


# --- changes -----------------------------------------------------------------------------------


def _netlink_call(doing: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, a netlink request; its failure is one sentence saying what was being done."""
    from pyroute2 import NetlinkError  # start-up time: pyroute2 only when a link is changed

    try:
        return call(*args, **kwargs)
    except NetlinkError as exc:
        if exc.code in (errno.EPERM, errno.EACCES):
            raise NetlinkFailed(f"not allowed to {doing}", hint="run as root (CAP_NET_ADMIN)") from None
        raise NetlinkFailed(f"cannot {doing}: {errno.errorcode.get(exc.code, exc.code)} ({exc})") from None


def _link_index(ipr, ifname: str, where: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise UsageError(f"no interface {ifname} in {where}")
    return found[0]


def check_ours(ipr, index: int, info: ContainerInfo, doing: str, force: bool) -> None:
    """Refuse to change an interface ``attach`` did not make (by its alias), unless forced."""
    link = ipr.get_links(index)[0]
    if force or link.get("IFLA_IFALIAS") == ATTACH_MARK:
        return
    raise NotAttachedByDockernet(
        f"{link.get('IFLA_IFNAME')} in {info.name} was not attached by dockernet (Docker or another tool manages it); "
        f"not {doing}",
        hint="dockernet changes only interfaces it attached: add --force to do it anyway",
    )


def _route_oif(ipr, action: str, request: dict, destination) -> int | None:
    """The interface a route change concerns: the one given, the existing route's, or the gateway's."""
    if "oif" in request:
        return request["oif"]
    if action == "del":
        for route in ipr.get_routes(family=request["family"], table=254):
            if (route.get("RTA_DST"), route["dst_len"]) == _dst_key(destination):
                return route.get("RTA_OIF")
        return None
    if request.get("gateway"):
        from pyroute2 import NetlinkError  # start-up time: pyroute2 is loaded by the first socket, not on import

        try:
            found = ipr.route("get", dst=request["gateway"])
        except NetlinkError:  # an unreachable gateway: the route add itself says so, as one line
            return None
        return found[0].get("RTA_OIF") if found else None
    return None


def _default_dev(ipr) -> str:
    """The interface Docker gave the container (the one with the default route, else the first veth)."""
    for route in ipr.get_routes(family=2, table=254):
        if route.get("RTA_DST") is None and route.get("RTA_OIF"):
            return ipr.get_links(route.get("RTA_OIF"))[0].get("IFLA_IFNAME")
    return "eth0"


def change_address(
    engine: Engine, ref: str, action: str, interface: IPInterface, dev: str | None, force: bool = False
) -> str:
    """Add or delete one address; saying so, not failing, when there is nothing to do."""
    from pyroute2 import NetlinkError  # start-up time: pyroute2 is loaded by the first socket, not on import

    with container_netlink(engine, ref) as (info, ipr):
        dev = dev or _default_dev(ipr)
        index = _link_index(ipr, dev, f"container {info.name}")
        check_ours(ipr, index, info, "changing its addresses", force)
        present = any(
            f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}" == f"{interface.ip}/{interface.network.prefixlen}"
            for a in ipr.get_addr(index=index)
        )
        if action == "add" and present:
            return f"{interface} is already on {dev} in {info.name}: nothing to do"
        if action == "del" and not present:
            return f"{interface} is not on {dev} in {info.name}: nothing to do"
        try:
            ipr.addr(action, index=index, address=str(interface.ip), prefixlen=interface.network.prefixlen)
        except NetlinkError as exc:
            raise NetlinkFailed(
                f"cannot {action} {interface} on {dev} in {info.name}: {errno.errorcode.get(exc.code, exc.code)}"
            ) from None
        if action == "add":
            return f"added {interface} on {dev} in {info.name}"
        return f"deleted {interface} from {dev} in {info.name}"


def change_route(
    engine: Engine,
    ref: str,
    action: str,
    destination: IPNetwork | None,
    gateway: str | None,
    dev: str | None,
    force: bool = False,
) -> str:
    """Add or delete one route (``destination`` None: the default route); saying so when there is nothing to do."""
    from pyroute2 import NetlinkError  # start-up time: pyroute2 is loaded by the first socket, not on import

    request = _route_request(destination, gateway)
    dst_text = str(destination) if destination is not None else "default"
    with container_netlink(engine, ref) as (info, ipr):
        if dev:
            request["oif"] = _link_index(ipr, dev, f"container {info.name}")
        if not gateway and not dev and action == "add":
            raise UsageError("a route needs 'via GATEWAY' or --dev")
        oif = _route_oif(ipr, action, request, destination)
        if oif is not None:
            check_ours(ipr, oif, info, f"changing route {dst_text}", force)
        try:
            ipr.route(action, **request)
        except NetlinkError as exc:
            if action == "add" and exc.code == errno.EEXIST:
                return _route_taken(ipr, info.name, request, destination, gateway, dst_text)
            if action == "del" and exc.code == errno.ESRCH:
                return f"route {dst_text} is not in {info.name}: nothing to do"
            raise NetlinkFailed(
                f"cannot {action} route {dst_text} in {info.name}: {errno.errorcode.get(exc.code, exc.code)}"
            ) from None
        via = f" via {gateway}" if gateway else ""
        return f"{'added' if action == 'add' else 'deleted'} route {dst_text}{via} in {info.name}"


def _route_request(destination: IPNetwork | None, gateway: str | None) -> dict:
    """The route as netlink takes it; the default route is 0.0.0.0/0 or ::/0, in the gateway's family (else IPv4)."""
    if destination is not None:
        version = destination.version
    else:
        version = ipaddress.ip_address(gateway).version if gateway else 4
    family = 10 if version == 6 else 2
    dst = str(destination) if destination is not None else ("::/0" if family == 10 else "0.0.0.0/0")
    return {"family": family, "dst": dst, **({"gateway": gateway} if gateway else {})}


def _route_taken(ipr, name: str, request: dict, destination, gateway: str | None, dst_text: str) -> str:
    """An add whose destination has a route already: nothing to do when it is this one, else say which is there."""
    key = _dst_key(destination)
    held = [r for r in ipr.get_routes(family=request["family"], table=254) if (r.get("RTA_DST"), r["dst_len"]) == key]
    if any(
        r.get("RTA_GATEWAY") == gateway and ("oif" not in request or r.get("RTA_OIF") == request["oif"]) for r in held
    ):
        return f"route {dst_text} is already in {name}: nothing to do"
    other = held[0].get("RTA_GATEWAY") if held else None
    raise UsageError(
        f"{name} already has a route to {dst_text}" + (f" via {other}" if other else ""),
        hint=f"delete it first: dockernet netns route del {name} {dst_text}",
    ) from None


def _dst_key(destination) -> tuple[str | None, int]:
    """A destination as netlink reports it: (RTA_DST, dst_len); the default route has no RTA_DST."""
    if destination is None:
        return (None, 0)
    return (str(destination.network_address), destination.prefixlen)


@dataclass(frozen=True)
class AttachSpec:
    bridge: str
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    gateway: str | None = None
    ifname: str = "eth1"
    mac: str | None = None
    mtu: int | None = None
    create_bridge: bool = False


def veth_names(container_id: str, ifname: str) -> tuple[str, str]:
    """Host-side and temporary peer names, stable per container and interface (15 characters at most)."""
    tag = hashlib.sha1(f"{container_id}:{ifname}".encode()).hexdigest()[:8]
    return f"vdn{tag}", f"vdp{tag}"


def _existing_matches(ipr, index: int, spec: AttachSpec, hosts) -> list[str]:
    """How an existing interface differs from the attach spec (empty: it already is what was asked)."""
    link = ipr.get_links(index)[0]
    linkinfo = link.get("IFLA_LINKINFO")
    differences = []
    if not linkinfo or linkinfo.get("IFLA_INFO_KIND") != "veth":
        return ["it is not a veth"]
    peer = hosts.get(link.get("IFLA_LINK"))
    if peer is None or peer[1] != spec.bridge:
        differences.append(f"its host side is not on bridge {spec.bridge}")
    addresses = {f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr(index=index)}
    if f"{spec.interface.ip}/{spec.interface.network.prefixlen}" not in addresses:
        differences.append(f"it has not {spec.interface}")
    if spec.mac and (link.get("IFLA_ADDRESS") or "").lower() != spec.mac:
        differences.append(f"its MAC is {link.get('IFLA_ADDRESS')}")
    if spec.mtu and link.get("IFLA_MTU") != spec.mtu:
        differences.append(f"its MTU is {link.get('IFLA_MTU')}")
    return differences


def attach(engine: Engine, ref: str, spec: AttachSpec, host_netns: str | None = None) -> str:
    """pipework's main job: a veth pair, host end on the bridge, other end in the container, configured.

    Running it again with the same arguments changes nothing. Any failure
    part-way removes the pair (deleting one end deletes both), so nothing is
    left half-made.
    """
    with netlink(host_netns) as host, container_netlink(engine, ref) as (info, inside):
        hosts = host_links(host)
        existing = inside.link_lookup(ifname=spec.ifname)
        if existing:
            differences = _existing_matches(inside, existing[0], spec, hosts)
            if not differences:
                return f"{spec.ifname} in {info.name} is already on {spec.bridge} with {spec.interface}: nothing to do"
            raise UsageError(
                f"{spec.ifname} already exists in {info.name} and " + "; ".join(differences),
                hint=f"detach it first: dockernet netns detach {info.name} --ifname {spec.ifname}",
            )
        bridge, made_bridge = _bridge_index(host, spec)
        host_name, peer_name = veth_names(info.id, spec.ifname)
        for stale in host.link_lookup(ifname=host_name):  # left by an earlier run that was killed
            host.link("del", index=stale)
        _netlink_call(
            f"create veth {host_name}",
            host.link,
            "add",
            ifname=host_name,
            kind="veth",
            peer={"ifname": peer_name, "net_ns_pid": info.pid},
        )
        try:
            _plug_in(host, inside, info, spec, host_name, peer_name, bridge)
        except BaseException:
            for leftover in host.link_lookup(ifname=host_name):
                host.link("del", index=leftover)
            if made_bridge:
                host.link("del", index=bridge)
            raise
    via = f", default route via {spec.gateway}" if spec.gateway else ""
    return f"attached {info.name} {spec.ifname} {spec.interface} to {spec.bridge} (host side {host_name}){via}"


def _bridge_index(host: Any, spec: AttachSpec) -> tuple[int, bool]:
    """The host bridge's index, and whether ``attach`` just made it (``--create-bridge``)."""
    bridges = host.link_lookup(ifname=spec.bridge)
    if bridges:
        return bridges[0], False
    if not spec.create_bridge:
        raise UsageError(f"bridge {spec.bridge} does not exist", hint="add --create-bridge to make it")
    _netlink_call(
        f"create bridge {spec.bridge}",
        host.link,
        "add",
        ifname=spec.bridge,
        kind="bridge",
        br_forward_delay=0,
        br_stp_state=0,
    )
    bridges = host.link_lookup(ifname=spec.bridge)
    _netlink_call(f"bring {spec.bridge} up", host.link, "set", index=bridges[0], state="up")
    return bridges[0], True


def _plug_in(
    host: Any, inside: Any, info: ContainerInfo, spec: AttachSpec, host_name: str, peer_name: str, bridge: int
) -> None:
    """The new pair's host end onto the bridge, its other end renamed, marked and configured in the container."""
    outer = host.link_lookup(ifname=host_name)[0]
    settings = {"mtu": spec.mtu} if spec.mtu else {}
    _netlink_call(f"enslave {host_name} to {spec.bridge}", host.link, "set", index=outer, master=bridge, **settings)
    _netlink_call(f"bring {host_name} up", host.link, "set", index=outer, state="up")
    inner = _link_index(inside, peer_name, f"container {info.name}")
    rename: dict[str, Any] = {"ifname": spec.ifname, "ifalias": ATTACH_MARK}
    if spec.mac:
        rename["address"] = spec.mac
    if spec.mtu:
        rename["mtu"] = spec.mtu
    _netlink_call(f"configure {spec.ifname}", inside.link, "set", index=inner, **rename)
    _netlink_call(
        f"add {spec.interface}",
        inside.addr,
        "add",
        index=inner,
        address=str(spec.interface.ip),
        prefixlen=spec.interface.network.prefixlen,
    )
    _netlink_call(f"bring {spec.ifname} up", inside.link, "set", index=inner, state="up")
    if spec.gateway:
        default = "::/0" if spec.interface.version == 6 else "0.0.0.0/0"
        _netlink_call(
            f"route default via {spec.gateway}",
            inside.route,
            "replace",
            dst=default,
            gateway=spec.gateway,
            oif=inner,
            family=10 if spec.interface.version == 6 else 2,
        )


def detach(engine: Engine, ref: str, ifname: str, force: bool = False) -> str:
    """The undo of attach: delete the pair (from the container's side; the host end goes with it)."""
    with container_netlink(engine, ref) as (info, inside):
        found = inside.link_lookup(ifname=ifname)
        if not found:
            return f"no {ifname} in {info.name}: nothing to do"
        check_ours(inside, found[0], info, "deleting it", force)
        link = inside.get_links(found[0])[0]
        linkinfo = link.get("IFLA_LINKINFO")
        if not linkinfo or linkinfo.get("IFLA_INFO_KIND") != "veth":
            raise UsageError(f"{ifname} in {info.name} is not a veth; dockernet only detaches veth pairs")
        _netlink_call(f"delete {ifname}", inside.link, "del", index=found[0])
    return f"detached {ifname} from {info.name}"

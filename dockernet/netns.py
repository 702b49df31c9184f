"""Containers' network namespaces, seen and configured from the host (pipework's job, over netlink).

A container's namespace is opened by path (``/proc/<pid>/ns/net``) with a
netlink socket created inside it; this process never moves, and a missing
namespace is never created (``flags=0``). Between looking the pid up and
opening its namespace the pid could be reused by another process, so after
opening, the container is asked again for its pid and the process's start
time is compared (``container_netlink``).

The "host side" is the namespace that holds Docker's bridges and the outer
ends of the veth pairs: this process's own, or ``host_netns``.

Layout: reading (``read_view``), pure parsing and rendering (``parse_*``,
``render_*``), and the changes (``change_address``, ``change_route``,
``attach``, ``detach``), each of which leaves nothing half-done.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Iterator

from dockernet.bridge import netlink
from dockernet.engine import ContainerInfo, Engine, EngineAddress
from dockernet.engine.dockerapi import DockerEngine
from dockernet.errors import (
    ContainerNotFound, ContainerNotRunning, DockernetError, DockerUnreachable, NetlinkFailed, NotAttachedByDockernet,
    UsageError,
)
from dockernet.logformat import printable

# matched with ``fullmatch``: ``$`` would also accept a trailing newline
_IFNAME = re.compile(r"[^\s/:]{1,15}")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
#: what Docker allows in a container name (an id is hex, so it fits too)
_CONTAINER_REF = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


#: the alias ``attach`` gives the interface it makes inside a container; only those are
#: changed or detached without --force (eth0 is Docker's: deleting it cuts the container off)
ATTACH_MARK = "dockernet-attach"


# --- finding the namespace ----------------------------------------------------------


def namespace_path(info: ContainerInfo) -> str:
    return f"/proc/{info.pid}/ns/net"


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def resolve(engine: Engine, ref: str) -> ContainerInfo:
    """The running container named by name, id or unique id prefix."""
    if not _CONTAINER_REF.fullmatch(ref):
        raise UsageError(f"'{printable(ref)}' is not a container name or id",
                         hint="give a name, an id or a unique id prefix (docker ps)")
    info = engine.find(ref)
    if info is None:
        raise ContainerNotFound(f"no container '{ref}'", hint="give a name, an id or a unique id prefix (docker ps)")
    if not info.running or not info.pid:
        raise ContainerNotRunning(f"container {info.name} ({info.short_id}) is not running")
    return info


@contextmanager
def container_netlink(engine: Engine, ref: str) -> Iterator[tuple[ContainerInfo, object]]:
    """A netlink socket inside the container's namespace, opened without moving this process."""
    info = resolve(engine, ref)
    started = _start_time(info.pid)
    try:
        with netlink(namespace_path(info)) as ipr:
            again = engine.inspect(info.id)
            if started is None or again is None or again.pid != info.pid or _start_time(info.pid) != started:
                raise ContainerNotRunning(f"container {info.name} ({info.short_id}) stopped while dockernet opened it")
            yield info, ipr
    except DockernetError as exc:
        if isinstance(exc, (ContainerNotRunning, UsageError)) or engine.inspect_running(info.id):
            raise
        raise ContainerNotRunning(f"container {info.name} ({info.short_id}) stopped during the command") from None


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """The host-side end of a container's veth."""

    ifname: str
    index: int
    bridge: str | None


@dataclass(frozen=True)
class Interface:
    ifname: str
    index: int
    kind: str
    mac: str
    mtu: int
    state: str
    addresses: tuple[str, ...]
    peer: Peer | None = None


@dataclass(frozen=True)
class Route:
    dst: str  # "default" or a CIDR
    gateway: str | None
    dev: str | None
    family: int


@dataclass(frozen=True)
class View:
    """One container's network, as ``show`` and ``ls`` print it."""

    name: str
    id: str
    pid: int
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)


def host_links(ipr) -> dict[int, tuple[str, str | None]]:
    """Host-side index -> (ifname, bridge it is enslaved to)."""
    links = {link["index"]: link for link in ipr.get_links()}
    names = {index: link.get("IFLA_IFNAME") for index, link in links.items()}
    return {index: (names[index], names.get(link.get("IFLA_MASTER"))) for index, link in links.items()}


def read_view(info: ContainerInfo, ipr, hosts: dict[int, tuple[str, str | None]]) -> View:
    """Interfaces, addresses, routes and veth peers inside one container's namespace."""
    links = ipr.get_links()
    names = {link["index"]: link.get("IFLA_IFNAME") for link in links}
    addresses: dict[int, list[str]] = {}
    for address in ipr.get_addr():
        addresses.setdefault(address["index"], []).append(f"{address.get('IFA_ADDRESS')}/{address['prefixlen']}")
    interfaces = []
    for link in links:
        linkinfo = link.get("IFLA_LINKINFO")
        kind = (linkinfo.get("IFLA_INFO_KIND") if linkinfo else None) or ("loopback" if link["index"] == 1 else "")
        peer = None
        peer_index = link.get("IFLA_LINK")
        if kind == "veth" and peer_index in hosts:
            peer = Peer(hosts[peer_index][0], peer_index, hosts[peer_index][1])
        interfaces.append(Interface(
            ifname=link.get("IFLA_IFNAME"), index=link["index"], kind=kind, mac=link.get("IFLA_ADDRESS") or "",
            mtu=link.get("IFLA_MTU"), state=(link.get("IFLA_OPERSTATE") or "").lower(),
            addresses=tuple(addresses.get(link["index"], ())), peer=peer,
        ))
    routes = []
    for family in (2, 10):
        for route in ipr.get_routes(family=family, table=254):
            dst = route.get("RTA_DST")
            if family == 10 and dst and dst.startswith("fe80"):
                continue
            routes.append(Route(dst=f"{dst}/{route['dst_len']}" if dst else "default", gateway=route.get("RTA_GATEWAY"),
                                dev=names.get(route.get("RTA_OIF")), family=family))
    return View(info.name, info.short_id, info.pid, tuple(interfaces), tuple(routes))


def show(engine: Engine, ref: str, host_netns: str | None = None) -> View:
    with netlink(host_netns) as host:
        hosts = host_links(host)
    with container_netlink(engine, ref) as (info, ipr):
        return read_view(info, ipr, hosts)


def list_views(engine: Engine, host_netns: str | None = None,
               running: list[ContainerInfo] | None = None) -> list[View]:
    """Every running container's view (of ``running``, when the caller listed them already); one that stops
    meanwhile is left out."""
    with netlink(host_netns) as host:
        hosts = host_links(host)
    views = []
    for info in engine.running() if running is None else running:
        try:
            with container_netlink(engine, info.id) as (current, ipr):
                views.append(read_view(current, ipr, hosts))
        except (ContainerNotRunning, ContainerNotFound):
            continue
    return sorted(views, key=lambda view: view.name)


def port_owners(docker_host: EngineAddress | str | None, netns: str | None = None) -> dict[str, dict]:
    """Host-side veth name -> the container at its other end (for ``bridge show``)."""
    engine = DockerEngine(docker_host, timeout=5)
    try:
        views = list_views(engine, netns)
    except DockerUnreachable:
        return {}
    finally:
        engine.close()
    owners = {}
    for view in views:
        for interface in view.interfaces:
            if interface.peer:
                owners[interface.peer.ifname] = {"container": view.name, "id": view.id,
                                                 "container_ifname": interface.ifname}
    return owners


# --- rendering (pure) -------------------------------------------------------------------


def render_show(view: View) -> str:
    lines = [f"{view.name} ({view.id}) pid {view.pid}"]
    for interface in view.interfaces:
        lines.append(f"  {interface.index}: {interface.ifname} {interface.kind or 'device'} {interface.state} "
                     f"mtu {interface.mtu} mac {interface.mac}")
        for address in interface.addresses:
            lines.append(f"      {'inet6' if ':' in address else 'inet'} {address}")
        if interface.peer:
            bridge = f" on bridge {interface.peer.bridge}" if interface.peer.bridge else ""
            lines.append(f"      host side: {interface.peer.ifname} (index {interface.peer.index}){bridge}")
    for route in view.routes:
        via = f" via {route.gateway}" if route.gateway else ""
        dev = f" dev {route.dev}" if route.dev else ""
        lines.append(f"  route {route.dst}{via}{dev}")
    return "\n".join(lines) + "\n"


def render_ls(views: list[View]) -> str:
    rows = [("NAME", "ID", "PID", "INTERFACES", "HOST VETH")]
    for view in views:
        ifaces = [f"{i.ifname}={','.join(i.addresses) or '-'}" for i in view.interfaces if i.kind != "loopback"]
        peers = [f"{i.peer.ifname}({i.peer.bridge or '-'})" for i in view.interfaces if i.peer]
        rows.append((view.name, view.id, str(view.pid), " ".join(ifaces) or "-", " ".join(peers) or "-"))
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    return "".join(
        "  ".join(cell.ljust(widths[col]) for col, cell in enumerate(row[:4])) + "  " + row[4] + "\n" for row in rows
    )


# --- parsing (pure) -----------------------------------------------------------------------


def parse_interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """``10.2.0.5/24`` or ``fd00::5/64``; the prefix is required."""
    if "/" not in text:
        raise UsageError(f"'{text}' has no prefix length", hint=f"maybe you meant {text}/24 ?")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise UsageError(f"'{text}' is not an address with a prefix (e.g. 10.2.0.5/24)") from None


def parse_ip_spec(text: str) -> tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, str | None]:
    """pipework's ``ADDRESS/PREFIX[@GATEWAY]``: the address and the gateway (or None)."""
    address_text, _, gateway_text = text.partition("@")
    interface = parse_interface(address_text)
    if not gateway_text:
        return interface, None
    try:
        gateway = ipaddress.ip_address(gateway_text)
    except ValueError:
        raise UsageError(f"gateway '{gateway_text}' is not an IP address") from None
    if gateway.version != interface.version:
        raise UsageError(f"gateway {gateway} and address {interface} are of different IP versions")
    if gateway not in interface.network:
        raise UsageError(f"gateway {gateway} is outside {interface.network}")
    if gateway == interface.ip:
        raise UsageError(f"gateway {gateway} is the address itself")
    return interface, str(gateway)


def stable_mac(seed: str) -> str:
    """A locally administered unicast MAC derived from ``seed`` (same seed, same MAC, so DHCP leases survive)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return ":".join(f"{b:02x}" for b in bytes([0x02]) + digest[:5])


def parse_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` or ``U:seed``."""
    if text.startswith("U:"):
        if len(text) == 2:
            raise UsageError("U: needs a seed (e.g. U:web1)")
        return stable_mac(text[2:])
    mac = text.lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise UsageError(f"'{text}' is not a MAC address (aa:bb:cc:dd:ee:ff) nor U:seed")
    if int(mac[:2], 16) & 1:
        raise UsageError(f"{mac} is a multicast MAC address", hint="the first octet must be even")
    return mac


def check_ifname(name: str) -> str:
    if not _IFNAME.fullmatch(name):
        raise UsageError(f"'{printable(name)}' is not a valid interface name (1-15 characters, no spaces, '/' or ':')")
    return name


def parse_destination(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A route destination: a CIDR, or ``default`` (None)."""
    if text == "default":
        return None
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise UsageError(f"'{text}' is not a route destination (a network like 10.3.0.0/16, or default)") from None


# --- changes -----------------------------------------------------------------------------------


def _netlink_call(doing: str, call, *args, **kwargs):
    from pyroute2 import NetlinkError

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
        f"not {doing}", hint="dockernet changes only interfaces it attached: add --force to do it anyway")


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
        from pyroute2 import NetlinkError

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


def change_address(engine: Engine, ref: str, action: str, interface, dev: str | None, force: bool = False) -> str:
    """Add or delete one address; saying so, not failing, when there is nothing to do."""
    from pyroute2 import NetlinkError

    with container_netlink(engine, ref) as (info, ipr):
        dev = dev or _default_dev(ipr)
        index = _link_index(ipr, dev, f"container {info.name}")
        check_ours(ipr, index, info, "changing its addresses", force)
        present = any(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}" == f"{interface.ip}/{interface.network.prefixlen}"
                      for a in ipr.get_addr(index=index))
        if action == "add" and present:
            return f"{interface} is already on {dev} in {info.name}: nothing to do"
        if action == "del" and not present:
            return f"{interface} is not on {dev} in {info.name}: nothing to do"
        try:
            ipr.addr(action, index=index, address=str(interface.ip), prefixlen=interface.network.prefixlen)
        except NetlinkError as exc:
            raise NetlinkFailed(f"cannot {action} {interface} on {dev} in {info.name}: "
                                f"{errno.errorcode.get(exc.code, exc.code)}") from None
        return f"{'added' if action == 'add' else 'deleted'} {interface} {'on' if action == 'add' else 'from'} {dev} in {info.name}"


def change_route(engine: Engine, ref: str, action: str, destination, gateway: str | None, dev: str | None,
                 force: bool = False) -> str:
    from pyroute2 import NetlinkError

    family_of = destination.version if destination is not None else (ipaddress.ip_address(gateway).version if gateway else 4)
    family = 10 if family_of == 6 else 2
    dst_text = str(destination) if destination is not None else "default"
    with container_netlink(engine, ref) as (info, ipr):
        request: dict = {"family": family, "dst": str(destination) if destination is not None else
                         ("::/0" if family == 10 else "0.0.0.0/0")}
        if gateway:
            request["gateway"] = gateway
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
                held = [r for r in ipr.get_routes(family=family, table=254)
                        if (r.get("RTA_DST"), r["dst_len"]) == _dst_key(destination)]
                if any(r.get("RTA_GATEWAY") == gateway and (not dev or r.get("RTA_OIF") == request.get("oif"))
                       for r in held):
                    return f"route {dst_text} is already in {info.name}: nothing to do"
                other = held[0].get("RTA_GATEWAY") if held else None
                raise UsageError(f"{info.name} already has a route to {dst_text}" + (f" via {other}" if other else ""),
                                 hint=f"delete it first: dockernet netns route del {info.name} {dst_text}") from None
            if action == "del" and exc.code == errno.ESRCH:
                return f"route {dst_text} is not in {info.name}: nothing to do"
            raise NetlinkFailed(f"cannot {action} route {dst_text} in {info.name}: "
                                f"{errno.errorcode.get(exc.code, exc.code)}") from None
        via = f" via {gateway}" if gateway else ""
        return f"{'added' if action == 'add' else 'deleted'} route {dst_text}{via} in {info.name}"


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
            raise UsageError(f"{spec.ifname} already exists in {info.name} and " + "; ".join(differences),
                             hint=f"detach it first: dockernet netns detach {info.name} --ifname {spec.ifname}")
        bridges = host.link_lookup(ifname=spec.bridge)
        made_bridge = False
        if not bridges:
            if not spec.create_bridge:
                raise UsageError(f"bridge {spec.bridge} does not exist", hint="add --create-bridge to make it")
            _netlink_call(f"create bridge {spec.bridge}", host.link, "add", ifname=spec.bridge, kind="bridge",
                          br_forward_delay=0, br_stp_state=0)
            bridges = host.link_lookup(ifname=spec.bridge)
            _netlink_call(f"bring {spec.bridge} up", host.link, "set", index=bridges[0], state="up")
            made_bridge = True
        host_name, peer_name = veth_names(info.id, spec.ifname)
        for stale in host.link_lookup(ifname=host_name):  # left by an earlier run that was killed
            host.link("del", index=stale)
        _netlink_call(f"create veth {host_name}", host.link, "add", ifname=host_name, kind="veth",
                      peer={"ifname": peer_name, "net_ns_pid": info.pid})
        try:
            outer = host.link_lookup(ifname=host_name)[0]
            settings = {"mtu": spec.mtu} if spec.mtu else {}
            _netlink_call(f"enslave {host_name} to {spec.bridge}", host.link, "set", index=outer, master=bridges[0],
                          **settings)
            _netlink_call(f"bring {host_name} up", host.link, "set", index=outer, state="up")
            inner = _link_index(inside, peer_name, f"container {info.name}")
            rename = {"ifname": spec.ifname, "ifalias": ATTACH_MARK}
            if spec.mac:
                rename["address"] = spec.mac
            if spec.mtu:
                rename["mtu"] = spec.mtu
            _netlink_call(f"configure {spec.ifname}", inside.link, "set", index=inner, **rename)
            _netlink_call(f"add {spec.interface}", inside.addr, "add", index=inner, address=str(spec.interface.ip),
                          prefixlen=spec.interface.network.prefixlen)
            _netlink_call(f"bring {spec.ifname} up", inside.link, "set", index=inner, state="up")
            if spec.gateway:
                default = "::/0" if spec.interface.version == 6 else "0.0.0.0/0"
                _netlink_call(f"route default via {spec.gateway}", inside.route, "replace", dst=default,
                              gateway=spec.gateway, oif=inner, family=10 if spec.interface.version == 6 else 2)
        except BaseException:
            for leftover in host.link_lookup(ifname=host_name):
                host.link("del", index=leftover)
            if made_bridge:
                host.link("del", index=bridges[0])
            raise
    via = f", default route via {spec.gateway}" if spec.gateway else ""
    return f"attached {info.name} {spec.ifname} {spec.interface} to {spec.bridge} (host side {host_name}){via}"


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

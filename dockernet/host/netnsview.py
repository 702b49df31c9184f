"""Containers' networks as values (``View``), read through their namespaces, and drawn as text; reads only.

A ``View`` is one container's interfaces, addresses and routes, with the
host-side end of each veth (its ``Peer``: name and bridge) found in the
namespace that holds Docker's bridges, this process's own or ``host_netns``.
``render_show`` and ``render_ls`` are pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from dockernet.bridge import netlink
from dockernet.engine import ContainerInfo, Engine, EngineAddress
from dockernet.engine.dockerapi import DockerEngine
from dockernet.errors import ContainerNotFound, ContainerNotRunning, DockerUnreachable
from dockernet.host.containerns import container_netlink


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
        interfaces.append(
            Interface(
                ifname=link.get("IFLA_IFNAME"),
                index=link["index"],
                kind=kind,
                mac=link.get("IFLA_ADDRESS") or "",
                mtu=link.get("IFLA_MTU"),
                state=(link.get("IFLA_OPERSTATE") or "").lower(),
                addresses=tuple(addresses.get(link["index"], ())),
                peer=peer,
            )
        )
    routes = []
    for family in (2, 10):
        for route in ipr.get_routes(family=family, table=254):
            dst = route.get("RTA_DST")
            if family == 10 and dst and dst.startswith("fe80"):
                continue
            routes.append(
                Route(
                    dst=f"{dst}/{route['dst_len']}" if dst else "default",
                    gateway=route.get("RTA_GATEWAY"),
                    dev=names.get(route.get("RTA_OIF")),
                    family=family,
                )
            )
    return View(info.name, info.short_id, info.pid, tuple(interfaces), tuple(routes))


def show(engine: Engine, ref: str, host_netns: str | None = None) -> View:
    with netlink(host_netns) as host:
        hosts = host_links(host)
    with container_netlink(engine, ref) as (info, ipr):
        return read_view(info, ipr, hosts)


def list_views(engine: Engine, host_netns: str | None = None, running: list[ContainerInfo] | None = None) -> list[View]:
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
                owners[interface.peer.ifname] = {
                    "container": view.name,
                    "id": view.id,
                    "container_ifname": interface.ifname,
                }
    return owners


# --- rendering (pure) -------------------------------------------------------------------


def render_show(view: View) -> str:
    lines = [f"{view.name} ({view.id}) pid {view.pid}"]
    for interface in view.interfaces:
        lines.append(
            f"  {interface.index}: {interface.ifname} {interface.kind or 'device'} {interface.state} "
            f"mtu {interface.mtu} mac {interface.mac}"
        )
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

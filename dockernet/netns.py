"""Containers' network namespaces, seen from the host.

A container's namespace is opened by path (``/proc/<pid>/ns/net``) with a
netlink socket created inside it; the process itself never moves, and a
missing namespace is never created (``flags=0``).
"""

from __future__ import annotations

from dockernet.bridge import netlink
from dockernet.engine import ContainerInfo, DockerEngine
from dockernet.errors import DockernetError, DockerUnreachable


def namespace_path(info: ContainerInfo) -> str:
    return f"/proc/{info.pid}/ns/net"


def veth_peer_indexes(info: ContainerInfo) -> dict[int, str]:
    """For each veth inside the container: the host-side peer's ifindex -> the container's ifname."""
    peers = {}
    with netlink(namespace_path(info)) as ipr:
        for link in ipr.get_links():
            info_attr = link.get("IFLA_LINKINFO")
            if info_attr and info_attr.get("IFLA_INFO_KIND") == "veth" and link.get("IFLA_LINK"):
                peers[link.get("IFLA_LINK")] = link.get("IFLA_IFNAME")
    return peers


def port_owners(docker_host: str | None, netns: str | None = None) -> dict[str, dict]:
    """Host-side veth name -> the container at its other end (name, short id, ifname inside)."""
    engine = DockerEngine(docker_host, timeout=5)
    try:
        containers = engine.running()
    except DockerUnreachable:
        return {}
    finally:
        engine.close()
    with netlink(netns) as ipr:
        host_names = {link["index"]: link.get("IFLA_IFNAME") for link in ipr.get_links()}
    owners = {}
    for info in containers:
        if not info.pid:
            continue
        try:
            peers = veth_peer_indexes(info)
        except DockernetError:
            continue  # it stopped meanwhile
        for index, inside in peers.items():
            if index in host_names:
                owners[host_names[index]] = {"container": info.name, "id": info.short_id, "container_ifname": inside}
    return owners

"""``dockernet topology``: the host as people think of it, from bridges down to DNS names.

bridge -> its ports (host-side veths) -> the container at the other end ->
its addresses -> the names it asks for, each with its state in the zone.
``build`` makes that a plain value from what was read (pure: the unit tests
feed it fixed input); ``render_tree``, ``to_dict`` and ``render_dot`` only
draw it; ``gather`` is the one place that reads netlink, Docker and the zone.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import asdict, dataclass, field

from dockernet.errors import DnsError, DnsTransient
from dockernet.logformat import printable
from dockernet.publish.plan import Foreign, Owned

#: name states, as the JSON and the DOT output spell them
PUBLISHED = "published"  # this owner's record, for this container
OTHER_CONTAINER = "held-for-other-container"  # this owner's record, for another container wanting the name
OTHER_OWNER = "held-by-other-owner"  # another host's watcher holds it
BY_HAND = "held-by-hand"  # records dockernet did not write
MISSING = "missing"  # nobody holds it: not published (yet)


@dataclass(frozen=True)
class NameNode:
    name: str
    state: str
    holder: str = ""  # the other owner id, or the other container's short id


@dataclass(frozen=True)
class ContainerNode:
    name: str
    id: str  # short id
    addresses: tuple[str, ...]
    names: tuple[NameNode, ...] = ()


@dataclass(frozen=True)
class PortNode:
    ifname: str
    container: ContainerNode | None = None  # None: no container at its other end


@dataclass(frozen=True)
class BridgeNode:
    name: str
    addresses: tuple[str, ...]
    ports: tuple[PortNode, ...] = ()


@dataclass(frozen=True)
class Topology:
    bridges: tuple[BridgeNode, ...]
    #: containers with no veth on any bridge (host network, macvlan, none)
    elsewhere: tuple[ContainerNode, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)


def name_state(fqdn, short_id: str, current) -> NameNode:
    """One name a container asks for, with what the zone holds there (``short_id``: its holder, or its service)."""
    text = fqdn.to_text()
    if isinstance(current, Owned):
        if current.short_id == short_id:
            return NameNode(text, PUBLISHED)
        return NameNode(text, OTHER_CONTAINER, current.short_id)
    if isinstance(current, Foreign):
        return NameNode(text, OTHER_OWNER, current.holder) if current.holder else NameNode(text, BY_HAND)
    return NameNode(text, MISSING)


def build(bridges: dict[str, tuple[str, ...]], ports: dict[str, str], containers: list[dict]) -> Topology:
    """The topology from what was read.

    ``bridges``: bridge -> its addresses; ``ports``: host-side port -> its
    bridge; ``containers``: dicts with ``name``, ``id``, ``addresses``,
    ``names`` (NameNodes) and ``ports`` (the host-side ends of its veths).
    """
    by_port = {}
    elsewhere = []
    for container in containers:
        # a container's name is the container's to choose: escaped once here, so no drawing shows control characters
        node = ContainerNode(
            printable(container["name"]), container["id"], tuple(container["addresses"]), tuple(container["names"])
        )
        attached = [port for port in container["ports"] if port in ports]
        for port in attached:
            by_port[port] = node
        if not attached:
            elsewhere.append(node)
    nodes = []
    for bridge in sorted(bridges):
        members = sorted(port for port, master in ports.items() if master == bridge)
        nodes.append(BridgeNode(bridge, bridges[bridge], tuple(PortNode(port, by_port.get(port)) for port in members)))
    return Topology(tuple(nodes), tuple(sorted(elsewhere, key=lambda node: node.name)))


# --- drawing ---------------------------------------------------------------------------

_MARKS = {
    PUBLISHED: ("✓", "32"),
    OTHER_CONTAINER: ("⇄", "33"),
    OTHER_OWNER: ("✗", "33"),
    BY_HAND: ("✗", "33"),
    MISSING: ("?", "31"),
}
_PLAIN = {PUBLISHED: "ok", OTHER_CONTAINER: "other", OTHER_OWNER: "held", BY_HAND: "held", MISSING: "missing"}


def describe(name: NameNode) -> str:
    if name.state == PUBLISHED:
        return "published"
    if name.state == OTHER_CONTAINER:
        return f"held for container {name.holder} (it keeps the name; this one waits)"
    if name.state == OTHER_OWNER:
        return f"held by owner {name.holder}: blocked until it is released"
    if name.state == BY_HAND:
        return "held by records dockernet did not write: never taken"
    return "missing: not in the zone"


def render_tree(topology: Topology, color: bool = False) -> str:
    """The tree for a terminal: symbols and colour on a TTY, plain words otherwise."""
    lines: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    def container_lines(node: ContainerNode, indent: str) -> None:
        lines.append(f"{indent}{paint(node.name, '1')} ({node.id})  {', '.join(node.addresses) or 'no address'}")
        if not node.names:
            lines.append(f"{indent}  (no name published)")
        for name in node.names:
            mark, code = _MARKS[name.state]
            tag = paint(mark, code) if color else f"[{_PLAIN[name.state]}]"
            lines.append(f"{indent}  {tag} {name.name}  {describe(name)}")

    for bridge in topology.bridges:
        lines.append(f"{paint(bridge.name, '1;34')}  {', '.join(bridge.addresses) or 'no address'}")
        if not bridge.ports:
            lines.append("  (no ports)")
        for port in bridge.ports:
            if port.container is None:
                lines.append(f"  {port.ifname} -> (no container)")
            else:
                lines.append(f"  {port.ifname} ->")
                container_lines(port.container, "    ")
    if topology.elsewhere:
        lines.append("not on a bridge")
        for node in topology.elsewhere:
            container_lines(node, "  ")
    return "\n".join(lines)


def _dot_id(text: str) -> str:
    """A quoted DOT string: backslashes and quotes escaped, line breaks as DOT's centred ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_DOT_COLOURS = {
    PUBLISHED: "darkgreen",
    OTHER_CONTAINER: "orange",
    OTHER_OWNER: "orange",
    BY_HAND: "orange",
    MISSING: "red",
}


def render_dot(topology: Topology) -> str:
    """Graphviz DOT: bridges, ports, containers and names as nodes (``| dot -Tsvg > host.svg``)."""
    out = ["digraph dockernet {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    drawn: set[str] = set()

    def container(node: ContainerNode, parent: str | None) -> None:
        """The container and its names once; an edge from every port it is behind."""
        cid = _dot_id(f"c:{node.id}")
        if parent:
            out.append(f"  {parent} -> {cid};")
        if node.id in drawn:
            return
        drawn.add(node.id)
        label = "\n".join([node.name, node.id, *node.addresses])
        out.append(f"  {cid} [shape=box, style=rounded, label={_dot_id(label)}];")
        for name in node.names:
            nid = _dot_id(f"n:{node.id}:{name.name}")
            label = name.name if name.state == PUBLISHED else f"{name.name}\n{name.state} {name.holder}".rstrip()
            out.append(f"  {nid} [shape=note, color={_DOT_COLOURS[name.state]}, label={_dot_id(label)}];")
            out.append(f"  {cid} -> {nid};")

    for bridge in topology.bridges:
        bid = _dot_id(f"b:{bridge.name}")
        label = "\n".join([bridge.name, *bridge.addresses])
        out.append(f"  {bid} [shape=box3d, label={_dot_id(label)}];")
        for port in bridge.ports:
            pid = _dot_id(f"p:{port.ifname}")
            out.append(f"  {pid} [shape=ellipse, label={_dot_id(port.ifname)}];")
            out.append(f"  {bid} -> {pid};")
            if port.container is not None:
                container(port.container, pid)
    for node in topology.elsewhere:
        container(node, None)
    out.append("}")
    return "\n".join(out) + "\n"


# --- reading the host -------------------------------------------------------------------


def _kind(link) -> str | None:
    info = link.get("IFLA_LINKINFO")
    return info.get("IFLA_INFO_KIND") if info else None


def gather(runtime, host_netns: str | None = None) -> Topology:
    """Read netlink (bridges, ports), Docker (containers) and the zone (one AXFR, or a look-up per name).

    Which container is behind which port is found without entering any
    container's namespace: a host-side veth names its peer's namespace by
    an id (``IFLA_LINK_NETNSID``), and one RTM_GETNSID per container (by its
    init pid) gives that id for each container; entering 500 namespaces
    took 21 s here. Where the kernel or pyroute2 cannot say, each namespace
    is entered after all (``netns.list_views``). The zone transfer runs
    meanwhile in a process of its own (``_transfer_aside``).
    """
    transferred = _transfer_aside(runtime.nameserver)
    running, bridges, ports, ports_of = _read_host(runtime.engine, host_netns)
    reconciler = runtime.reconciler
    reconciler.load(running, transferred=transferred)  # indexes every container's claims
    current = reconciler.current
    containers = []
    for info in running:
        claims = reconciler.claims_of_container(info.id)
        containers.append(
            {
                "name": info.name,
                "id": info.short_id,
                "addresses": list(info.addresses),
                "names": [
                    name_state(claim.fqdn, claim.group or info.short_id, current.get(claim.fqdn)) for claim in claims
                ],
                "ports": ports_of.get(info.short_id, []),
            }
        )
    return build(bridges, ports, containers)


def _transfer_aside(nameserver):
    """Start a transfer of every name in a forked child; returns the function that waits for its result.

    Decoding a transfer in dnspython is CPU work, and so is reading Docker
    and netlink: in one process they would take turns on one interpreter
    lock (a thread gained nothing here), in two they use two cores. The
    child is forked before anything here starts a thread; its result (or
    its DnsError) comes back pickled over a pipe.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send((nameserver.transfer(everything=True), None))
        except DnsError as exc:
            send.send((None, exc))

    process = context.Process(target=child, name="zone transfer", daemon=True)
    process.start()
    send.close()

    def wait():
        try:
            result, error = receive.recv()
        except EOFError:
            raise DnsTransient("the zone transfer ended without a result") from None
        finally:
            receive.close()
            process.join()
        if error is not None:
            raise error
        return result

    return wait


def _read_host(engine, host_netns: str | None):
    """The running containers, each bridge's addresses, which bridge each port is on, and each container's ports.

    The containers are inspected in a thread while netlink is read here: an
    inspect mostly waits for dockerd, which leaves the interpreter to pyroute2.
    """
    from concurrent.futures import ThreadPoolExecutor  # start-up time: only topology starts a thread pool

    from dockernet.bridge import netlink  # start-up time: the drawing (render_*) is used without netlink

    with ThreadPoolExecutor(1, thread_name_prefix="inspect") as pool, netlink(host_netns) as ipr:
        inspected = pool.submit(engine.running)
        links = ipr.get_links()
        names = {link["index"]: link.get("IFLA_IFNAME") for link in links}
        bridge_addresses: dict[str, list[str]] = {names[link["index"]]: [] for link in links if _kind(link) == "bridge"}
        ports = {
            names[link["index"]]: names.get(link.get("IFLA_MASTER"))
            for link in links
            if names.get(link.get("IFLA_MASTER")) in bridge_addresses
        }
        for address in ipr.get_addr():
            ifname = names.get(address["index"])
            if ifname in bridge_addresses and not str(address.get("IFA_ADDRESS")).startswith("fe80:"):  # link-local
                bridge_addresses[ifname].append(f"{address.get('IFA_ADDRESS')}/{address['prefixlen']}")
        running = inspected.result()
        ports_of = _ports_by_netnsid(ipr, links, names, running)
    if ports_of is None:
        ports_of = _ports_by_entering(engine, host_netns, running)
    bridges = {name: tuple(addresses) for name, addresses in bridge_addresses.items()}
    return running, bridges, ports, ports_of


def _ports_by_netnsid(ipr, links, names, running) -> dict[str, list[str]] | None:
    """Short container id -> the host-side veths whose peer is in its namespace; None when nsids cannot be read."""
    by_nsid: dict[int, list[str]] = {}
    for link in links:
        nsid = link.get("IFLA_LINK_NETNSID")
        if _kind(link) == "veth" and nsid is not None:
            by_nsid.setdefault(nsid, []).append(names[link["index"]])
    found = {}
    for info in running:
        if not info.pid:
            continue
        try:
            answer = ipr.get_netnsid(pid=info.pid)
        except Exception:  # an older pyroute2 without it, or a kernel that refuses: enter the namespaces instead
            return None
        nsid = (answer or {}).get("nsid")
        if nsid is not None and nsid >= 0:
            found[info.short_id] = sorted(by_nsid.get(nsid, []))
    return found


def _ports_by_entering(engine, host_netns, running) -> dict[str, list[str]]:
    from dockernet.netns import list_views  # start-up time: only when the kernel cannot name the nsids

    return {
        view.id: [i.peer.ifname for i in view.interfaces if i.peer is not None]
        for view in list_views(engine, host_netns, running)
    }

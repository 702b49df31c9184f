"""What dockernet knows of containers and engine events, as plain values (no I/O, no docker-py).

The engine's JSON (``GET /containers/{id}/json``, ``GET /events``) is turned
into these values here, so the rest of dockernet, and its tests, work with
frozen dataclasses whatever engine produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: container events that can change what a container publishes
CONTAINER_ACTIONS = ("start", "restart", "die", "stop", "destroy", "rename", "pause", "unpause")
#: network events: a container joined or left a network
NETWORK_ACTIONS = ("connect", "disconnect")


@dataclass(frozen=True)
class ContainerInfo:
    """What dockernet needs to know of one container."""

    id: str
    name: str
    hostname: str
    running: bool
    created: str
    addresses: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    pid: int = 0  # the container's init process on the host, 0 when not running
    #: (network name, address) for every IPv4 and global IPv6 address the container has
    networks: tuple[tuple[str, str], ...] = ()
    #: (container port, protocol, host port) for every port published on the host
    ports: tuple[tuple[int, str, int], ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def without_network(self, network: str) -> ContainerInfo:
        """This container once it left ``network`` (a ``disconnect`` event), without asking the engine."""
        networks = tuple(pair for pair in self.networks if pair[0] != network)
        return replace(self, networks=networks, addresses=tuple(sorted({address for _, address in networks})))


def container_from_inspect(data: dict) -> ContainerInfo:
    """Build a ``ContainerInfo`` from the engine's ``GET /containers/{id}/json``.

    Addresses come from every attached network: on user-defined networks
    the top-level ``NetworkSettings.IPAddress`` is empty.
    """
    settings = data.get("NetworkSettings") or {}
    networks: set[tuple[str, str]] = set()
    for network, attached in (settings.get("Networks") or {}).items():
        for key in ("IPAddress", "GlobalIPv6Address"):
            if (attached or {}).get(key):
                networks.add((network, attached[key]))
    for key in ("IPAddress", "GlobalIPv6Address"):  # engines that predate per-network settings
        if settings.get(key) and not any(address == settings[key] for _, address in networks):
            networks.add(("bridge", settings[key]))
    addresses = {address for _, address in networks}
    config = data.get("Config") or {}
    state = data.get("State") or {}
    return ContainerInfo(
        id=data["Id"],
        name=(data.get("Name") or "").lstrip("/"),
        hostname=config.get("Hostname") or "",
        running=bool(state.get("Running")) and not state.get("Restarting"),
        created=data.get("Created") or "",
        addresses=tuple(sorted(addresses)),
        labels=config.get("Labels") or {},
        pid=int(state.get("Pid") or 0),
        networks=tuple(sorted(networks)),
        ports=published_ports(settings.get("Ports")),
    )


def published_ports(ports: dict[str, list[dict] | None] | None) -> tuple[tuple[int, str, int], ...]:
    """``(container port, protocol, host port)`` from ``NetworkSettings.Ports``, once each.

    Docker lists a port once per host address it is bound to (0.0.0.0 and
    ::), and an exposed port that is not published with ``null``.
    """
    found: set[tuple[int, str, int]] = set()
    for key, bindings in (ports or {}).items():
        port, _, proto = str(key).partition("/")
        for binding in bindings or ():
            host_port = str((binding or {}).get("HostPort") or "")
            if port.isdigit() and host_port.isdigit() and proto in ("tcp", "udp", "sctp"):
                found.add((int(port), proto, int(host_port)))
    return tuple(sorted(found))


@dataclass(frozen=True)
class ContainerEvent:
    """One engine event that may change what a container publishes."""

    container_id: str
    action: str
    time_nano: int
    #: the network a ``connect`` or ``disconnect`` concerns
    network: str = ""


def parse_event(event: dict) -> ContainerEvent | None:
    """The container a Docker event concerns, or None for events dockernet ignores (Podman's: ``podman``).

    ``Type``, ``Action`` and ``Actor`` are what is read: Docker's API 1.52
    no longer sends the deprecated ``status``, ``id`` and ``from``, which
    older engines sent beside them (``status`` is kept only as a fallback).
    """
    kind = event.get("Type")
    action = (event.get("Action") or event.get("status") or "").split(":")[0]
    actor = event.get("Actor") or {}
    if kind == "container" and action in CONTAINER_ACTIONS and actor.get("ID"):
        return ContainerEvent(actor["ID"], action, event_time(event))
    if kind == "network" and action in NETWORK_ACTIONS:
        attributes = actor.get("Attributes") or {}
        if attributes.get("container"):
            return ContainerEvent(attributes["container"], action, event_time(event), str(attributes.get("name") or ""))
    return None


def event_time(event: dict) -> int:
    """When the event happened, in nanoseconds since the epoch (``timeNano``, else ``time``; 0: unknown)."""
    return int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)


def since_parameter(time_nano: int) -> str:
    """The engine's ``since`` form for a nanosecond timestamp: seconds.nanoseconds."""
    return f"{time_nano // 1_000_000_000}.{time_nano % 1_000_000_000:09d}"

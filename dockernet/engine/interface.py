"""What dockernet asks of a container engine: the declared seam (``Engine``).

``dockerapi.DockerEngine`` is the implementation for every engine that
speaks Docker's API: what Podman says differently is ``podman``, chosen
by asking the engine what it is (``kind``). Callers type
against ``Engine``, see only ``model`` values and raise only dockernet
errors (``DockerUnreachable`` when the engine does not answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from dockernet.engine.kind import EngineKind
from dockernet.engine.model import ContainerEvent, ContainerInfo


class EventStream(Protocol):
    """The engine's events as they happen. Iterating simply ends when the engine goes away: that is a disconnect."""

    def __iter__(self) -> Iterator[ContainerEvent]: ...

    def close(self) -> None: ...


class Engine(Protocol):
    """One container engine, reached over its API."""

    @property
    def where(self) -> str:
        """The engine's address, as messages show it."""
        ...

    def ping(self) -> None:
        """Return when the engine answers; ``DockerUnreachable`` when it does not."""

    def kind(self) -> EngineKind:
        """Which engine this is (Docker or Podman, its version and API version, rootless or not)."""
        ...

    def identity(self) -> tuple[str, str]:
        """(engine ID, engine host name): the ID is unique per engine installation (owner leases)."""
        ...

    def running(self) -> list[ContainerInfo]:
        """Every running container, inspected."""
        ...

    def running_names(self) -> list[str]:
        """Names of the running containers, for shell completion: cheap, nothing inspected."""
        ...

    def inspect(self, container_id: str) -> ContainerInfo | None:
        """The container now, or None when it no longer exists. Safe to call from several threads."""
        ...

    def inspect_running(self, container_id: str) -> bool:
        """Whether the container exists and runs."""
        ...

    def find(self, ref: str) -> ContainerInfo | None:
        """A container by name, id or unique id prefix; None when there is none (``ContainerAmbiguous``: several)."""
        ...

    def namespace_of(self, container_id: str) -> str | None:
        """The path of a running container's network namespace; None when it is gone."""
        ...

    def subnets(self) -> list[str]:
        """The subnets of every network the engine manages, IPv4 and IPv6 (``--reverse-zone auto``)."""
        ...

    def default_bridge(self) -> tuple[str, list[tuple[str, str]]]:
        """The default bridge network's link name and its (subnet, gateway) pairs; ("", []) when there is none."""
        ...

    def events(self, since: str | None = None) -> EventStream:
        """Subscribe to container and network events (``since``: ``model.since_parameter``) before returning."""
        ...

    def close(self) -> None:
        """Close this thread's connections (the engine reconnects on the next call)."""

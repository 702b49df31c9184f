"""Opening a running container's network namespace from the host, without moving and without a race.

The namespace is opened by path (``/proc/<pid>/ns/net``) with a netlink
socket created inside it; this process never moves, and a missing
namespace is never created. Between looking the pid up and opening its
namespace the pid could be reused by another process, so after opening,
the container is asked again for its pid and the process's start time is
compared (``container_netlink``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dockernet.bridge import netlink
from dockernet.engine import ContainerInfo, Engine
from dockernet.errors import ContainerNotFound, ContainerNotRunning, DockernetError, UsageError
from dockernet.logformat import printable

#: what Docker allows in a container name (an id is hex, so it fits too)
_CONTAINER_REF = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def namespace_path(info: ContainerInfo) -> str:
    """Where the kernel shows the container's network namespace (through its main process)."""
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
        raise UsageError(
            f"'{printable(ref)}' is not a container name or id",
            hint="give a name, an id or a unique id prefix (docker ps)",
        )
    info = engine.find(ref)
    if info is None:
        raise ContainerNotFound(f"no container '{ref}'", hint="give a name, an id or a unique id prefix (docker ps)")
    if not info.running or not info.pid:
        raise ContainerNotRunning(f"container {info.name} ({info.short_id}) is not running")
    return info


@contextmanager
def container_netlink(engine: Engine, ref: str) -> Iterator[tuple[ContainerInfo, Any]]:
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

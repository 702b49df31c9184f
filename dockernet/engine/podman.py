"""What Podman's Docker-compatible API says differently, turned into Docker's plain values.

Measured on Podman 4.3 (compat API 1.41):

* network events carry the container in ``Actor.ID`` and its *name* in
  ``Attributes.name``, and no network (Docker: ``Actor.ID`` is the network,
  ``Attributes.container`` the container, ``Attributes.name`` the network);
  Podman 5 adds the network as ``Attributes.network``. Without it, a
  ``disconnect`` removes nothing by itself: the inspect every disconnect
  asks for (``watch/eventorder``) brings the container's networks as they are;
* the event filter takes Podman's own status names: ``died`` (rewritten to
  ``die`` only after filtering), ``remove`` (Docker: ``destroy``); ``podman
  stop`` sends ``die`` and ``cleanup`` and only sometimes ``stop``;
* ``/info`` returns a new random ``ID`` on every call, so an engine's
  identity (the owner lease's) is derived from what stays: the machine's id
  (a local engine), the host name and the storage root (``DockerRootDir``),
  unique per host and per user.
"""

from __future__ import annotations

import hashlib
from typing import Any

import docker.errors

from dockernet.engine.model import ContainerEvent, event_time

#: the statuses asked for in the event filter, in Podman's words
FILTER_EVENTS: tuple[str, ...] = ("start", "restart", "died", "die", "stop", "remove", "rename", "pause")
FILTER_EVENTS += ("unpause", "connect", "disconnect")

#: Podman's container statuses, as dockernet's actions (``model.CONTAINER_ACTIONS``)
ACTIONS = {
    "start": "start",
    "restart": "restart",
    "died": "die",
    "die": "die",
    "stop": "stop",
    "remove": "destroy",
    "rename": "rename",
    "pause": "pause",
    "unpause": "unpause",
}


def parse_podman_event(event: dict) -> ContainerEvent | None:
    """The container a Podman event concerns, or None for events dockernet ignores."""
    kind = event.get("Type")
    action = str(event.get("Action") or event.get("status") or "").split(":")[0]
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    container = str(actor.get("ID") or event.get("id") or "")
    if not container:
        return None
    if kind == "container" and action in ACTIONS:
        return ContainerEvent(container, ACTIONS[action], event_time(event))
    if kind == "network" and action in ("connect", "disconnect"):
        return ContainerEvent(container, action, event_time(event), str(attributes.get("network") or ""))
    return None


def podman_identity(info: dict, machine_id: str = "") -> tuple[str, str]:
    """(engine id, host name) for the owner lease: stable across calls and restarts, unlike ``/info``'s ID.

    ``machine_id``: /etc/machine-id when the engine is on this machine (a unix socket), so that two
    cloned hosts of one name and one storage path are still two engines.
    """
    host = str(info.get("Name") or "")
    root = str(info.get("DockerRootDir") or "")
    digest = hashlib.sha256(f"{machine_id}\0{host}\0{root}".encode()).hexdigest()[:24]
    return f"podman-{digest}", host


def libpod_info(client: Any, version: dict) -> dict | None:
    """Podman's own ``/libpod/info`` (the one that says rootless), under Podman's API version: 4.3 has no other."""
    api = next(
        (
            str(part.get("Version"))
            for part in version.get("Components") or ()
            if part and "podman" in str(part.get("Name") or "").lower()
        ),
        "4.0.0",
    )
    url = client._url(f"/v{api}/libpod/info", versioned_api=False)
    try:
        return client._result(client._get(url), json=True)
    except docker.errors.APIError:  # an API that lacks it: rootless is then what /info says
        return None

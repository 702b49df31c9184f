"""The container engine seam: what dockernet asks of Docker (or another engine).

Everything above this package sees plain values (``ContainerInfo``, events)
and dockernet errors, never a docker-py object or exception:

* ``model``: containers and events as frozen values, parsed from the engine's JSON;
* ``address``: where the engine is (``EngineAddress``) and TLS to reach it;
* ``interface``: ``Engine``, the methods dockernet calls, as a ``typing.Protocol``;
* ``kind``: which engine answers (Docker or Podman, rootless or not), asked of the engine itself;
* ``dockerapi``: ``DockerEngine``, for every engine that speaks Docker's API (it and ``podman``, which only
  it imports, are the modules that import docker-py at load);
* ``podman``: what Podman's compatible API says differently (events, identity, rootless);
* ``keepalive``: the inspect hot path over one keep-alive connection per thread;
* ``inspectors``: a few threads inspecting containers in parallel for the watcher.

Importing this package does not import docker-py (start-up time): import
``dockernet.engine.dockerapi`` where an engine is connected to.
"""

from dockernet.engine.address import EngineAddress, EngineTls
from dockernet.engine.interface import Engine, EventStream
from dockernet.engine.model import ContainerEvent, ContainerInfo

__all__ = ["ContainerEvent", "ContainerInfo", "Engine", "EngineAddress", "EngineTls", "EventStream"]

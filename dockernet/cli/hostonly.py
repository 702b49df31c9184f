"""The commands that work only on the host, refused inside dockernet's container image.

The image says so itself (the Dockerfile sets ``DOCKERNET_IN_IMAGE=1``): markers
such as ``/.dockerenv`` prove nothing, as hosts that are privileged containers
themselves (CI runners) run these commands fine. The image runs unprivileged,
without the host's process ids, ``/etc/docker`` or the right to enter another
network namespace, so these commands would fail later and less clearly there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dockernet.errors import HostOnly

#: set to 1 by the Dockerfile; 0 (or unset) lifts the refusals, e.g. for a container given --pid host and the caps
IMAGE_MARKER = "DOCKERNET_IN_IMAGE"

#: what each host-only command needs that the image does not have
NEEDS = {
    "netns": "enters containers' network namespaces through the host's process ids",
    "bridge": "changes the host's bridge and Docker's files under /etc",
    "topology": "reads each container's network namespace through the host's process ids",
    "--send-from container": "sends each UPDATE from inside its container's network namespace",
}


def refuse_in_image(what: str, environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``HostOnly`` for ``what`` (a key of ``NEEDS``) when running in dockernet's image."""
    if environ.get(IMAGE_MARKER, "0") == "0":
        return
    command = what if what.startswith("--") else f"dockernet {what}"
    hint = (
        "use --send-from host (the default) in the image, or run the watcher on the host"
        if what.startswith("--")
        else f"run '{command}' on the host (README: Install)"
    )
    raise HostOnly(f"{command} {NEEDS[what]}, which dockernet's container image cannot", hint=hint)

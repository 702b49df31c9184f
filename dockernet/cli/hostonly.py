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

import click

from dockernet.errors import HostOnly

#: set to 1 by the Dockerfile; 0 (or unset) lifts the refusals, e.g. for a container given --pid host and the caps
IMAGE_MARKER = "DOCKERNET_IN_IMAGE"

#: why each host-only command needs the host (the message says "it ...")
NEEDS = {
    "netns": "enters containers' network namespaces through the host's process ids, which the image cannot see",
    "bridge": "changes the host's bridge and Docker's files under /etc",
    "topology": "reads each container's network namespace through the host's process ids, which the image cannot see",
    "dns init": "writes a key, a zone and a named.conf for a named on the host",
    "--send-from container": (
        "sends each UPDATE from inside its container's network namespace, which the image may not enter"
    ),
}


def refuse_in_image(what: str, environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``HostOnly`` for ``what`` (a key of ``NEEDS``) when running in dockernet's image."""
    if environ.get(IMAGE_MARKER, "") in ("", "0"):
        return
    command = what if what.startswith("--") else f"dockernet {what}"
    hint = (
        "use --send-from host (the default) in the image, or run the watcher on the host"
        if what.startswith("--")
        else f"run '{command}' on the host (README: Install)"
    )
    raise HostOnly(f"{command} works on the host, not in dockernet's container image: it {NEEDS[what]}", hint=hint)


class HostOnlyGroup(click.Group):
    """A command group that needs the host: refused in the image, though its commands' --help still shows.

    The refusal comes when the subcommand is resolved, where its arguments are still in view: a
    group callback would run first and refuse ``bridge setup --help`` too.
    """

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        if not ctx.resilient_parsing and not set(rest) & set(ctx.help_option_names):
            refuse_in_image(self.name or "")
        return name, command, rest

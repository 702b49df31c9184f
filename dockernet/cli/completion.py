"""Shell completion: click's own scripts, and running container names for ``netns`` arguments.

Completion runs inside the user's shell on every Tab, so it must never
print a traceback there and never offer something a shell would run:
names come from the engine (untrusted) and only names Docker itself
allows are offered.
"""

from __future__ import annotations

import re

import click
from click.shell_completion import CompletionItem, get_completion_class

from dockernet.errors import DockernetError

SHELLS = ("bash", "zsh", "fish")
#: the names Docker accepts for a container, as a whole
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def script(cli: click.Command, shell: str) -> str:
    """The completion script ``eval``/``source`` takes, for the ``dockernet`` program."""
    completion_class = get_completion_class(shell)
    if completion_class is None:  # the command's click.Choice lets only SHELLS through
        raise click.BadParameter(f"no completion for {shell}")
    return completion_class(cli, {}, "dockernet", "_DOCKERNET_COMPLETE").source()


def running_containers(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``shell_complete`` for a CONTAINER argument: the running containers' names that start with what was typed."""
    # start-up time: docker-py only when Tab asks for containers
    from dockernet.engine.address import EngineAddress
    from dockernet.engine.dockerapi import DockerEngine

    options = ctx.find_root().params  # the root's callback (which builds ctx.obj) does not run while completing
    try:
        engine = DockerEngine(EngineAddress.from_options(**options), timeout=5)
        try:
            names = engine.running_names()
        finally:
            engine.close()
    except (DockernetError, OSError):
        return []
    return [
        CompletionItem(name)
        for name in sorted(set(names))
        if name.startswith(incomplete) and _CONTAINER_NAME.fullmatch(name)
    ]

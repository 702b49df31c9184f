"""Carrying out a ``BridgePlan``, all or nothing; with ``--restart-docker``, around a stop and start of Docker.

``execute`` changes the link first, then writes the files, and on any
failure puts back what it had already changed. ``apply_restarting_docker``
stops Docker, executes, starts Docker and asks the engine whether it took
the new bridge; when it did not, the old link and files go back and Docker
is started again as it was. Nothing here decides what to change: that is
the plan's (``host.bridgesetup``).
"""

from __future__ import annotations

from collections.abc import Callable

from dockernet.bridge import BridgeSpec, LinkState, apply_steps, netlink, plan_restore
from dockernet.engine import Engine
from dockernet.errors import DockernetError, RolledBack
from dockernet.host.bridgesetup import BridgePlan
from dockernet.host.dockerctl import DockerService, bridge_disagreements, wait_for_engine
from dockernet.host.filechange import FileChange, write_change


def execute(plan: BridgePlan, ipr, before: LinkState | None, name: str) -> None:
    """Carry out a plan, all or nothing: the link first, then the files (each written atomically).

    A failure at any step puts back the link as ``before`` was and every
    file already written, then raises ``RolledBack`` saying what failed and
    that everything is as it was (or what could not be put back).
    """
    written: list[FileChange] = []
    link_changed = False
    try:
        for step in plan.steps:
            apply_steps(ipr, [step])
            link_changed = True
        for change in plan.files:
            if change.changed:
                write_change(change)
                written.append(change)
    except DockernetError as exc:
        leftovers = _put_back(ipr, before, name, written, link_changed)
        if leftovers:
            raise RolledBack(
                f"{exc}; putting back what was already changed failed too: {'; '.join(leftovers)}",
                hint="check the link and those files by hand",
            ) from None
        undone = ([f"the link {name}"] if link_changed else []) + [str(change.path) for change in written]
        raise RolledBack(
            f"{exc}; nothing is changed" + (f" ({', '.join(undone)} put back as they were)" if undone else "")
        ) from None


def _put_back(ipr, before: LinkState | None, name: str, written: list[FileChange], link_changed: bool) -> list[str]:
    """Undo a partial ``execute``: the files written, and the link when a step of ours changed it (a link
    someone else changed before our first step is theirs); returns what could not be undone."""
    failures = []
    for change in reversed(written):
        try:
            write_change(FileChange(change.path, change.after, change.before))
        except DockernetError as exc:
            failures.append(str(exc))
    if link_changed:
        try:
            apply_steps(ipr, plan_restore(before, name, bool(ipr.link_lookup(ifname=name))))
        except DockernetError as exc:
            failures.append(str(exc))
    return failures


def apply_restarting_docker(
    plan: BridgePlan,
    netns: str | None,
    before: LinkState | None,
    spec: BridgeSpec,
    service: DockerService,
    engine: Engine,
    say: Callable[[str], None],
) -> None:
    """Stop Docker, apply the plan, start Docker and ask it whether it uses the new bridge; if it does not come
    back so, put the old link and files back and start Docker again. ``say`` reports each step."""
    say(f"stopping Docker ({service.describe()})")
    service.stop()
    try:
        with netlink(netns) as ipr:
            execute(plan, ipr, before, spec.name)
    except RolledBack as exc:
        _start_again(service, engine, say, failure=str(exc))
        raise
    say("starting Docker")
    try:
        service.start()
        wait_for_engine(engine, service)
        problems = bridge_disagreements(engine, spec.name, spec.interface)
    except DockernetError as exc:
        problems = [str(exc)]
    if not problems:
        say(f"Docker runs again: its bridge network uses {spec.name}, {spec.network}, gateway {spec.interface.ip}")
        return
    failure = f"Docker did not come back with {spec.name} on {spec.network} ({'; '.join(problems)})"
    say(f"{failure}: putting back the old link and files")
    try:
        service.stop()
    except DockernetError:
        pass  # it may not have started at all
    with netlink(netns) as ipr:
        leftovers = _put_back(
            ipr, before, spec.name, [change for change in plan.files if change.changed], link_changed=bool(plan.steps)
        )
    if leftovers:
        raise RolledBack(
            f"{failure}; putting back the old link and files failed too: {'; '.join(leftovers)}",
            hint="Docker is stopped; fix the files by hand and start it",
        )
    _start_again(service, engine, say, failure)
    raise RolledBack(f"{failure}; the old link and files are back and Docker runs again with them")


def _start_again(service: DockerService, engine: Engine, say: Callable[[str], None], failure: str) -> None:
    """Start Docker with the old settings after ``failure``; when that fails too, say both."""
    say("starting Docker again as it was")
    try:
        service.start()
        wait_for_engine(engine, service)
    except DockernetError as exc:
        raise RolledBack(
            f"{failure}; starting Docker again as it was failed too: {exc}",
            hint="start Docker by hand and read its log",
        ) from None

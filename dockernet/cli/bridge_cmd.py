"""``dockernet bridge``: build the Docker bridge on a subnet of your network, and point Docker at it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dockernet.cli.hostonly import HostOnlyGroup
from dockernet.cli.params import IFNAME, MTU, RESOLVER, SEARCH_DOMAIN
from dockernet.errors import ConfigError, DockerRunning, DockerUnreachable, NotDockersBridge


def _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name):
    # start-up time: --help and completion load no command's modules
    from dockernet.host.bridgesetup import DEFAULT_UNIT_DIRS, FilePaths

    if no_interfaces_file:
        interfaces = None
    else:
        interfaces = Path(interfaces_file or f"/etc/network/interfaces.d/{name}")
    return FilePaths(
        config=config,
        daemon_json=Path(daemon_json),
        defaults_file=Path(defaults_file),
        interfaces_file=interfaces,
        unit_dirs=tuple(Path(d) for d in unit_dir) or DEFAULT_UNIT_DIRS,
    )


#: the files that point Docker (and ifupdown) at the bridge: which one, and where each is
_FILE_OPTIONS = [
    click.option(
        "--config",
        type=click.Choice(["auto", "daemon-json", "docker-opts", "none"]),
        default="auto",
        show_default=True,
        help="Which file tells Docker to use the bridge. auto: DOCKER_OPTS where Docker reads it and it "
        "already sets the bridge, else daemon.json. Settings that would reach dockerd twice are "
        "removed from the other file.",
    ),
    click.option(
        "--daemon-json",
        default="/etc/docker/daemon.json",
        show_default=True,
        metavar="PATH",
        help="Docker's daemon.json.",
    ),
    click.option(
        "--defaults-file",
        default="/etc/default/docker",
        show_default=True,
        metavar="PATH",
        help="The file holding DOCKER_OPTS.",
    ),
    click.option(
        "--interfaces-file",
        metavar="PATH",
        help="ifupdown stanza for the bridge [default: /etc/network/interfaces.d/NAME].",
    ),
    click.option("--no-interfaces-file", is_flag=True, help="Do not write (or remove) the ifupdown stanza."),
    click.option(
        "--unit-dir",
        multiple=True,
        metavar="DIR",
        help="Where to look for docker.service and its drop-ins (repeatable) [default: the systemd dirs].",
    ),
]
#: how a plan is carried out: whether Docker runs, in which namespace, only shown, or despite the refusals
_RUN_OPTIONS = [
    click.option(
        "--docker-pid",
        default="/var/run/docker.pid",
        show_default=True,
        metavar="PATH",
        help="Docker's pid file: a live pid means Docker runs.",
    ),
    click.option("--netns", metavar="NAME|PATH", help="Work inside this network namespace instead of the host's."),
    click.option("--dry-run", is_flag=True, help="Print the netlink steps and file diffs; change nothing."),
    click.option(
        "--force",
        is_flag=True,
        help="Go ahead despite overlapping networks, ports on the bridge, or a non-bridge link of that name.",
    ),
]


def _bridge_file_options(func):
    """The options ``setup`` and ``teardown`` share, declared once: the same files, carried out the same way."""
    for option in reversed(_FILE_OPTIONS + _RUN_OPTIONS):
        func = option(func)
    return func


def _run_plan(obj, plan, before, name, daemon_json, netns, docker_pid, dry_run, what, restart_with=None):
    """Print the plan, then carry it out (``restart_with``: the spec Docker must use after a restart around it)."""
    # start-up time: --help and completion load no command's modules
    from dockernet.bridge import netlink
    from dockernet.host.bridgeapply import apply_restarting_docker, execute
    from dockernet.host.dockerctl import refuse_if_docker_runs

    for warning in plan.warnings:
        click.echo(f"dockernet: warning: {warning}", err=True)
    if plan.nothing_to_do:
        click.echo(f"nothing to do: {what}")
        return
    for note in plan.notes:
        click.echo(f"# {note}")
    for step in plan.steps:
        click.echo(step.describe())
    for change in plan.files:
        if change.changed:
            click.echo(change.diff(), nl=False)
    _ask_dockerd(plan, daemon_json)
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    service = _running_docker(obj, docker_pid) if restart_with else None
    if service is None:
        refuse_if_docker_runs(docker_pid, obj["docker_host"])
        with netlink(netns) as ipr:
            execute(plan, ipr, before, name)
    else:
        # start-up time: --help and completion load no command's modules
        from dockernet.engine.dockerapi import DockerEngine

        engine = DockerEngine(obj["docker_host"], timeout=10)
        try:
            apply_restarting_docker(
                plan, netns, before, restart_with, service, engine, lambda line: click.echo(f"# {line}")
            )
        finally:
            engine.close()
    for change in plan.files:
        if change.changed:
            click.echo(f"{'removed' if change.after is None else 'wrote'} {change.path}")


def _refuse_other_engines(docker_host) -> None:
    """The bridge is rootful Docker's: refuse a Podman or a rootless engine that answers at --docker-host."""
    # start-up time: --help and completion load no command's modules
    from dockernet.engine.dockerapi import DockerEngine

    engine = DockerEngine(docker_host, timeout=5)
    try:
        kind = engine.kind()
    except DockerUnreachable:
        return  # a stopped Docker is this command's usual case
    finally:
        engine.close()
    if kind.rootless:
        raise NotDockersBridge(
            f"the engine at {engine.where} is {kind}: a rootless engine has no bridge on the host, its "
            "containers live in a network namespace of its own",
            hint="publish them with 'dockernet watch --address host' (the default for a rootless engine)",
        )
    if kind.podman:
        raise NotDockersBridge(
            f"the engine at {engine.where} is {kind}: 'bridge setup' builds Docker's bridge and points Docker "
            "at it; Podman's networks are netavark's",
            hint="use 'podman network create' or containers.conf for Podman",
        )


def _ask_dockerd(plan, daemon_json: str) -> None:
    """Have dockerd validate the planned daemon.json where it can (Docker 23 and later); say so where it cannot."""
    # start-up time: --help and completion load no command's modules
    from dockernet.host.dockerctl import validate_config

    for change in plan.files:
        if change.changed and change.after is not None and change.path == Path(daemon_json):
            accepted, reason = validate_config(change.after)
            if accepted is False:
                raise ConfigError(f"dockerd refuses the planned {change.path}: {reason}", hint="nothing was written")
            click.echo(
                f"# dockerd --validate accepts the planned {change.path}"
                if accepted
                else f"# {reason}: the plan is checked by dockernet's own rules only"
            )


def _running_docker(obj, docker_pid):
    """How to stop and start the running Docker; None when it does not run; refused when it runs but how is unknown."""
    # start-up time: --help and completion load no command's modules
    from dockernet.host.dockerctl import docker_running, find_docker

    service = find_docker(docker_pid)
    if service is None:
        reason = docker_running(None, obj["docker_host"])
        if reason:
            raise DockerRunning(
                f"Docker is running ({reason}) but neither systemd nor a live pid in {docker_pid} "
                "says how to stop and start it",
                hint="give its pid file with --docker-pid, or stop it yourself and run without --restart-docker",
            )
    return service


@click.group(cls=HostOnlyGroup)
def bridge() -> None:
    """Build the Docker bridge on a subnet of your network, and point Docker at it."""


@bridge.command("setup")
@click.option(
    "--cidr", required=True, help="Subnet of the bridge, e.g. 10.1.0.0/16 (10.1.0.1/16 also sets the gateway)."
)
@click.option("--name", type=IFNAME, default="docker0", show_default=True, help="Name of the bridge.")
@click.option("--gateway", metavar="IP", help="The bridge's own address [default: the first host address].")
@click.option(
    "--dns",
    "dns_servers",
    type=RESOLVER,
    multiple=True,
    help="Resolver for containers (repeatable) [default: the resolver already in Docker's files, else the "
    "gateway, with a warning: nothing checks that DNS answers there].",
)
@click.option("--dns-search", type=SEARCH_DOMAIN, multiple=True, help="Search domain for containers (repeatable).")
@click.option("--mtu", type=MTU, metavar="N", help="MTU of the bridge.")
@click.option(
    "--cidr6",
    metavar="PREFIX",
    help="IPv6 prefix for containers, e.g. fd00:1::/64: the bridge takes its "
    "first address, Docker gets ipv6 and fixed-cidr-v6.",
)
@click.option(
    "--restart-docker",
    is_flag=True,
    help="Stop a running Docker (systemd, else the --docker-pid process), apply, start it again and check "
    "that it uses the new bridge; if it does not, put everything back and start it again.",
)
@_bridge_file_options
@click.pass_obj
def bridge_setup(
    obj,
    cidr,
    name,
    gateway,
    dns_servers,
    dns_search,
    mtu,
    cidr6,
    restart_docker,
    config,
    daemon_json,
    defaults_file,
    interfaces_file,
    no_interfaces_file,
    unit_dir,
    docker_pid,
    netns,
    dry_run,
    force,
):
    """Rebuild the bridge over netlink and write Docker's configuration for it.

    Refuses while Docker runs (unless --restart-docker), when the subnet overlaps a network already on
    this host, or when containers are attached (--force overrides the last two); and a Podman or a
    rootless engine at --docker-host. Run twice with the same arguments, the second run changes nothing.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.bridge import netlink, observe
    from dockernet.host.bridgeargs import make_spec
    from dockernet.host.bridgesetup import plan_setup

    spec = make_spec(name, cidr, gateway, mtu, dns_servers, dns_search, cidr6)
    _refuse_other_engines(obj["docker_host"])  # teardown, the way back, is never refused
    paths = _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    plan = plan_setup(spec, cidr, paths, observation, force=force, docker_restarts=restart_docker)
    _run_plan(
        obj,
        plan,
        observation.bridge,
        name,
        daemon_json,
        netns,
        docker_pid,
        dry_run,
        f"{name} is {spec.interface} and the files agree",
        restart_with=spec if restart_docker else None,
    )


@bridge.command("teardown")
@click.option("--name", type=IFNAME, default="docker0", show_default=True, help="Name of the bridge.")
@_bridge_file_options
@click.pass_obj
def bridge_teardown(
    obj,
    name,
    config,
    daemon_json,
    defaults_file,
    interfaces_file,
    no_interfaces_file,
    unit_dir,
    docker_pid,
    netns,
    dry_run,
    force,
):
    """Remove the bridge and the settings bridge setup wrote (the undo of setup)."""
    # start-up time: --help and completion load no command's modules
    from dockernet.bridge import netlink, observe
    from dockernet.host.bridgesetup import plan_teardown

    paths = _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    plan = plan_teardown(name, paths, observation, force=force)
    _run_plan(
        obj,
        plan,
        observation.bridge,
        name,
        daemon_json,
        netns,
        docker_pid,
        dry_run,
        f"no bridge {name} and no settings of dockernet's",
    )


@bridge.command("show")
@click.option("--name", type=IFNAME, default="docker0", show_default=True, help="Name of the bridge.")
@click.option("--daemon-json", default="/etc/docker/daemon.json", show_default=True, metavar="PATH")
@click.option("--defaults-file", default="/etc/default/docker", show_default=True, metavar="PATH")
@click.option("--netns", metavar="NAME|PATH", help="Look inside this network namespace instead of the host's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def bridge_show(obj, name, daemon_json, defaults_file, netns, as_json):
    """The bridge's state, its ports with their containers, and whether Docker's files and the running engine agree."""
    # start-up time: --help and completion load no command's modules
    from dockernet.bridge import netlink, observe
    from dockernet.engine.dockerapi import DockerEngine
    from dockernet.host.bridgereport import bridge_summary, config_agreement, engine_agreement
    from dockernet.host.bridgesetup import FilePaths
    from dockernet.netns import port_owners

    paths = FilePaths("none", Path(daemon_json), Path(defaults_file), None)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    bridge_state = observation.bridge
    summary = bridge_summary(bridge_state)
    owners = port_owners(obj["docker_host"], netns) if bridge_state and bridge_state.ports else {}
    ports = bridge_state.ports if bridge_state else ()
    summary["ports"] = [{"ifname": port, **owners.get(port, {})} for port in ports]
    summary["config"] = config_agreement(bridge_state, paths, name)
    engine = DockerEngine(obj["docker_host"], timeout=5)
    try:
        summary["engine"] = engine_agreement(engine, bridge_state, name)
    finally:
        engine.close()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if not summary["exists"]:
        click.echo(f"{name}: does not exist")
    else:
        state = "up" if summary["up"] else "down"
        click.echo(
            f"{name}: {summary['kind']} {state} mtu {summary['mtu']} stp {'on' if summary['stp'] else 'off'} "
            f"forward_delay {summary['forward_delay_s']:g}s"
        )
        for address in summary["addresses"]:
            click.echo(f"    inet {address}")
        for address in summary["addresses6"]:
            click.echo(f"    inet6 {address}")
        for port in summary["ports"]:
            owner = f"  container {port['container']} ({port['id']})" if "container" in port else ""
            click.echo(f"    port {port['ifname']}{owner}")
    for line in summary["config"]:
        click.echo(f"config: {line}")
    for line in summary["engine"]:
        click.echo(f"engine: {line}")

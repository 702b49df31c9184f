"""The command line. The only place that prints errors or chooses exit codes."""

from __future__ import annotations

import functools
import logging
import socket
import sys
from dataclasses import replace
from pathlib import Path

import click

from dockernet import __version__
from dockernet.errors import CannotListen, CannotOpenLog, DockernetError
from dockernet.logformat import one_line
from dockernet.params import CIDR, IP, KEY_NAME, LISTEN, OWNER_ID, REVERSE_ZONE, ZONE

log = logging.getLogger("dockernet")


def default_owner_id() -> str:
    """This host's name, the natural scope of the records its watcher owns."""
    name = socket.gethostname().split(".")[0] or "localhost"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:63]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dockernet")
@click.option(
    "--docker-host",
    envvar="DOCKER_HOST",
    metavar="URL",
    help="Docker engine to talk to, e.g. unix:///var/run/docker.sock (default: $DOCKER_HOST, else the local socket).",
)
@click.pass_context
def cli(ctx: click.Context, docker_host: str | None) -> None:
    """Docker host networking on a network you already own.

    Publish containers in your own BIND9 zone with signed dynamic updates,
    and provision a zone for it.
    """
    ctx.obj = {"docker_host": docker_host or None}


# --- watch ------------------------------------------------------------------


_DNS_OPTIONS = [
    click.option("--server", envvar=["NET_NS", "DOCKERNET_SERVER"], default="127.0.0.1", show_default=True,
                 show_envvar=True, help="DNS server that takes the updates (address or host name)."),
    click.option("--port", envvar="DOCKERNET_PORT", type=click.IntRange(1, 65535), default=53, show_default=True,
                 show_envvar=True, help="Port of the DNS server."),
    click.option("--zone", envvar=["NET_DOMAIN", "DOCKERNET_ZONE"], type=ZONE, required=True, show_envvar=True,
                 help="Zone the containers are published in, e.g. docker.test."),
    click.option("--key-file", envvar=["DDNS_KEY", "DOCKERNET_KEY_FILE"], default="/etc/bind/ddns.key",
                 show_default=True, show_envvar=True, type=click.Path(dir_okay=False),
                 help="BIND TSIG key file (tsig-keygen, ddns-confgen, dns init)."),
    click.option("--no-key", is_flag=True, help="Send updates unsigned (for servers that grant updates by source address)."),
    click.option("--ttl", envvar="DOCKERNET_TTL", type=click.IntRange(0, 2147483647), default=60,
                 show_default=True, show_envvar=True, help="TTL of the published records, in seconds."),
    click.option("--max-ttl", envvar="DOCKERNET_MAX_TTL", type=click.IntRange(0, 2147483647), default=86400,
                 show_default=True, show_envvar=True,
                 help="Largest TTL a container may ask for with the dockernet.ttl label (larger values are capped)."),
    click.option("--reverse-zone", "reverse_zones", type=REVERSE_ZONE, multiple=True,
                 help="Also publish PTR records in this reverse zone (repeatable); auto: the zones the server "
                      "serves for Docker's subnets."),
    click.option("--network", "networks", multiple=True, metavar="NAME",
                 help="Publish only addresses on this Docker network (repeatable) [default: every network]."),
    click.option("--owner-id", envvar="DOCKERNET_OWNER_ID", type=OWNER_ID, default=default_owner_id,
                 show_default="this host's name", show_envvar=True,
                 help="Scope of ownership: this watcher only changes records marked with this id."),
    click.option("--state-dir", envvar="DOCKERNET_STATE_DIR", default="/var/lib/dockernet", show_default=True,
                 show_envvar=True, type=click.Path(file_okay=False),
                 help="Where the journal of written names survives crashes (used when zone transfer is not allowed)."),
]
_SETTINGS_FIELDS = ("server", "port", "zone", "key_file", "no_key", "ttl", "max_ttl", "reverse_zones", "networks",
                    "owner_id", "state_dir")


def dns_options(func):
    """The options that say where updates go, declared once for watch and the dns commands.

    The command receives them as one frozen ``settings`` (``runtime.DnsSettings``).
    """
    @functools.wraps(func)
    def with_settings(*args, **kwargs):
        from dockernet.runtime import DnsSettings

        return func(*args, settings=DnsSettings(**{name: kwargs.pop(name) for name in _SETTINGS_FIELDS}), **kwargs)

    for option in reversed(_DNS_OPTIONS):
        with_settings = option(with_settings)
    return with_settings


@cli.command()
@dns_options
@click.option("--send-from", type=click.Choice(["host", "container"]), default="host", show_default=True,
              help="Where UPDATEs leave from: container sends each record's UPDATE from inside its container's "
                   "network namespace, so a server granting updates by source address authorises the container.")
@click.option("--docker-pid", envvar="DOCKER_PID", default="/var/run/docker.pid", show_default=True, show_envvar=True,
              help="Docker's pid file, consulted while waiting for the engine.")
@click.option("--pidfile", envvar="DOCKERNET_PIDFILE", type=click.Path(dir_okay=False), show_envvar=True,
              help="Write the watcher's pid here (refused while another live watcher holds it).")
@click.option("--resync-interval", envvar="DOCKERNET_RESYNC_INTERVAL", type=click.FloatRange(min=1), default=300,
              show_default=True, show_envvar=True, help="Seconds between full reconciles that repair drift.")
@click.option("--settle-time", type=click.FloatRange(min=0), default=10, show_default=True,
              help="After (re)connecting to Docker, seconds before removals found by a full listing are made.")
@click.option("--cleanup-on-exit", is_flag=True, help="On SIGTERM/SIGINT, remove this owner's records before exiting.")
@click.option("--metrics-listen", envvar="DOCKERNET_METRICS_LISTEN", metavar="HOST:PORT", type=LISTEN, show_envvar=True,
              help="Serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9153.")
@click.option("--once", is_flag=True, help="Reconcile once and exit: 0 when everything was applied, 1 otherwise.")
@click.argument("log_to", metavar="[LOG]", default="-", required=False)
@click.pass_obj
def watch(obj, settings, send_from, docker_pid, pidfile, resync_interval, settle_time, cleanup_on_exit, metrics_listen,
          once, log_to):
    """Publish running containers as <hostname>.<zone>, following Docker events.

    A records for IPv4, AAAA for global IPv6 addresses, PTR records in
    --reverse-zone zones. Each name is sent as a TSIG-signed RFC 2136 update
    and carries an ownership mark (a TXT record), so dockernet only ever
    changes or removes records it wrote itself. A name the server rejects
    is set aside alone; no other container waits for it. LOG is a file
    path, or - for standard output.
    """
    from dockernet import pidfile as pidfiles
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build
    from dockernet.supervision import Health, NullMetrics

    try:
        setup_logging(log_to)
    except OSError as exc:
        raise CannotOpenLog(f"cannot open log file {log_to}: {exc.strerror}") from None
    health, metrics = Health(), NullMetrics()
    if metrics_listen and not once:
        metrics = _serve_metrics(metrics_listen, health)
    runtime = build(replace(settings, send_from=send_from), obj["docker_host"], metrics=metrics, health=health,
                    docker_pid=docker_pid, resync_interval=resync_interval, settle_time=settle_time,
                    cleanup_on_exit=cleanup_on_exit)
    if once:
        ok = runtime.watcher.once()
        if not ok:
            log.error("Not every change was applied (%d pending)", len(runtime.reconciler.pending))
        sys.exit(0 if ok else 1)
    if pidfile:
        pidfiles.acquire(pidfile)
    runtime.watcher.install_signal_handlers()
    target = runtime.nameserver.target
    log.info("dockernet %s watching for zone %s via %s with %s, owner id %s", __version__, settings.zone, target.where,
             target.key, settings.owner_id)
    try:
        runtime.watcher.run()
    except DockernetError as exc:
        log.error("%s", exc)
        raise
    finally:
        runtime.journal.close()
        if pidfile:
            pidfiles.release(pidfile)
    log.info("Stopped")


def _serve_metrics(listen, health):
    from dockernet.supervision import PrometheusMetrics, serve_metrics

    metrics = PrometheusMetrics()
    try:
        serve_metrics(listen, metrics, health)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {listen[0]}:{listen[1]} for metrics: {exc.strerror}") from None
    return metrics


# --- bridge -----------------------------------------------------------------


def _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name):
    from dockernet.bridgesetup import DEFAULT_UNIT_DIRS, FilePaths

    if no_interfaces_file:
        interfaces = None
    else:
        interfaces = Path(interfaces_file or f"/etc/network/interfaces.d/{name}")
    return FilePaths(config=config, daemon_json=Path(daemon_json), defaults_file=Path(defaults_file),
                     interfaces_file=interfaces, unit_dirs=tuple(Path(d) for d in unit_dir) or DEFAULT_UNIT_DIRS)


def _bridge_file_options(func):
    options = [
        click.option("--config", type=click.Choice(["daemon-json", "docker-opts", "none"]), default="daemon-json",
                     show_default=True, help="Which file tells Docker to use the bridge."),
        click.option("--daemon-json", default="/etc/docker/daemon.json", show_default=True, metavar="PATH",
                     help="Docker's daemon.json."),
        click.option("--defaults-file", default="/etc/default/docker", show_default=True, metavar="PATH",
                     help="The file holding DOCKER_OPTS."),
        click.option("--interfaces-file", metavar="PATH",
                     help="ifupdown stanza for the bridge [default: /etc/network/interfaces.d/NAME]."),
        click.option("--no-interfaces-file", is_flag=True, help="Do not write (or remove) the ifupdown stanza."),
        click.option("--unit-dir", multiple=True, metavar="DIR",
                     help="Where to look for docker.service and its drop-ins (repeatable) [default: the systemd dirs]."),
        click.option("--docker-pid", default="/var/run/docker.pid", show_default=True, metavar="PATH",
                     help="Docker's pid file: a live pid means Docker runs."),
        click.option("--netns", metavar="NAME|PATH", help="Work inside this network namespace instead of the host's."),
        click.option("--dry-run", is_flag=True, help="Print the netlink steps and file diffs; change nothing."),
        click.option("--force", is_flag=True, help="Go ahead despite overlapping networks, ports on the bridge, "
                                                   "or a non-bridge link of that name."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_plan(obj, plan, netns, docker_pid, dry_run, what):
    from dockernet.bridge import netlink
    from dockernet.bridgesetup import execute, refuse_if_docker_runs

    for warning in plan.warnings:
        click.echo(f"dockernet: warning: {warning}", err=True)
    if plan.nothing_to_do:
        click.echo(f"nothing to do: {what}")
        return
    for step in plan.steps:
        click.echo(step.describe())
    for change in plan.files:
        if change.changed:
            click.echo(change.diff(), nl=False)
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    refuse_if_docker_runs(docker_pid, obj["docker_host"])
    with netlink(netns) as ipr:
        execute(plan, ipr)
    for change in plan.files:
        if change.changed:
            click.echo(f"{'removed' if change.after is None else 'wrote'} {change.path}")


@cli.group()
def bridge() -> None:
    """Build the Docker bridge on a subnet of your network, and point Docker at it."""


@bridge.command("setup")
@click.option("--cidr", required=True, help="Subnet of the bridge, e.g. 10.1.0.0/16 (10.1.0.1/16 also sets the gateway).")
@click.option("--name", default="docker0", show_default=True, help="Name of the bridge.")
@click.option("--gateway", metavar="IP", help="The bridge's own address [default: the first host address].")
@click.option("--dns", "dns_servers", multiple=True, metavar="IP", help="Resolver for containers (repeatable) [default: the gateway].")
@click.option("--dns-search", multiple=True, metavar="DOMAIN", help="Search domain for containers (repeatable).")
@click.option("--mtu", type=int, help="MTU of the bridge.")
@_bridge_file_options
@click.pass_obj
def bridge_setup(obj, cidr, name, gateway, dns_servers, dns_search, mtu, config, daemon_json, defaults_file,
                 interfaces_file, no_interfaces_file, unit_dir, docker_pid, netns, dry_run, force):
    """Rebuild the bridge over netlink and write Docker's configuration for it.

    Refuses while Docker runs, when the subnet overlaps a network already on
    this host, or when containers are attached (--force overrides the last
    two). Run twice with the same arguments, the second run changes nothing.
    """
    from dockernet.bridge import make_spec, netlink, observe
    from dockernet.bridgesetup import plan_setup

    spec = make_spec(name, cidr, gateway, mtu, dns_servers, dns_search)
    paths = _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    plan = plan_setup(spec, cidr, paths, observation, force=force)
    _run_plan(obj, plan, netns, docker_pid, dry_run, f"{name} is {spec.interface} and the files agree")


@bridge.command("teardown")
@click.option("--name", default="docker0", show_default=True, help="Name of the bridge.")
@_bridge_file_options
@click.pass_obj
def bridge_teardown(obj, name, config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir,
                    docker_pid, netns, dry_run, force):
    """Remove the bridge and the settings bridge setup wrote (the undo of setup)."""
    from dockernet.bridge import netlink, observe
    from dockernet.bridgesetup import plan_teardown

    paths = _file_paths(config, daemon_json, defaults_file, interfaces_file, no_interfaces_file, unit_dir, name)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    plan = plan_teardown(name, paths, observation, force=force)
    _run_plan(obj, plan, netns, docker_pid, dry_run, f"no bridge {name} and no settings of dockernet's")


@bridge.command("show")
@click.option("--name", default="docker0", show_default=True, help="Name of the bridge.")
@click.option("--daemon-json", default="/etc/docker/daemon.json", show_default=True, metavar="PATH")
@click.option("--defaults-file", default="/etc/default/docker", show_default=True, metavar="PATH")
@click.option("--netns", metavar="NAME|PATH", help="Look inside this network namespace instead of the host's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def bridge_show(obj, name, daemon_json, defaults_file, netns, as_json):
    """The bridge's state, its ports with their containers, and whether Docker's files agree."""
    import json

    from dockernet.bridge import netlink, observe
    from dockernet.bridgesetup import FilePaths, bridge_summary, config_agreement
    from dockernet.netns import port_owners

    paths = FilePaths("none", Path(daemon_json), Path(defaults_file), None)
    with netlink(netns) as ipr:
        observation = observe(ipr, name)
    bridge_state = observation.bridge
    summary = bridge_summary(bridge_state)
    owners = port_owners(obj["docker_host"], netns) if bridge_state and bridge_state.ports else {}
    summary["ports"] = [{"ifname": port, **owners.get(port, {})} for port in (bridge_state.ports if bridge_state else ())]
    summary["config"] = config_agreement(bridge_state, paths)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if not summary["exists"]:
        click.echo(f"{name}: does not exist")
    else:
        state = "up" if summary["up"] else "down"
        click.echo(f"{name}: {summary['kind']} {state} mtu {summary['mtu']} stp {'on' if summary['stp'] else 'off'} "
                   f"forward_delay {summary['forward_delay_s']:g}s")
        for address in summary["addresses"]:
            click.echo(f"    inet {address}")
        for port in summary["ports"]:
            owner = f"  container {port['container']} ({port['id']})" if "container" in port else ""
            click.echo(f"    port {port['ifname']}{owner}")
    for line in summary["config"]:
        click.echo(f"config: {line}")


# --- netns ------------------------------------------------------------------


@cli.group()
@click.option("--host-netns", metavar="NAME|PATH",
              help="The namespace holding Docker's bridges and the host ends of veths [default: this process's].")
@click.pass_obj
def netns(obj, host_netns) -> None:
    """See and configure containers' networks from the host, through their namespaces."""
    obj["host_netns"] = host_netns


def _engine(obj):
    from dockernet.engine import DockerEngine

    return DockerEngine(obj["docker_host"])


@netns.command("show")
@click.argument("container")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def netns_show(obj, container, as_json):
    """A container's interfaces, addresses, routes, and the host-side end of each veth."""
    import json

    from dockernet.netns import render_show, show

    view = show(_engine(obj), container, obj["host_netns"])
    click.echo(json.dumps(view.to_dict(), indent=2) if as_json else render_show(view), nl=as_json)


@netns.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def netns_ls(obj, as_json):
    """Every running container with its interfaces and host-side veths: which veth is which container."""
    import json

    from dockernet.netns import list_views, render_ls

    views = list_views(_engine(obj), obj["host_netns"])
    click.echo(json.dumps([view.to_dict() for view in views], indent=2) if as_json else render_ls(views), nl=as_json)


@netns.command("addr")
@click.argument("action", type=click.Choice(["add", "del"]))
@click.argument("container")
@click.argument("address", metavar="IP/PREFIX")
@click.option("--dev", metavar="IFNAME", help="Interface in the container [default: the one with the default route].")
@click.option("--force", is_flag=True, help="Change it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_addr(obj, action, container, address, dev, force):
    """Add or delete an IPv4 or IPv6 address inside a container.

    Only on interfaces dockernet attached, unless --force.
    """
    from dockernet.netns import change_address, check_ifname, parse_interface

    interface = parse_interface(address)
    click.echo(change_address(_engine(obj), container, action, interface, check_ifname(dev) if dev else None, force))


@netns.command("route")
@click.argument("action", type=click.Choice(["add", "del"]))
@click.argument("container")
@click.argument("destination", metavar="DEST|default")
@click.argument("via", required=False, metavar="[via GATEWAY]", nargs=-1)
@click.option("--dev", metavar="IFNAME", help="Interface in the container.")
@click.option("--force", is_flag=True, help="Change it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_route(obj, action, container, destination, via, dev, force):
    """Add or delete a route inside a container: DEST (a CIDR) or default, via GATEWAY and/or --dev.

    Only routes through interfaces dockernet attached, unless --force.
    """
    from dockernet.netns import change_route, check_ifname, parse_destination

    gateway = None
    if via:
        if len(via) != 2 or via[0] != "via":
            raise click.UsageError("expected 'via GATEWAY' after the destination")
        gateway = IP.convert(via[1], None, None)
    target = parse_destination(destination)
    click.echo(change_route(_engine(obj), container, action, target, gateway, check_ifname(dev) if dev else None, force))


@netns.command("attach")
@click.argument("container")
@click.option("--bridge", required=True, metavar="NAME", help="Host bridge for the new interface.")
@click.option("--ip", "ip_spec", required=True, metavar="ADDR/PREFIX[@GATEWAY]",
              help="Address of the new interface; with @GATEWAY also the default route.")
@click.option("--ifname", default="eth1", show_default=True, help="Name of the interface inside the container.")
@click.option("--mac", metavar="MAC|U:SEED", help="MAC address; U:SEED gives a stable one derived from SEED.")
@click.option("--mtu", type=click.IntRange(68, 65535), help="MTU of both ends.")
@click.option("--create-bridge", is_flag=True, help="Create the bridge if it does not exist.")
@click.pass_obj
def netns_attach(obj, container, bridge, ip_spec, ifname, mac, mtu, create_bridge):
    """Give a container one more interface on a host bridge (pipework's main job).

    Running it again with the same arguments changes nothing.
    """
    from dockernet.netns import AttachSpec, attach, check_ifname, parse_ip_spec, parse_mac

    interface, gateway = parse_ip_spec(ip_spec)
    spec = AttachSpec(bridge=check_ifname(bridge), interface=interface, gateway=gateway, ifname=check_ifname(ifname),
                      mac=parse_mac(mac) if mac else None, mtu=mtu, create_bridge=create_bridge)
    click.echo(attach(_engine(obj), container, spec, obj["host_netns"]))


@netns.command("detach")
@click.argument("container")
@click.option("--ifname", required=True, help="The interface attach made, e.g. eth1.")
@click.option("--force", is_flag=True, help="Delete it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_detach(obj, container, ifname, force):
    """Remove an interface attach made: the veth pair goes from both ends.

    Refuses an interface dockernet did not attach (Docker's eth0) unless --force.
    """
    from dockernet.netns import check_ifname, detach

    click.echo(detach(_engine(obj), container, check_ifname(ifname), force))


# --- dns --------------------------------------------------------------------


@cli.group()
def dns() -> None:
    """Provision and inspect the DNS side."""


@dns.command("init")
@click.option("--zone", type=ZONE, required=True, help="Zone to serve, e.g. docker.test.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for named.conf, the zone files and the key.")
@click.option("--listen", type=IP, default="127.0.0.1", show_default=True, help="Address named listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=53, show_default=True, help="Port named listens on.")
@click.option("--subnet", "subnets", type=CIDR, multiple=True,
              help="Container subnet (CIDR, IPv4 or IPv6; repeatable): also serve its reverse zone.")
@click.option("--key-name", type=KEY_NAME, default="ddns-key", show_default=True, help="Name of the TSIG key.")
@click.option("--algorithm", type=click.Choice(["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]),
              default="hmac-sha256", show_default=True, help="HMAC algorithm of the key.")
@click.option("--transfer/--no-transfer", "allow_transfer", default=True, show_default=True,
              help="Let the key transfer the zone (AXFR), so the watcher can find its stale records in one sweep.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def dns_init(zone, directory, listen, port, subnets, key_name, algorithm, allow_transfer, force):
    """Write a TSIG key (mode 0600), a zone file and a named.conf that lets the key update the zone.

    The result runs as it is: named -g -c DIR/named.conf
    """
    from dockernet.dnsinit import KEY_FILE, InitSpec, new_secret, render_all, write_files

    spec = InitSpec(zone=zone, directory=directory, listen=listen, port=port, subnets=tuple(subnets),
                    key_name=key_name, algorithm=algorithm, allow_transfer=allow_transfer)
    written = write_files(directory, render_all(spec, new_secret(algorithm)), force)
    for path in written:
        click.echo(f"wrote {path}")
    conf = directory.resolve() / "named.conf"
    port_opt = f" --port {port}" if port != 53 else ""
    click.echo(f"start named:    named -g -c {conf}")
    click.echo(f"start watching: dockernet watch --zone {zone.to_text(omit_final_dot=True)} --server {listen}{port_opt} "
               f"--key-file {directory.resolve() / KEY_FILE}")


@dns.command("check")
@dns_options
@click.pass_obj
def dns_check(obj, settings):
    """Check that the server will take this key's updates: zones, update rights, zone transfer.

    Probes with an UPDATE whose prerequisite cannot hold, so nothing
    changes. Each finding is one line, with the named.conf fix where
    something is missing. Exit 0 only when updates will work.
    """
    from dockernet.dnstools import check, updates_work
    from dockernet.runtime import build

    runtime = build(settings, obj["docker_host"], read_only=True)
    runtime.resolve_reverse_zones()
    findings = check(runtime.nameserver)
    click.echo("\n".join(finding.line() for finding in findings))
    sys.exit(0 if updates_work(findings) else 1)


@dns.command("ls")
@dns_options
@click.option("--owner", "list_owner", type=OWNER_ID, help="List this owner's records instead of this watcher's.")
@click.option("--all", "list_all", is_flag=True, help="List every owner's records.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def dns_ls(obj, settings, list_owner, list_all, as_json):
    """The records dockernet wrote, with their container and whether it still runs.

    Every owner's records can be listed where the key may transfer the zone;
    without that, this watcher's own names are looked up one by one from its
    journal. Another owner's containers are on another host: 'other owner'.
    """
    import json

    from dockernet.dnstools import list_records, render_ls
    from dockernet.runtime import build

    owner = None if list_all else (list_owner or settings.owner_id)
    runtime = build(replace(settings, owner_id=owner or settings.owner_id), obj["docker_host"], read_only=True)
    runtime.resolve_reverse_zones()
    rows = list_records(runtime, owner, settings.owner_id)
    click.echo(json.dumps(rows, indent=2) if as_json else render_ls(rows, settings.owner_id), nl=as_json or bool(rows))


@dns.command("sync")
@dns_options
@click.option("--dry-run", is_flag=True, help="Print the UPDATEs in nsupdate syntax, prerequisites included; send nothing.")
@click.pass_obj
def dns_sync(obj, settings, dry_run):
    """One reconcile, the same path the watcher takes (watch --once)."""
    from dockernet.dnstools import render_nsupdate
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build

    setup_logging(None)  # stdout carries the nsupdate script
    runtime = build(settings, obj["docker_host"], read_only=dry_run)
    if not dry_run:
        sys.exit(0 if runtime.watcher.once() else 1)
    runtime.engine.ping()
    runtime.resolve_reverse_zones()
    changes = runtime.reconciler.preview(runtime.engine.running())
    click.echo(render_nsupdate(changes, runtime.nameserver) if changes else "; nothing to do\n", nl=False)


@dns.command("purge")
@dns_options
@click.option("--owner", "purge_owner", type=OWNER_ID, help="Remove this owner's records instead of this watcher's.")
@click.option("--dry-run", is_flag=True, help="Print the UPDATEs in nsupdate syntax; send nothing.")
@click.pass_obj
def dns_purge(obj, settings, purge_owner, dry_run):
    """Remove everything one owner wrote, PTRs included, and nothing else (each delete checks the owner's mark)."""
    from dockernet.dnstools import render_nsupdate
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build

    setup_logging(None)
    runtime = build(replace(settings, owner_id=purge_owner or settings.owner_id), obj["docker_host"], read_only=dry_run)
    runtime.resolve_reverse_zones()
    reconciler = runtime.reconciler
    if dry_run:
        reconciler.find_owner_reverse_zones()
        changes = reconciler.preview([])
        click.echo(render_nsupdate(changes, runtime.nameserver) if changes else "; nothing to do\n", nl=False)
        return
    runtime.nameserver.probe()
    sys.exit(0 if reconciler.purge() else 1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and an exit code, click's own included."""
    try:
        status = cli.main(args=argv, prog_name="dockernet", standalone_mode=False)
    except _NO_ARGS_IS_HELP as exc:  # click >= 8.2: a bare group prints its help, as a usage error
        click.echo(exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _fail(exc.format_message() + where, 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        _fail("aborted", 1)
    except DockernetError as exc:
        _fail(str(exc), exc.exit_code)
    except OSError as exc:  # the last net: a file or socket error nobody expected is still one line
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", 1)
    sys.exit(status if isinstance(status, int) else 0)


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _fail(message: str, code: int) -> None:
    click.echo(f"dockernet: error: {one_line(message)}", err=True)
    sys.exit(code)

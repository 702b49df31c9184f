"""``dockernet netns``: see and configure containers' networks from the host, through their namespaces."""

from __future__ import annotations

import json

import click

from dockernet.cli.completion import running_containers
from dockernet.cli.hostonly import HostOnlyGroup
from dockernet.cli.params import IP, host_netns_option


@click.group(cls=HostOnlyGroup)
@host_netns_option
@click.pass_obj
def netns(obj, host_netns) -> None:
    """See and configure containers' networks from the host, through their namespaces."""
    obj["host_netns"] = host_netns


def _engine(obj):
    # start-up time: --help and completion load no command's modules
    from dockernet.engine.dockerapi import DockerEngine

    return DockerEngine(obj["docker_host"])


@netns.command("show")
@click.argument("container", shell_complete=running_containers)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def netns_show(obj, container, as_json):
    """A container's interfaces, addresses, routes, and the host-side end of each veth."""
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import render_show, show

    view = show(_engine(obj), container, obj["host_netns"])
    click.echo(json.dumps(view.to_dict(), indent=2) if as_json else render_show(view), nl=as_json)


@netns.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def netns_ls(obj, as_json):
    """Every running container with its interfaces and host-side veths: which veth is which container."""
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import list_views, render_ls

    views = list_views(_engine(obj), obj["host_netns"])
    click.echo(json.dumps([view.to_dict() for view in views], indent=2) if as_json else render_ls(views), nl=as_json)


@netns.command("addr")
@click.argument("action", type=click.Choice(["add", "del"]))
@click.argument("container", shell_complete=running_containers)
@click.argument("address", metavar="IP/PREFIX")
@click.option("--dev", metavar="IFNAME", help="Interface in the container [default: the one with the default route].")
@click.option("--force", is_flag=True, help="Change it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_addr(obj, action, container, address, dev, force):
    """Add or delete an IPv4 or IPv6 address inside a container.

    Only on interfaces dockernet attached, unless --force.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import change_address, check_ifname, parse_interface

    interface = parse_interface(address)
    click.echo(change_address(_engine(obj), container, action, interface, check_ifname(dev) if dev else None, force))


@netns.command("route")
@click.argument("action", type=click.Choice(["add", "del"]))
@click.argument("container", shell_complete=running_containers)
@click.argument("destination", metavar="DEST|default")
@click.argument("via", required=False, metavar="[via GATEWAY]", nargs=-1)
@click.option("--dev", metavar="IFNAME", help="Interface in the container.")
@click.option("--force", is_flag=True, help="Change it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_route(obj, action, container, destination, via, dev, force):
    """Add or delete a route inside a container: DEST (a CIDR) or default, via GATEWAY and/or --dev.

    Only routes through interfaces dockernet attached, unless --force.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import change_route, check_ifname, parse_destination

    gateway = None
    if via:
        if len(via) != 2 or via[0] != "via":
            raise click.UsageError("expected 'via GATEWAY' after the destination")
        gateway = IP.convert(via[1], None, None)
    target = parse_destination(destination)
    device = check_ifname(dev) if dev else None
    click.echo(change_route(_engine(obj), container, action, target, gateway, device, force))


@netns.command("attach")
@click.argument("container", shell_complete=running_containers)
@click.option("--bridge", required=True, metavar="NAME", help="Host bridge for the new interface.")
@click.option(
    "--ip",
    "ip_spec",
    required=True,
    metavar="ADDR/PREFIX[@GATEWAY]",
    help="Address of the new interface; with @GATEWAY also the default route.",
)
@click.option("--ifname", default="eth1", show_default=True, help="Name of the interface inside the container.")
@click.option("--mac", metavar="MAC|U:SEED", help="MAC address; U:SEED gives a stable one derived from SEED.")
@click.option("--mtu", type=click.IntRange(68, 65535), help="MTU of both ends.")
@click.option("--create-bridge", is_flag=True, help="Create the bridge if it does not exist.")
@click.pass_obj
def netns_attach(obj, container, bridge, ip_spec, ifname, mac, mtu, create_bridge):
    """Give a container one more interface on a host bridge (pipework's main job).

    Running it again with the same arguments changes nothing.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import AttachSpec, attach, check_ifname, parse_ip_spec, parse_mac

    interface, gateway = parse_ip_spec(ip_spec)
    spec = AttachSpec(
        bridge=check_ifname(bridge),
        interface=interface,
        gateway=gateway,
        ifname=check_ifname(ifname),
        mac=parse_mac(mac) if mac else None,
        mtu=mtu,
        create_bridge=create_bridge,
    )
    click.echo(attach(_engine(obj), container, spec, obj["host_netns"]))


@netns.command("detach")
@click.argument("container", shell_complete=running_containers)
@click.option("--ifname", required=True, help="The interface attach made, e.g. eth1.")
@click.option("--force", is_flag=True, help="Delete it even though dockernet did not attach it (e.g. Docker's eth0).")
@click.pass_obj
def netns_detach(obj, container, ifname, force):
    """Remove an interface attach made: the veth pair goes from both ends.

    Refuses an interface dockernet did not attach (Docker's eth0) unless --force.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.netns import check_ifname, detach

    click.echo(detach(_engine(obj), container, check_ifname(ifname), force))

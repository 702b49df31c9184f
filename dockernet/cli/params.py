"""click parameters the commands share: the DNS options ``watch`` and the ``dns`` commands take, declared once
(``dns_options``), the owner options, ``--host-netns``; and the validating types of ``cli.paramtypes``, so that a
command module imports all its parameters from here."""

from __future__ import annotations

import functools
import socket

import click

from dockernet.cli.paramtypes import (
    CIDR,
    DOCKER_HOST,
    IFNAME,
    IP,
    KEY_NAME,
    LISTEN,
    MTU,
    OWNER_ID,
    RESOLVER,
    REVERSE_ZONE,
    SEARCH_DOMAIN,
    ZONE,
)

__all__ = [
    "CIDR",
    "DOCKER_HOST",
    "IFNAME",
    "IP",
    "KEY_NAME",
    "LISTEN",
    "MTU",
    "OWNER_ID",
    "RESOLVER",
    "REVERSE_ZONE",
    "SEARCH_DOMAIN",
    "ZONE",
    "default_owner_id",
    "dns_options",
    "host_netns_option",
    "owner_options",
]


def default_owner_id() -> str:
    """This host's name, the natural scope of the records its watcher owns."""
    name = socket.gethostname().split(".")[0] or "localhost"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:63]


_DNS_OPTIONS = [
    click.option(
        "--server",
        envvar=["NET_NS", "DOCKERNET_SERVER"],
        default="127.0.0.1",
        show_default=True,
        show_envvar=True,
        help="DNS server that takes the updates (address or host name).",
    ),
    click.option(
        "--primary",
        envvar="DOCKERNET_PRIMARY",
        metavar="HOST[:PORT]",
        show_envvar=True,
        help="Send updates (and reads) to this server [default: the primary the zone's SOA names, "
        "found through --server, which may be a secondary].",
    ),
    click.option(
        "--port",
        envvar="DOCKERNET_PORT",
        type=click.IntRange(1, 65535),
        default=53,
        show_default=True,
        show_envvar=True,
        help="Port of the DNS server.",
    ),
    click.option(
        "--zone",
        envvar=["NET_DOMAIN", "DOCKERNET_ZONE"],
        type=ZONE,
        required=True,
        show_envvar=True,
        help="Zone the containers are published in, e.g. docker.test.",
    ),
    click.option(
        "--key-file",
        envvar=["DDNS_KEY", "DOCKERNET_KEY_FILE"],
        default="/etc/bind/ddns.key",
        show_default=True,
        show_envvar=True,
        # readable=False: a key this user may not read is refused by the command, naming the user
        type=click.Path(dir_okay=False, readable=False),
        help="BIND TSIG key file (tsig-keygen, ddns-confgen, dns init).",
    ),
    click.option(
        "--no-key", is_flag=True, help="Send updates unsigned (for servers that grant updates by source address)."
    ),
    click.option(
        "--gss-tsig",
        is_flag=True,
        envvar="DOCKERNET_GSS_TSIG",
        show_envvar=True,
        help="Sign with Kerberos (GSS-TSIG) instead of a key file: Active Directory zones, and BIND zones with "
        "tkey-gssapi-keytab. Tickets come from --keytab, else from your credentials cache (kinit, KRB5CCNAME). "
        "Needs the kerberos extra: pip install 'dockernet[kerberos]'.",
    ),
    click.option(
        "--keytab",
        envvar="DOCKERNET_KEYTAB",
        show_envvar=True,
        type=click.Path(dir_okay=False, readable=False),
        help="With --gss-tsig: get tickets from this keytab, into a cache of this process's own.",
    ),
    click.option(
        "--principal",
        envvar="DOCKERNET_PRINCIPAL",
        show_envvar=True,
        metavar="NAME@REALM",
        help="With --gss-tsig: the Kerberos principal to sign as [default: the keytab's or the cache's].",
    ),
    click.option(
        "--server-principal",
        envvar="DOCKERNET_SERVER_PRINCIPAL",
        metavar="DNS/HOST@REALM",
        help="With --gss-tsig: the DNS server's service principal [default: DNS/<the zone's SOA MNAME>@<your "
        "principal's realm>, as nsupdate -g builds it].",
    ),
    click.option(
        "--ttl",
        envvar="DOCKERNET_TTL",
        type=click.IntRange(0, 2147483647),
        default=60,
        show_default=True,
        show_envvar=True,
        help="TTL of the published records, in seconds.",
    ),
    click.option(
        "--max-ttl",
        envvar="DOCKERNET_MAX_TTL",
        type=click.IntRange(0, 2147483647),
        default=86400,
        show_default=True,
        show_envvar=True,
        help="Largest TTL a container may ask for with the dockernet.ttl label (larger values are capped).",
    ),
    click.option(
        "--max-names-per-container",
        "max_names",
        envvar="DOCKERNET_MAX_NAMES",
        type=click.IntRange(1, 10000),
        default=32,
        show_default=True,
        show_envvar=True,
        help="Names one container may ask for: templates, networks, aliases and SRV names, valid or not "
        "(the rest are left out and said once), so no container's labels can hold up the others.",
    ),
    click.option(
        "--reverse-zone",
        "reverse_zones",
        type=REVERSE_ZONE,
        multiple=True,
        help="Also publish PTR records in this reverse zone (repeatable); auto: the zones the server "
        "serves for Docker's subnets.",
    ),
    click.option(
        "--network",
        "networks",
        multiple=True,
        metavar="NAME",
        help="Publish only addresses on this Docker network (repeatable) [default: every network].",
    ),
    click.option(
        "--name-template",
        "name_templates",
        multiple=True,
        metavar="TEMPLATE",
        help="Publish each container under this name (repeatable), relative to --zone: text with the fields "
        "{hostname} {name} {service} {project} {number} {network} {id}; a template whose field a "
        "container lacks gives it no name [default: {hostname}: the hostname, or the container's "
        "name when Docker chose the hostname].",
    ),
    click.option(
        "--compose-names/--no-compose-names",
        default=True,
        show_default=True,
        help="Also publish <service>.<project> for Compose containers: one round-robin name carrying "
        "every replica's address.",
    ),
    click.option(
        "--publish-ports",
        is_flag=True,
        help="SRV records _<service>._<proto>.<name> for every container's published ports [default: "
        "only for containers labelled dockernet.srv=true]; <service> is the label "
        "dockernet.srv.<port>, else the port number.",
    ),
    click.option(
        "--address",
        "address_mode",
        type=click.Choice(["container", "host"]),
        help="host: publish this host's address (--host-address) for containers that publish ports, "
        "with the host port in their SRV records (a NAT'd host, a rootless engine) [default: host when "
        "the engine is rootless, else container].",
    ),
    click.option(
        "--host-address",
        type=IP,
        help="This host's address for --address host (implied) [default: the address of the interface "
        "holding the default route].",
    ),
    click.option(
        "--owner-id",
        envvar="DOCKERNET_OWNER_ID",
        type=OWNER_ID,
        default=default_owner_id,
        show_default="this host's name",
        show_envvar=True,
        help="Scope of ownership: this watcher only changes records marked with this id.",
    ),
    click.option(
        "--state-dir",
        envvar="DOCKERNET_STATE_DIR",
        default="/var/lib/dockernet",
        show_default=True,
        show_envvar=True,
        type=click.Path(file_okay=False),
        help="Where the journal of written names survives crashes (used when zone transfer is not allowed).",
    ),
]
_SETTINGS_FIELDS = (
    "server",
    "primary",
    "port",
    "zone",
    "ttl",
    "max_ttl",
    "max_names",
    "reverse_zones",
    "networks",
    "name_templates",
    "compose_names",
    "publish_ports",
    "address_mode",
    "host_address",
    "owner_id",
    "state_dir",
)


#: the options ``auth_from_options`` turns into ``DnsSettings.auth``, in its order
_AUTH_OPTIONS = ("key_file", "no_key", "gss_tsig", "keytab", "principal", "server_principal")


def dns_options(func):
    """The options that say where updates go, declared once for watch and the dns commands.

    The command receives them as one frozen ``settings`` (``runtime.DnsSettings``).
    """

    @functools.wraps(func)
    def with_settings(*args, **kwargs):
        # start-up time: loaded when the command runs, not by --help
        from dockernet.auth import auth_from_options
        from dockernet.runtime import DnsSettings

        auth = auth_from_options(*(kwargs.pop(name) for name in _AUTH_OPTIONS))
        fields = {name: kwargs.pop(name) for name in _SETTINGS_FIELDS}
        return func(*args, settings=DnsSettings(auth=auth, **fields), **kwargs)

    for option in reversed(_DNS_OPTIONS):
        with_settings = option(with_settings)
    return with_settings


def owner_options(func):
    """--take-over-owner and --adopt-owner, for the commands that write (watch, dns sync)."""
    func = click.option(
        "--adopt-owner",
        metavar="OLD",
        type=OWNER_ID,
        help="First move every record of owner id OLD (a renamed host) to this owner id, atomically per name.",
    )(func)
    return click.option(
        "--take-over-owner",
        is_flag=True,
        help="Replace this owner id's lease although it names another Docker engine, once that "
        "engine stopped renewing it (a reinstalled host).",
    )(func)


#: the namespace holding Docker's bridges and the host ends of veths (netns commands, topology)
host_netns_option = click.option(
    "--host-netns",
    metavar="NAME|PATH",
    help="The namespace holding Docker's bridges and the host ends of veths [default: this process's].",
)

"""click parameters: types that turn bad input into a usage error before any I/O, and the DNS
options ``watch`` and the ``dns`` commands share, declared once (``dns_options``)."""

from __future__ import annotations

import functools
import ipaddress
import socket

import click
import dns.exception
import dns.name

from dockernet.errors import UsageError
from dockernet.logformat import printable
from dockernet.publish.naming import conf_safe_name
from dockernet.publish.registry import valid_owner_id


class ZoneType(click.ParamType):
    """A DNS zone name such as docker.test (absolute; the trailing dot is optional)."""

    name = "ZONE"

    def convert(self, value, param, ctx):
        if isinstance(value, dns.name.Name):
            return value
        text = str(value).strip(" ")
        if not conf_safe_name(text):
            self.fail(
                f"'{printable(text)}' is not a valid DNS name (labels of letters, digits, '-' and '_', "
                "separated by dots)",
                param,
                ctx,
            )
        try:
            zone = dns.name.from_text(text)
        except dns.exception.DNSException as exc:
            self.fail(f"'{printable(text)}' is not a valid DNS name ({exc})", param, ctx)
        if zone == dns.name.root:
            self.fail("the root zone cannot be a container zone", param, ctx)
        return zone


class ReverseZoneType(ZoneType):
    """A reverse zone such as 1.10.in-addr.arpa, or auto (the zones the server serves for Docker's subnets)."""

    name = "ZONE|auto"

    def convert(self, value, param, ctx):
        return "auto" if value == "auto" else super().convert(value, param, ctx)


class KeyNameType(click.ParamType):
    """A TSIG key name as named.conf spells it: ddns-key, or host1.example.com."""

    name = "NAME"

    def convert(self, value, param, ctx):
        text = str(value)
        if not conf_safe_name(text) or text.endswith("."):
            self.fail(
                f"'{printable(text)}' is not a valid key name (letters, digits, '-', '_' and dots, e.g. ddns-key)",
                param,
                ctx,
            )
        return text


class NetworkType(click.ParamType):
    """An IPv4 or IPv6 network in CIDR notation (10.1.0.0/16)."""

    name = "CIDR"

    def convert(self, value, param, ctx):
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return value
        text = str(value).strip()
        if "/" not in text:
            self.fail(f"'{text}' is not a CIDR (expected an address/prefix such as 10.1.0.0/16)", param, ctx)
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            self.fail(f"'{text}' is not a CIDR (expected an address/prefix such as 10.1.0.0/16)", param, ctx)


class AddressType(click.ParamType):
    """An IPv4 or IPv6 address."""

    name = "IP"

    def convert(self, value, param, ctx):
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            self.fail(f"'{value}' is not an IP address", param, ctx)


class InterfaceNameType(click.ParamType):
    """A network interface name: 1-15 letters, digits, '_', '.' or '-' (docker0, br-lan)."""

    name = "NAME"

    def convert(self, value, param, ctx):
        # start-up time: loaded when a value is converted, not by --help
        from dockernet.host.bridgeargs import valid_ifname

        text = str(value)
        if not valid_ifname(text):
            self.fail(
                f"'{printable(text)}' is not a valid interface name (1-15 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-')",
                param,
                ctx,
            )
        return text


class ResolverType(click.ParamType):
    """A DNS resolver's address: IPv4 or IPv6, without a scope (dockerd's --dns)."""

    name = "IP"

    def convert(self, value, param, ctx):
        # start-up time: loaded when a value is converted, not by --help
        from dockernet.host.bridgeargs import resolver_address

        address = resolver_address(str(value))
        if address is None:
            self.fail(f"'{printable(str(value))}' is not an IP address (IPv4 or IPv6, no %scope)", param, ctx)
        return address


class SearchDomainType(click.ParamType):
    """A search domain for containers (dockerd's --dns-search): example.com."""

    name = "DOMAIN"

    def convert(self, value, param, ctx):
        # start-up time: loaded when a value is converted, not by --help
        from dockernet.host.bridgeargs import search_domain

        domain = search_domain(str(value))
        if domain is None:
            self.fail(
                f"'{printable(str(value))}' is not a domain name (labels of letters, digits and '-', "
                "separated by dots)",
                param,
                ctx,
            )
        return domain


class OwnerIdType(click.ParamType):
    """An owner id: letters, digits, '.', '_' and '-', up to 63 characters."""

    name = "ID"

    def convert(self, value, param, ctx):
        text = str(value).strip(" ")
        if not valid_owner_id(text):
            self.fail(
                f"'{printable(text)}' is not a valid owner id (letters, digits, '.', '_', '-'; up to 63)", param, ctx
            )
        return text


class ListenType(click.ParamType):
    """HOST:PORT to listen on; an IPv6 host goes in brackets ([::1]:9153)."""

    name = "HOST:PORT"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        host, sep, port = text.rpartition(":")
        host = host.strip("[]")
        try:
            address = str(ipaddress.ip_address(host)) if host else ""
            number = int(port)
        except ValueError:
            address, number = "", -1
        if not sep or not address or not 0 < number < 65536:
            self.fail(f"'{text}' is not HOST:PORT (e.g. 127.0.0.1:9153 or [::1]:9153)", param, ctx)
        return (address, number)


class DockerHostType(click.ParamType):
    """A Docker engine URL, as the docker CLI's -H takes it: unix:///var/run/docker.sock, tcp://HOST:2376."""

    name = "URL"

    def convert(self, value, param, ctx):
        # start-up time: loaded when a value is converted, not by --help
        from dockernet.engine.address import check_engine_url

        try:
            return check_engine_url(str(value))
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


ZONE = ZoneType()
DOCKER_HOST = DockerHostType()
LISTEN = ListenType()
CIDR = NetworkType()
IP = AddressType()
OWNER_ID = OwnerIdType()
KEY_NAME = KeyNameType()
REVERSE_ZONE = ReverseZoneType()
IFNAME = InterfaceNameType()
RESOLVER = ResolverType()
SEARCH_DOMAIN = SearchDomainType()
#: what the kernel takes for a link's MTU (IPv4's minimum of 68 up to a 16-bit length)
MTU = click.IntRange(68, 65535)


# --- the options watch and the dns commands share -------------------------------------


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
        type=click.Path(dir_okay=False),
        help="BIND TSIG key file (tsig-keygen, ddns-confgen, dns init).",
    ),
    click.option(
        "--no-key", is_flag=True, help="Send updates unsigned (for servers that grant updates by source address)."
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
        default="container",
        show_default=True,
        help="host: publish this host's address (--host-address) for containers that publish ports, "
        "with the host port in their SRV records (a NAT'd host).",
    ),
    click.option(
        "--host-address",
        type=IP,
        help="This host's address for --address host [default: the address of the interface holding "
        "the default route].",
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
    "key_file",
    "no_key",
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


def dns_options(func):
    """The options that say where updates go, declared once for watch and the dns commands.

    The command receives them as one frozen ``settings`` (``runtime.DnsSettings``).
    """

    @functools.wraps(func)
    def with_settings(*args, **kwargs):
        # start-up time: loaded when the command runs, not by --help
        from dockernet.runtime import DnsSettings

        return func(*args, settings=DnsSettings(**{name: kwargs.pop(name) for name in _SETTINGS_FIELDS}), **kwargs)

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

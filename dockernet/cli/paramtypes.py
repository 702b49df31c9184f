"""click parameter types: each turns bad input into a usage error, naming what was expected, before any I/O.

The predicates live in the library (``publish.naming``, ``publish.registry``,
``host.bridgeargs``, ``engine.address``); these types only say it click's way.
"""

from __future__ import annotations

import ipaddress

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


class BridgeArgType(click.ParamType):
    """A value ``host.bridgeargs`` checks (an interface name, a resolver, a search domain).

    ``checker`` names its function there, which gives the value to use (or True: as typed) or a false
    value for one that is refused with ``refusal``; the module is loaded when a value is converted,
    not by --help (start-up time).
    """

    def __init__(self, name: str, checker: str, refusal: str):
        self.name = name
        self.checker = checker
        self.refusal = refusal

    def convert(self, value, param, ctx):
        from dockernet.host import bridgeargs

        text = str(value)
        checked = getattr(bridgeargs, self.checker)(text)
        if not checked:
            self.fail(f"'{printable(text)}' {self.refusal}", param, ctx)
        return text if checked is True else checked


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
IFNAME = BridgeArgType(
    "NAME",
    "valid_ifname",
    "is not a valid interface name (1-15 letters, digits, '_', '.' or '-', not starting with '.' or '-')",
)
#: dockerd's --dns
RESOLVER = BridgeArgType("IP", "resolver_address", "is not an IP address (IPv4 or IPv6, no %scope)")
#: dockerd's --dns-search
SEARCH_DOMAIN = BridgeArgType(
    "DOMAIN", "search_domain", "is not a domain name (labels of letters, digits and '-', separated by dots)"
)
#: what the kernel takes for a link's MTU (IPv4's minimum of 68 up to a 16-bit length)
MTU = click.IntRange(68, 65535)

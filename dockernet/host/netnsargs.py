"""The netns commands' arguments, parsed: pipework's ``ADDRESS/PREFIX[@GATEWAY]``, MACs, routes, names; pure.

Each function returns the value or raises a ``UsageError`` saying what was
expected (and, where a guess is safe, what was probably meant).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from dockernet.errors import UsageError
from dockernet.logformat import printable

# matched with ``fullmatch``: ``$`` would also accept a trailing newline
_IFNAME = re.compile(r"[^\s/:]{1,15}")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def parse_interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """``10.2.0.5/24`` or ``fd00::5/64``; the prefix is required."""
    if "/" not in text:
        raise UsageError(f"'{text}' has no prefix length", hint=f"maybe you meant {text}/24 ?")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise UsageError(f"'{text}' is not an address with a prefix (e.g. 10.2.0.5/24)") from None


def parse_ip_spec(text: str) -> tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, str | None]:
    """pipework's ``ADDRESS/PREFIX[@GATEWAY]``: the address and the gateway (or None)."""
    address_text, _, gateway_text = text.partition("@")
    interface = parse_interface(address_text)
    if not gateway_text:
        return interface, None
    try:
        gateway = ipaddress.ip_address(gateway_text)
    except ValueError:
        raise UsageError(f"gateway '{gateway_text}' is not an IP address") from None
    if gateway.version != interface.version:
        raise UsageError(f"gateway {gateway} and address {interface} are of different IP versions")
    if gateway not in interface.network:
        raise UsageError(f"gateway {gateway} is outside {interface.network}")
    if gateway == interface.ip:
        raise UsageError(f"gateway {gateway} is the address itself")
    return interface, str(gateway)


def stable_mac(seed: str) -> str:
    """A locally administered unicast MAC derived from ``seed`` (same seed, same MAC, so DHCP leases survive)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return ":".join(f"{b:02x}" for b in bytes([0x02]) + digest[:5])


def parse_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` or ``U:seed``."""
    if text.startswith("U:"):
        if len(text) == 2:
            raise UsageError("U: needs a seed (e.g. U:web1)")
        return stable_mac(text[2:])
    mac = text.lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise UsageError(f"'{text}' is not a MAC address (aa:bb:cc:dd:ee:ff) nor U:seed")
    if int(mac[:2], 16) & 1:
        raise UsageError(f"{mac} is a multicast MAC address", hint="the first octet must be even")
    return mac


def check_ifname(name: str) -> str:
    """``name`` when the kernel takes it as an interface name (1-15 characters, no blank, '/' or ':')."""
    if not _IFNAME.fullmatch(name):
        raise UsageError(f"'{printable(name)}' is not a valid interface name (1-15 characters, no spaces, '/' or ':')")
    return name


def parse_destination(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A route destination: a CIDR, or ``default`` (None)."""
    if text == "default":
        return None
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise UsageError(f"'{text}' is not a route destination (a network like 10.3.0.0/16, or default)") from None

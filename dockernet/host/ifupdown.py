"""The ifupdown stanza that makes the bridge again at boot (``/etc/network/interfaces.d/<bridge>``); pure."""

from __future__ import annotations

import ipaddress

from dockernet.bridge import BridgeSpec

#: the first line of a stanza dockernet wrote: ``bridge teardown`` removes only such a file
STANZA_HEADER = "# written by dockernet bridge setup"


def render_interfaces(spec: BridgeSpec, cidr_argument: str) -> str:
    """The ifupdown stanza for the bridge (bridge-utils' bridge_* options).

    Every value in it went through ``make_spec`` (an interface name, addresses,
    domain names, a number), and the ``--cidr`` of the header is written as
    ``ipaddress`` prints it: nothing the user typed can end a line and start
    an ifupdown option (``pre-up``) of its own.
    """
    lines = [
        f"{STANZA_HEADER} --cidr {ipaddress.ip_interface(cidr_argument).with_prefixlen}",
        f"auto {spec.name}",
        f"iface {spec.name} inet static",
        "    bridge_ports none",
        "    bridge_fd 0",
        "    bridge_stp off",
        f"    address {spec.gateway}",
        f"    netmask {spec.network.netmask}",
    ]
    if spec.mtu is not None:
        lines.append(f"    mtu {spec.mtu}")
    if spec.dns:
        lines.append("    dns-nameservers " + " ".join(spec.dns))
    if spec.dns_search:
        lines.append("    dns-search " + " ".join(spec.dns_search))
    if spec.interface6:
        lines += [
            f"iface {spec.name} inet6 static",
            f"    address {spec.interface6.ip}",
            f"    netmask {spec.interface6.network.prefixlen}",
        ]
    return "\n".join(lines) + "\n"

"""Which reverse zones PTR records go in, asked of the server by SOA look-ups.

Two questions, one method: ``for_subnets`` (``--reverse-zone auto``: the
zones holding Docker's subnets) and ``of_owner`` (the zones an owner's PTR
records may be in, for removing them whether or not ``--reverse-zone`` was
given). Both ask ``Nameserver.zone_for`` once per name not already inside a
known zone, and return the zones; they change nothing.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

import dns.name
import dns.reversename

from dockernet.ddns import Nameserver
from dockernet.errors import DnsError
from dockernet.publish.plan import Current, Owned, forward_first, is_reverse_name

log = logging.getLogger("dockernet")

_ARPA = dns.name.from_text("arpa.")


def _zones_holding(nameserver: Nameserver, names: Iterable[dns.name.Name], known: set[dns.name.Name]) -> set:
    """``known`` plus the reverse zones the server serves for ``names``."""
    zones = set(known)
    for name in sorted(set(names), key=forward_first):
        if any(name.is_subdomain(zone) for zone in zones):
            continue
        zone = nameserver.zone_for(name)
        if zone is not None and is_reverse_name(zone) and zone != _ARPA:
            zones.add(zone)
    return zones


def for_subnets(nameserver: Nameserver, subnets: Iterable[str]) -> tuple[dns.name.Name, ...]:
    """``--reverse-zone auto``: the zones that hold each subnet's reverse names (a subnet without one is said)."""
    zones = set(nameserver.target.reverse_zones)
    for subnet in subnets:
        probe = dns.reversename.from_address(str(ipaddress.ip_network(subnet, strict=False).network_address))
        try:
            found = _zones_holding(nameserver, [probe], zones) - zones
        except DnsError as exc:
            log.warning("Cannot look up the reverse zone of %s: %s", subnet, exc)
            continue
        if found:
            log.info("Publishing PTR records for %s in %s", subnet, ", ".join(map(str, found)))
            zones |= found
        elif not any(probe.is_subdomain(zone) for zone in zones):
            log.info("No reverse zone for %s on %s; no PTR records for it", subnet, nameserver.target.where)
    return tuple(sorted(zones, key=forward_first))


def of_owner(
    nameserver: Nameserver, owned: dict[dns.name.Name, Current], journal_names: Iterable[dns.name.Name]
) -> tuple[dns.name.Name, ...]:
    """The zones an owner's PTR records may be in: from the addresses its forward names hold and its journal.

    Raises ``DnsError`` when the server cannot be asked.
    """
    names = {name.parent() for name in journal_names if is_reverse_name(name)}
    for fqdn, state in owned.items():
        if isinstance(state, Owned) and not is_reverse_name(fqdn):
            names |= {
                dns.reversename.from_address(data).parent() for rdtype, data in state.records if rdtype in ("A", "AAAA")
            }
    zones = _zones_holding(nameserver, names, set(nameserver.target.reverse_zones))
    return tuple(sorted(zones, key=forward_first))

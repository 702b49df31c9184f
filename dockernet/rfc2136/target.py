"""Where updates go and how they are signed: one server, its zones, the signer, the owner (a plain value)."""

from __future__ import annotations

from dataclasses import dataclass

import dns.name

from dockernet.rfc2136.signer import Signer


@dataclass(frozen=True)
class DnsTarget:
    """Where updates go and how they are signed."""

    server: str
    port: int
    zone: dns.name.Name  # the forward zone
    #: what signs the messages (a key file's key, or GSS-TSIG); None: unsigned
    key: Signer | None
    owner: str
    timeout: float = 2.0
    reverse_zones: tuple[dns.name.Name, ...] = ()
    #: "host", or "container": creates and replacements leave from the container's own namespace
    send_from: str = "host"
    #: where the zone's SOA was asked, when updates were sent on to the primary it names (primary.py)
    asked: str = ""
    #: the primary's name in the SOA, when updates were sent on to it
    mname: str = ""
    #: why this server is known not to be the zone's primary (said when it refuses an update)
    not_primary: str = ""

    @property
    def where(self) -> str:
        return f"{self.server}#{self.port}"

    @property
    def zones(self) -> tuple[dns.name.Name, ...]:
        return (self.zone, *self.reverse_zones)

    def zone_of(self, fqdn: dns.name.Name) -> dns.name.Name:
        """The zone a name is in: the deepest zone it is a subdomain of (on label boundaries)."""
        inside = [zone for zone in self.zones if fqdn.is_subdomain(zone)]
        return max(inside, key=len) if inside else self.zone

"""Which reverse zones PTR records go in: asked of a server by SOA look-ups (a stand-in that knows its zones)."""

import dataclasses
import logging

import dns.name
import pytest

from dockernet.errors import DnsTransient
from dockernet.publish.plan import Foreign, Owned
from dockernet.rfc2136.reversezones import for_subnets, of_owner
from tests.support import InMemoryZone

REV10 = dns.name.from_text("10.in-addr.arpa")
REV1 = dns.name.from_text("1.10.in-addr.arpa")
REV6 = dns.name.from_text("c.0.d.0.0.0.d.f.ip6.arpa")


class Served(InMemoryZone):
    """Answers ``zone_for`` as a server serving ``zones`` would (the closest enclosing zone, else the root's)."""

    def __init__(self, zones, known=(), fails=False):
        super().__init__()
        self.zones = [dns.name.from_text(zone) for zone in zones]
        self.target = dataclasses.replace(self.target, reverse_zones=tuple(known))
        self.asked = []
        self.fails = fails

    def zone_for(self, name):
        self.asked.append(name)
        if self.fails:
            raise DnsTransient("no answer")
        inside = [zone for zone in self.zones if name.is_subdomain(zone)]
        return max(inside, key=len) if inside else dns.name.from_text("arpa.")


@pytest.mark.parametrize(
    "served, subnets, found",
    [
        (["1.10.in-addr.arpa"], ["10.1.0.0/16"], [REV1]),
        (["10.in-addr.arpa"], ["10.1.0.0/16", "10.2.0.0/16"], [REV10]),  # one zone holds both: found once
        (["1.10.in-addr.arpa", "c.0.d.0.0.0.d.f.ip6.arpa"], ["10.1.0.0/16", "fd00:d0c::/64"], [REV1, REV6]),
        ([], ["10.1.0.0/16"], []),  # no reverse zone served: no PTR records (the root's arpa. never counts)
        (["example.test"], ["10.1.0.0/16"], []),
    ],
)
def test_for_subnets_finds_the_zone_holding_each_subnet(served, subnets, found):
    assert list(for_subnets(Served(served), subnets)) == found


def test_for_subnets_asks_nothing_for_a_subnet_inside_a_known_zone():
    server = Served(["1.10.in-addr.arpa"], known=(REV1,))
    assert for_subnets(server, ["10.1.0.0/16"]) == (REV1,)
    assert server.asked == []


def test_for_subnets_says_a_failed_look_up_and_goes_on(caplog):
    caplog.set_level(logging.INFO, logger="dockernet")
    assert for_subnets(Served(["1.10.in-addr.arpa"], fails=True), ["10.1.0.0/16"]) == ()
    assert "Cannot look up the reverse zone of 10.1.0.0/16: no answer" in caplog.text


def test_of_owner_finds_zones_from_published_addresses_and_the_journal():
    server = Served(["1.10.in-addr.arpa", "2.10.in-addr.arpa"])
    owned = {
        dns.name.from_text("web.docker.test"): Owned("a" * 12, (("A", "10.1.0.2"), ("TXT", "x")), 60),
        dns.name.from_text("db.docker.test"): Foreign("host-b"),
    }  # another's: its addresses say nothing
    journal = [dns.name.from_text("3.0.2.10.in-addr.arpa"), dns.name.from_text("gone.docker.test")]
    assert of_owner(server, owned, journal) == (REV1, dns.name.from_text("2.10.in-addr.arpa"))


def test_of_owner_raises_when_the_server_cannot_be_asked():
    owned = {dns.name.from_text("web.docker.test"): Owned("a" * 12, (("A", "10.1.0.2"),), 60)}
    with pytest.raises(DnsTransient):
        of_owner(Served(["1.10.in-addr.arpa"], fails=True), owned, [])

"""What a container asks to publish: names, records, labels, networks, PTR (pure)."""

import logging

import dns.name
import pytest

from dockernet.engine import ContainerInfo
from dockernet.claims import RecordPolicy, claims_of

ZONE = dns.name.from_text("docker.test")
REV4 = dns.name.from_text("1.10.in-addr.arpa")
CID = "c" * 64


def info(labels=None, networks=(("bridge", "10.1.0.2"), ("bridge", "fd00:d0c::2"), ("back", "10.9.0.2")),
         hostname="web1", running=True):
    return ContainerInfo(CID, "web", hostname, running, "2026-01-01", tuple(sorted({a for _, a in networks})),
                         labels or {}, 42, tuple(networks))


def names_and_records(claims):
    return [(claim.fqdn.to_text(), claim.records, claim.ttl) for claim in claims]


def collect(container, policy=RecordPolicy(ZONE, 60)):
    said = []
    claims = claims_of(container, policy, lambda level, text: said.append((level, text)))
    return names_and_records(claims), said


def test_default_publishes_every_address_as_a_and_aaaa():
    claims, said = collect(info())
    assert claims == [("web1.docker.test.", (("A", "10.1.0.2"), ("A", "10.9.0.2"), ("AAAA", "fd00:d0c::2")), 60)]
    assert said == []


def test_reverse_zone_adds_ptr_only_for_addresses_inside_it():
    claims, _ = collect(info(), RecordPolicy(ZONE, 60, reverse_zones=(REV4,)))
    assert ("2.0.1.10.in-addr.arpa.", (("PTR", "web1.docker.test."),), 60) in claims
    assert not any(name.startswith("2.0.9.10") for name, _, _ in claims)


def test_network_filter_and_label():
    claims, _ = collect(info(), RecordPolicy(ZONE, 60, networks=frozenset({"back"})))
    assert claims[0][1] == (("A", "10.9.0.2"),)
    claims, _ = collect(info(labels={"dockernet.network": "bridge"}), RecordPolicy(ZONE, 60, networks=frozenset({"back"})))
    assert claims[0][1] == (("A", "10.1.0.2"), ("AAAA", "fd00:d0c::2"))
    claims, said = collect(info(labels={"dockernet.network": "nowhere"}))
    assert claims == [] and "has no address on nowhere" in said[0][1]


@pytest.mark.parametrize("labels, names, ttl, remark", [
    ({"dockernet.name": "api"}, ["api.docker.test."], 60, ""),
    ({"dockernet.aliases": "a, b,,a"}, ["web1.docker.test.", "a.docker.test.", "b.docker.test."], 60, ""),
    ({"dockernet.ttl": "30"}, ["web1.docker.test."], 30, ""),
    ({"dockernet.ttl": "-1"}, ["web1.docker.test."], 60, "ignoring dockernet.ttl='-1'"),
    ({"dockernet.ttl": "soon"}, ["web1.docker.test."], 60, "ignoring dockernet.ttl='soon'"),
    ({"dockernet.enable": "false"}, [], None, "dockernet.enable=false: not published"),
    ({"dockernet.enable": "true"}, ["web1.docker.test."], 60, ""),
    ({"dockernet.name": "bad_name!"}, [], None, "not a valid DNS label"),
    ({"dockernet.aliases": "ok,x.other.test"}, ["web1.docker.test.", "ok.docker.test."], 60, "outside the zone"),
])
def test_labels(labels, names, ttl, remark):
    claims, said = collect(info(labels=labels, networks=(("bridge", "10.1.0.2"),)))
    assert [name for name, _, _ in claims] == names
    if ttl is not None:
        assert {claim_ttl for _, _, claim_ttl in claims} == {ttl}
    if remark:
        assert any(remark in text for _, text in said), said
    else:
        assert not any(level >= logging.WARNING for level, _ in said)


def test_stopped_container_claims_nothing():
    assert collect(info(running=False)) == ([], [])

"""What a container asks to publish: names, records, labels, networks, PTR (pure)."""

import logging

import dns.name

from dockernet.engine.model import ContainerInfo
from dockernet.publish.claims import RecordPolicy, claims_of

ZONE = dns.name.from_text("docker.test")
REV4 = dns.name.from_text("1.10.in-addr.arpa")
CID = "c" * 64


def info(
    labels=None,
    networks=(("bridge", "10.1.0.2"), ("bridge", "fd00:d0c::2"), ("back", "10.9.0.2")),
    hostname="web1",
    running=True,
):
    return ContainerInfo(
        CID,
        "web",
        hostname,
        running,
        "2026-01-01",
        tuple(sorted({a for _, a in networks})),
        labels or {},
        42,
        tuple(networks),
    )


def names_and_records(claims):
    return [(claim.fqdn.to_text(), claim.records, claim.ttl) for claim in claims]


PLAIN = RecordPolicy(ZONE, 60)


def collect(container, policy=PLAIN):
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
    claims, _ = collect(info(labels={"dockernet.network": "bridge"}))  # no --network: the label chooses
    assert claims[0][1] == (("A", "10.1.0.2"), ("AAAA", "fd00:d0c::2"))
    claims, said = collect(info(labels={"dockernet.network": "nowhere"}))
    assert claims == [] and "has no address on nowhere" in said[0][1]


def test_network_label_only_narrows_what_the_operator_allows():
    allowed = RecordPolicy(ZONE, 60, networks=frozenset({"back", "bridge"}))
    claims, _ = collect(info(labels={"dockernet.network": "bridge"}), allowed)
    assert claims[0][1] == (("A", "10.1.0.2"), ("AAAA", "fd00:d0c::2"))
    claims, said = collect(
        info(labels={"dockernet.network": "bridge"}), RecordPolicy(ZONE, 60, networks=frozenset({"back"}))
    )
    assert claims == []
    assert said == [
        (
            logging.WARNING,
            "Container (cccccccccccc) asks for dockernet.network='bridge', which --network "
            "does not allow; nothing to publish",
        )
    ]


def aliases(count, prefix="a"):
    return ",".join(f"{prefix}{n}" for n in range(count))


def test_names_per_container_are_bounded_and_said_once():
    claims, said = collect(info(labels={"dockernet.aliases": aliases(100)}), RecordPolicy(ZONE, 60, max_names=5))
    assert [name for name, _, _ in claims] == [
        "web1.docker.test.",
        "a0.docker.test.",
        "a1.docker.test.",
        "a2.docker.test.",
        "a3.docker.test.",
    ]
    assert said == [
        (
            logging.WARNING,
            "Container (cccccccccccc) asks for more than 5 names; publishing the first 5 (--max-names-per-container)",
        )
    ]


def test_invalid_names_count_against_the_bound():
    """Ten thousand invalid aliases cost no more than the bound: a few remarks, not one per alias."""
    claims, said = collect(
        info(labels={"dockernet.aliases": aliases(10000, "bad!")}), RecordPolicy(ZONE, 60, max_names=4)
    )
    assert [name for name, _, _ in claims] == ["web1.docker.test."]
    assert len(said) == 4 and "more than 4 names" in said[-1][1]


def test_srv_names_count_against_the_bound():
    ports = tuple((port, "tcp", 8000 + port) for port in range(1, 11))
    container = ContainerInfo(
        CID,
        "web",
        "web1",
        True,
        "2026-01-01",
        ("10.1.0.2",),
        {"dockernet.srv": "true"},
        42,
        (("bridge", "10.1.0.2"),),
        ports=ports,
    )
    claims, said = collect(container, RecordPolicy(ZONE, 60, max_names=4))
    assert [name for name, _, _ in claims] == [
        "web1.docker.test.",
        "_1._tcp.web1.docker.test.",
        "_10._tcp.web1.docker.test.",
        "_2._tcp.web1.docker.test.",
    ]
    assert "more than 4 names" in said[-1][1]


def test_claims_of_many_aliases_compares_each_name_a_bounded_number_of_times(monkeypatch):
    """Linear, counted rather than timed: comparing every new name with every earlier one took minutes at 10,000."""
    compared = []
    for method in ("__eq__", "__ne__"):
        original = getattr(dns.name.Name, method)
        monkeypatch.setattr(
            dns.name.Name, method, lambda self, other, original=original: compared.append(1) or original(self, other)
        )
    count = 2000
    claims = claims_of(
        info(labels={"dockernet.aliases": aliases(count)}), RecordPolicy(ZONE, 60, max_names=count + 1), lambda *_: None
    )
    assert len(claims) == count + 1
    assert len(compared) < 10 * count


def test_blank_alias_entries_are_skipped_by_the_regex_engine_not_one_by_one():
    """A megabyte of ' ,' took a quarter second per event in Python; entries of spaces are never matched now."""
    from dockernet.publish.claims import _ALIAS

    assert _ALIAS.findall(" ," * 1000 + " a ,b") == ["a ", "b"]
    claims, said = collect(info(labels={"dockernet.aliases": " ," * 500_000 + "api"}))
    assert [name for name, _, _ in claims] == ["web1.docker.test.", "api.docker.test."] and said == []

import dns.name
import pytest

from dockernet.naming import record_name, repair_label, source_name

ZONE = dns.name.from_text("docker.test")
CID = "8311c4c09153" + "0" * 52


@pytest.mark.parametrize(
    "hostname, name, expected, note_part",
    [
        ("web1", "c1", "web1.docker.test.", ""),
        ("WEB1", "c1", "web1.docker.test.", "made a valid"),
        (CID[:12], "proj_web_1", "proj-web-1.docker.test.", "made a valid"),
        ("", "/db", "db.docker.test.", ""),
        ("web1.docker.test", "c1", "web1.docker.test.", ""),
        ("web1.docker.test.", "c1", "web1.docker.test.", ""),
        ("a.b.docker.test", "c1", "a.b.docker.test.", ""),
        ("web1.other.test", "c1", None, "outside the zone"),
        ("web1.fooocker.test", "c1", None, "outside the zone"),
        ("web1.xdocker.test", "c1", None, "outside the zone"),
        ("docker.test", "c1", None, "outside the zone"),
        ("-web", "c1", None, "not a valid DNS label"),
        ("web-", "c1", None, "not a valid DNS label"),
        ("_web", "c1", None, "not a valid DNS label"),
        ("x" * 63, "c1", "x" * 63 + ".docker.test.", ""),
        ("x" * 64, "c1", None, "not a valid DNS label"),
        ("we b", "c1", None, "not a valid DNS label"),
        ("web..x", "c1", None, "not a valid DNS label"),
        ("caf\u00e9", "c1", None, "not a valid DNS label"),
    ],
)
def test_record_name_table(hostname, name, expected, note_part):
    decision = record_name(hostname, name, CID, ZONE)
    if expected is None:
        assert decision.fqdn is None and decision.skipped
    else:
        assert decision.fqdn == dns.name.from_text(expected)
    assert note_part in decision.note
    if not note_part:
        assert decision.note == ""


def test_zone_membership_is_decided_on_label_boundaries_not_suffix():
    zone = dns.name.from_text("example.com")
    assert record_name("a.fooexample.com", "c", CID, zone).skipped
    assert record_name("a.example.com", "c", CID, zone).fqdn == dns.name.from_text("a.example.com")


def test_default_hostname_falls_back_to_container_name():
    assert source_name(CID[:12], "/proj_web_1", CID) == "proj_web_1"
    assert source_name("web1", "/proj_web_1", CID) == "web1"


@pytest.mark.parametrize("label, repaired", [("a_b", "a-b"), ("Ab", "ab"), ("a.b", None), ("", None), ("a" * 64, None), ("1a", "1a")])
def test_repair_label(label, repaired):
    assert repair_label(label) == repaired


def test_overlong_name_is_skipped():
    zone = dns.name.from_text("docker.test")
    long_name = ".".join(["a" * 60] * 4) + ".docker.test"
    decision = record_name(long_name, "c", CID, zone)
    assert decision.skipped

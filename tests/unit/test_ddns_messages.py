"""The UPDATE messages, pinned as text: prerequisites and updates in RFC 2136 terms."""

from pathlib import Path

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest

from dockernet.ddns import DnsTarget, build_probe, build_update, rejection_for_rcode, tsig_rejection
from dockernet.errors import DnsRejected, DnsTransient
from dockernet.publish.plan import Claim, Create, Delete, Foreign, Owned, Replace
from dockernet.publish.registry import classify_name
from dockernet.rfc2136.tsigkey import parse_key_text

GOLDEN = Path(__file__).parent / "golden"
ZONE = dns.name.from_text("docker.test")
WEB = dns.name.from_text("web1.docker.test")
KEY = parse_key_text('key "ddns-key" { algorithm hmac-sha256; secret "MDEyMzQ1Njc4OWFiY2RlZg=="; };')
TARGET = DnsTarget("127.0.0.1", 53, ZONE, KEY, "host-a")
NEW = Claim(WEB, "b" * 64, (("A", "10.1.0.2"), ("A", "10.1.0.7"), ("AAAA", "fd00:d0c::2")), 60)
OLD = Owned("a" * 12, (("A", "10.1.0.5"),), 60)


def pinned_text(change):
    # unsigned: the TSIG record carries the random original id and a time
    message = build_update(change, DnsTarget("127.0.0.1", 53, ZONE, None, "host-a"))
    message.id = 4242
    return message.to_text() + "\n"


@pytest.mark.parametrize(
    "change, golden",
    [
        (Create(WEB, NEW), "update_create.txt"),
        (Replace(WEB, OLD, NEW), "update_replace.txt"),
        (Delete(WEB, OLD), "update_delete.txt"),
    ],
)
def test_update_messages_match_golden(change, golden):
    assert pinned_text(change) == (GOLDEN / golden).read_text()


def test_updates_are_built_unsigned_and_signed_as_they_leave():
    # transport.exchange signs with the key its signer gives at that moment (tests/unit/test_kerberos.py)
    message = build_update(Create(WEB, NEW), TARGET)
    assert message.keyname is None and message.tsig is None


def test_probe_deletes_a_record_that_is_not_there_behind_a_prerequisite_that_cannot_hold():
    """An UPDATE judged as a real one (BIND checks update-policy on update records, not on prerequisites), at the
    owner's lease name, which changes nothing even where the prerequisite were skipped."""
    probe = build_probe(TARGET)
    (prereq,) = probe.prerequisite
    (update,) = probe.update
    assert prereq.name == update.name == dns.name.from_text("host-a._owner._dockernet.docker.test")
    # the prerequisite asks that this very TXT already exists: it cannot, and the update deletes only it
    assert prereq.rdtype == update.rdtype == dns.rdatatype.TXT and prereq[0] == update[0]
    assert update.deleting == dns.rdataclass.NONE  # delete this one record (RFC 2136 2.5.4), not the RRset
    assert "dockernet-probe-" in update[0].to_text()
    assert build_probe(TARGET).update[0][0] != update[0]  # a fresh value each time


def test_probe_of_a_reverse_zone_uses_a_fresh_name_under_it():
    reverse = dns.name.from_text("1.10.in-addr.arpa")
    probe = build_probe(TARGET, reverse)
    (update,) = probe.update
    assert update.name.parent() == reverse and update.name.labels[0].startswith(b"dockernet-probe-")


@pytest.mark.parametrize(
    "texts, owner, expected",
    [
        (["heritage=dockernet,owner=host-a,container=aaaaaaaaaaaa"], "host-a", Owned("a" * 12, (), 0)),
        (["heritage=dockernet,owner=host-b,container=aaaaaaaaaaaa"], "host-a", Foreign("host-b")),
        ([], "host-a", Foreign("")),
        (["v=spf1 -all"], "host-a", Foreign("")),
        (["heritage=dockernet,owner=host-a,container=aaaaaaaaaaaa", "hand-added"], "host-a", Foreign("")),
    ],
)
def test_classify_name(texts, owner, expected):
    assert classify_name(texts, owner) == expected


@pytest.mark.parametrize(
    "rcode, kind, words",
    [
        (dns.rcode.REFUSED, DnsRejected, ["REFUSED", "allow-update", 'key "ddns-key"']),
        (dns.rcode.NOTAUTH, DnsRejected, ["NOTAUTH", "not authoritative", "key 'ddns-key'"]),
        (dns.rcode.NOTZONE, DnsRejected, ["NOTZONE"]),
        (dns.rcode.SERVFAIL, DnsTransient, ["SERVFAIL"]),
        (dns.rcode.FORMERR, DnsRejected, ["FORMERR"]),
    ],
)
def test_rcodes_are_reported_by_meaning(rcode, kind, words):
    error = rejection_for_rcode(rcode, TARGET)
    assert isinstance(error, kind)
    for word in words:
        assert word in str(error)


@pytest.mark.parametrize(
    "exc, code",
    [
        (dns.tsig.PeerBadKey(), "BADKEY"),
        (dns.tsig.PeerBadSignature(), "BADSIG"),
        (dns.tsig.PeerBadTime(), "BADTIME"),
    ],
)
def test_tsig_errors_name_the_key_and_the_error(exc, code):
    error = tsig_rejection(exc, TARGET)
    assert error.code == code and code in str(error) and "'ddns-key'" in str(error)
    assert "MDEyMzQ1Njc4OWFiY2RlZg" not in str(error)


def test_nsupdate_rendering_of_each_change():
    from dockernet.ddns import Nameserver
    from dockernet.host.dnstools import render_nsupdate

    text = render_nsupdate([Create(WEB, NEW), Delete(WEB, OLD)], Nameserver(TARGET))
    assert text == (
        "server 127.0.0.1 53\n"
        "zone docker.test.\n"
        "prereq nxdomain web1.docker.test.\n"
        "update add web1.docker.test. 60 A 10.1.0.2\n"
        "update add web1.docker.test. 60 A 10.1.0.7\n"
        "update add web1.docker.test. 60 AAAA fd00:d0c::2\n"
        'update add web1.docker.test. 60 TXT "heritage=dockernet,owner=host-a,container=bbbbbbbbbbbb"\n'
        "send\n"
        "zone docker.test.\n"
        'prereq yxrrset web1.docker.test. TXT "heritage=dockernet,owner=host-a,container=aaaaaaaaaaaa"\n'
        "update delete web1.docker.test. A\n"
        "update delete web1.docker.test. TXT\n"
        "send\n"
    )

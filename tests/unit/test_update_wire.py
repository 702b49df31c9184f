"""``rfc2136.wire``: a batch rendered straight to wire says what dnspython's message for the same changes says."""

import dns.message
import dns.name
import dns.opcode
import pytest

from dockernet.ddns import DnsTarget
from dockernet.publish.plan import Claim, Create, Delete, Owned, Replace
from dockernet.rfc2136.messages import add_change, new_update
from dockernet.rfc2136.wire import MESSAGE_LIMIT, pack

ZONE = dns.name.from_text("docker.test")
REVERSE = dns.name.from_text("1.10.in-addr.arpa")
OWNER = "owner-" + "o" * 40


def name(text, zone=ZONE):
    return dns.name.from_text(text, zone)


def claim(fqdn, cid, *records):
    return Claim(fqdn, cid * 64, tuple(sorted(records)), 60)


def reference(changes, zone=ZONE, owner="host-a"):
    """The same changes as dnspython builds them (what single changes are still sent as)."""
    target = DnsTarget("127.0.0.1", 53, ZONE, None, owner)
    message = new_update(target, zone)
    for change in changes:
        add_change(message, change, target)
    return message


def sections(message, keyring=None):
    """The zone, prerequisite and update sections as a receiver reads them (parsed from the wire), TTLs too."""
    wire = message if isinstance(message, bytes) else message.to_wire()
    parsed = dns.message.from_wire(wire, keyring=keyring)
    return [[rrset.to_text() for rrset in section] for section in (parsed.zone, parsed.prerequisite, parsed.update)]


MIXED = [
    Create(name("web1"), claim(name("web1"), "a", ("A", "10.1.0.2"), ("A", "10.1.0.7"), ("AAAA", "fd00:d0c::2"))),
    Replace(name("web2"), Owned("b" * 12, (("A", "10.1.0.5"),), 60), claim(name("web2"), "c", ("A", "10.1.0.9"))),
    Delete(name("gone"), Owned("d" * 12, (("A", "10.1.0.3"), ("AAAA", "fd00:d0c::3")), 60)),
    Create(name("_http._tcp.web1"), claim(name("_http._tcp.web1"), "a", ("SRV", "0 0 80 web1.docker.test."))),
    Create(ZONE, claim(ZONE, "e", ("A", "10.1.0.10"))),  # the zone's apex: a bare pointer
]


def test_a_batch_parses_to_the_very_sections_dnspython_builds():
    (batch,) = pack(ZONE, MIXED, "host-a", most=200)
    parsed = dns.message.from_wire(batch.wire)
    assert parsed.opcode() == dns.opcode.UPDATE and parsed.flags & 0x8000 == 0 and not parsed.additional
    assert batch.changes == tuple(MIXED)
    assert sections(batch.wire) == sections(reference(MIXED))


def test_reverse_zone_batches_carry_ptr_records_and_names_outside_the_zone_in_their_data():
    changes = [
        Create(name(f"{n}.0", REVERSE), claim(name(f"{n}.0", REVERSE), "f", ("PTR", f"web{n}.docker.test.")))
        for n in range(2, 6)
    ]
    (batch,) = pack(REVERSE, changes, "host-a", most=200)
    assert sections(batch.wire) == sections(reference(changes, REVERSE))


def test_names_are_compressed_against_the_zone_and_their_first_use():
    change = MIXED[1]  # a Replace: its name appears in the prerequisite, 3 deletes and 2 adds
    (batch,) = pack(ZONE, [change], "host-a", most=200)
    # written once in full (label "web2" and a pointer to the zone), then six 2-octet pointers
    assert batch.wire.count(b"\x04web2") == 1
    assert len(batch.wire) <= len(reference([change]).to_wire())


def test_names_are_in_the_zone_whatever_the_case_and_one_outside_it_is_left_to_the_server():
    """--zone Docker.Test holds web1.docker.test (names compare without case); a name outside the zone is written
    whole, so the server answers NOTZONE for its batch alone, as for any message."""
    mixed = dns.name.from_text("Docker.Test")
    outside = dns.name.from_text("web.elsewhere.test")
    changes = [MIXED[0], Create(outside, claim(outside, "a", ("A", "10.1.0.2")))]
    (batch,) = pack(mixed, changes, "host-a", most=200)

    def folded(message):  # dnspython compresses without case too: "test" may come back as "Test"
        return [[text.lower() for text in section] for section in sections(message)]

    assert folded(batch.wire) == folded(reference(changes, mixed))
    assert batch.wire.count(b"\x03web\x09elsewhere\x04test\x00") == 1


def long_replacements(count):
    changes = []
    for n in range(count):
        fqdn = name(f"{n:03d}" + "x" * 60)
        records = (("A", f"10.1.{n % 256}.2"), ("A", f"10.2.{n % 256}.2"), ("AAAA", f"fd00:d0c::{n:x}"))
        changes.append(Replace(fqdn, Owned("b" * 12, records, 60), claim(fqdn, "c", *records)))
    return changes


def test_batches_are_cut_at_the_message_limit_and_every_pointer_still_reaches():
    """200 replacements of 63-octet labels with three addresses each are over 64 KiB: two messages, each
    under the limit; names written past the 14-bit pointer's reach are written in full, and all parse."""
    changes = long_replacements(200)
    batches = pack(ZONE, changes, OWNER, most=200)
    assert len(batches) == 2 and all(len(batch.wire) <= MESSAGE_LIMIT for batch in batches)
    assert [change for batch in batches for change in batch.changes] == changes
    for batch in batches:
        assert sections(batch.wire) == sections(reference(batch.changes, owner=OWNER))


def test_at_most_most_changes_go_in_one_message():
    batches = pack(ZONE, long_replacements(5), "host-a", most=2)
    assert [len(batch.changes) for batch in batches] == [2, 2, 1]


def test_a_change_larger_than_the_limit_gets_a_message_of_its_own():
    changes = long_replacements(3)
    batches = pack(ZONE, changes, "host-a", most=200, limit=100)
    assert [batch.changes for batch in batches] == [(change,) for change in changes]


def test_a_packed_update_is_signed_as_dnspython_signs_and_verifies_with_the_key():
    import dns.tsig

    from dockernet.rfc2136.transport import sign_wire
    from dockernet.rfc2136.tsigkey import parse_key_text

    key = parse_key_text('key "ddns-key" { algorithm hmac-sha256; secret "MDEyMzQ1Njc4OWFiY2RlZg=="; };')
    (batch,) = pack(ZONE, MIXED, "host-a", most=200)
    signed, mac = sign_wire(batch.wire, key.key_for(None))
    parsed = dns.message.from_wire(signed, keyring=key.key_for(None))  # raises unless the MAC verifies
    assert parsed.had_tsig and parsed.mac == mac and parsed.keyname == dns.name.from_text("ddns-key")
    assert sections(signed, keyring=key.key_for(None)) == sections(batch.wire)
    tampered = signed[:20] + bytes([signed[20] ^ 1]) + signed[21:]
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(tampered, keyring=key.key_for(None))

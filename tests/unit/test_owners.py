"""Owner ids across a fleet: the lease as a compare-and-swap, names held by others watched and taken when freed.

The lease tests run against a TXT store that applies an UPDATE's
prerequisites as RFC 2136 says (all hold, or nothing changes); the
blocked-name tests against the in-memory zone of test_reconcile.
"""

import logging

import dns.name
import dns.rdataclass
import dns.rdatatype
import pytest

from dockernet.ddns import DnsTarget, Outcome
from dockernet.engine import _tls_reason
from dockernet.errors import DnsRejected, DnsTransient, OwnerCollision
from dockernet.owners import Lease, LeaseKeeper, is_lease_name, lease_name, parse_lease
from dockernet.plan import Foreign, Owned
from dockernet.primary import split_host_port
from tests.unit.test_reconcile import ZONE, Clock, InMemoryZone, container, make, name


class TxtStore:
    """Only TXT RRsets, with the prerequisites dockernet's lease UPDATEs use (name not in use, RRset equals)."""

    def __init__(self):
        self.target = DnsTarget("127.0.0.1", 53, ZONE, None, "host-a")
        self.txt: dict[dns.name.Name, list[str]] = {}
        self.refuse_lease = False
        self.down = False

    def read_txt(self, fqdn):
        if self.down:
            raise DnsTransient("no answer")
        return list(self.txt[fqdn]) if fqdn in self.txt else None

    def probe_zone(self, zone):
        if self.down:
            raise DnsTransient("no answer")

    def send_message(self, message):
        if self.down:
            raise DnsTransient("no answer")
        if self.refuse_lease:
            raise DnsRejected("refused", code="REFUSED")
        for rrset in message.prerequisite:
            held = self.txt.get(rrset.name)
            if rrset.deleting == dns.rdataclass.NONE:  # "name is not in use"
                if held is not None:
                    return Outcome.CONFLICT
            elif sorted(held or []) != sorted(
                    b"".join(rdata.strings).decode() for rdata in rrset):
                return Outcome.CONFLICT
        for rrset in message.update:
            if rrset.deleting == dns.rdataclass.ANY:
                self.txt.pop(rrset.name, None)
            elif rrset.rdtype == dns.rdatatype.TXT:
                self.txt.setdefault(rrset.name, []).extend(b"".join(r.strings).decode() for r in rrset)
        return Outcome.APPLIED


def keeper(store, engine="ENGINE:A", take_over=False, clock=None):
    clock = clock or Clock()
    return LeaseKeeper(lambda: store, "web1", lambda: (engine, "host-a"), interval=60, take_over=take_over,
                       clock=clock), clock


def test_a_lease_reads_back_as_written_and_nothing_else_parses():
    lease = Lease("web.1", "ABCD:EFGH", "host-a", 1700000000, 60)
    assert parse_lease(lease.text()) == lease
    assert parse_lease(lease.text() + "\n") is None
    assert parse_lease(lease.text() + ",extra=1") is None
    assert parse_lease(lease.text().replace("ABCD", "AB CD")) is None


def test_the_lease_name_is_one_label_per_owner_below_labels_no_container_can_take():
    owner_name = lease_name("web.1", ZONE)
    assert owner_name.labels[0] == b"web.1" and len(owner_name) == len(ZONE) + 3
    assert is_lease_name(owner_name, ZONE) and not is_lease_name(name("web1"), ZONE)


def test_the_first_claim_creates_the_lease_and_renewals_swap_it():
    store = TxtStore()
    lease, clock = keeper(store)
    lease.hold()
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).engine == "ENGINE:A"
    assert lease.due_in() == 60
    clock.now += 60
    lease.hold()
    (text,) = store.txt[lease_name("web1", ZONE)]  # replaced, not added to
    assert parse_lease(text).seen == 160


def test_another_engine_under_the_same_owner_id_is_refused_naming_both():
    store = TxtStore()
    first, _ = keeper(store, "ENGINE:A")
    first.hold()
    second, _ = keeper(store, "ENGINE:B")
    with pytest.raises(OwnerCollision) as refused:
        second.hold()
    assert "ENGINE:A" in str(refused.value) and "ENGINE:B" in str(refused.value)
    assert not second.held


def test_take_over_waits_until_the_other_engine_stopped_renewing():
    store = TxtStore()
    first, clock = keeper(store, "ENGINE:A")
    first.hold()
    second, _ = keeper(store, "ENGINE:B", take_over=True, clock=clock)
    with pytest.raises(OwnerCollision, match="its watcher is running"):
        second.hold()
    clock.now += 181  # three intervals without a renewal
    second.hold()
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).engine == "ENGINE:B"
    clock.now += 60  # the old engine wakes up and renews: it finds the lease taken, and says so
    with pytest.raises(OwnerCollision, match="was taken over by engine ENGINE:B"):
        first.hold()


def test_a_renewal_whose_answer_was_lost_is_not_mistaken_for_a_take_over():
    store = TxtStore()
    lease, clock = keeper(store)
    lease.hold()
    clock.now += 60
    store.down = True
    with pytest.raises(DnsTransient):
        lease.hold()
    store.down = False
    # the server applied someone's change meanwhile: here, our own renewal landed late
    store.txt[lease_name("web1", ZONE)] = [Lease("web1", "ENGINE:A", "host-a", 160, 60).text()]
    clock.now += 1
    lease.hold()  # compare-and-swap fails, the read shows our own engine: renewed, no collision
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).seen == 161


def test_a_server_that_refuses_the_lease_name_turns_detection_off_with_one_warning(caplog):
    store = TxtStore()
    store.refuse_lease = True
    lease, _ = keeper(store)
    with caplog.at_level(logging.WARNING):
        lease.hold()
    assert lease.held and lease.disabled and lease.due_in() == float("inf")
    assert sum("would not be detected" in r.getMessage() for r in caplog.records) == 1


class SerialZone(InMemoryZone):
    def __init__(self):
        super().__init__()
        self.serial_value = 1
        self.lookups = 0

    def serial(self, zone):
        return self.serial_value

    def lookup(self, fqdn):
        self.lookups += 1
        return super().lookup(fqdn)


def test_a_name_held_by_another_owner_is_taken_once_the_serial_moves_and_it_is_free():
    zone = SerialZone()
    rec, _, clock = make(zone)
    zone.names[name("db")] = Foreign("host-b")
    assert rec.container_changed("a" * 64, container("a", "db"))
    assert rec.blocked == {name("db"): Foreign("host-b")} and rec.blocked_due_in() == 0.0
    rec.check_blocked()  # first look: the serial is new to it, so the name is looked at
    assert name("db") in rec.blocked
    looked = zone.lookups
    clock.now += 0.25
    rec.check_blocked()  # serial unchanged, the name's own backoff not up: no look-up at all
    assert zone.lookups == looked
    del zone.names[name("db")]  # the other host's container stopped
    zone.serial_value += 1
    clock.now += 0.25
    rec.check_blocked()
    assert zone.names[name("db")] == Owned("a" * 12, (("A", "10.1.0.2"),), 60)
    assert not rec.blocked and rec.blocked_due_in() is None


def test_a_blocked_name_is_looked_at_with_backoff_even_when_the_serial_never_moves():
    zone = SerialZone()
    rec, _, clock = make(zone)
    zone.names[name("db")] = Foreign("")  # a hand-made record: watched, never overwritten
    rec.container_changed("a" * 64, container("a", "db"))
    rec.check_blocked()
    looks = []
    for _ in range(40):
        clock.now += 0.25
        before = zone.lookups
        rec.check_blocked()
        looks.append(zone.lookups - before)
    assert sum(looks) == 3  # after 1 s, 2 s and 4 s: the serial did not move, the backoff did
    assert zone.names[name("db")] == Foreign("")


@pytest.mark.parametrize("text, host, port", [
    ("ns1.example.net", "ns1.example.net", 53), ("10.0.0.1:5353", "10.0.0.1", 5353),
    ("[fd00::1]:5300", "fd00::1", 5300), ("fd00::1", "fd00::1", 53),
])
def test_primary_host_and_port(text, host, port):
    assert split_host_port(text, 53) == (host, port)


def test_a_tls_failure_is_told_by_what_the_handshake_said():
    text = ("HTTPSConnectionPool(host='127.0.0.1', port=2376): Max retries exceeded (Caused by SSLError("
            "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
            "local issuer certificate (_ssl.c:1006)')))")
    assert _tls_reason(Exception(text)) == "certificate verify failed: unable to get local issuer certificate"
    assert _tls_reason(Exception("Connection refused")) is None

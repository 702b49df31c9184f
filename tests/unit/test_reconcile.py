"""Reconciler logic against an in-memory zone that applies RFC 2136 prerequisites.

These are unit tests of the planning and retry logic; the real exchange with
named is covered in tests/integration.
"""

import dns.name

from dockernet.ddns import DnsTarget
from dockernet.engine.model import ContainerInfo
from dockernet.publish.claims import RecordPolicy
from dockernet.publish.plan import Create, Delete, Foreign, Owned, Replace
from dockernet.sync.claimindex import ClaimIndex
from dockernet.sync.reconciler import Reconciler
from tests.support import ZONE, Clock, InMemoryZone, container, name
from tests.support import make_reconciler as make


def test_event_touches_only_that_containers_names():
    rec, zone, _ = make()
    rec.full([container(c, f"c{c}") for c in "abcdef"])
    zone.sent.clear()
    rec.container_changed("a" * 64, container("a", "ca", "10.1.0.9"))
    assert [change.fqdn for change in zone.sent] == [name("ca")]
    assert zone.names[name("ca")].records == (("A", "10.1.0.9"),)


def test_changes_made_while_the_server_is_down_are_applied_newest_state_only():
    rec, zone, clock = make()
    zone.down = True
    assert not rec.container_changed("a" * 64, container("a", "web"))
    assert name("web") in rec.pending
    # the container goes and another takes the name while the server is still down
    rec.container_changed("a" * 64, None)
    rec.container_changed("b" * 64, container("b", "web", "10.1.0.3"))
    zone.down = False
    assert rec.retry_due_in() > 0  # backoff, not a busy loop
    clock.now += rec.retry_due_in()
    assert rec.retry_pending()
    assert zone.names[name("web")] == Owned("b" * 12, (("A", "10.1.0.3"),), 60)
    assert [type(change) for change in zone.sent] == [Create]  # no stale create for a, no delete
    # recovered: one full look at the zone follows (a timed-out UPDATE may still land), then nothing
    assert not rec.pending and rec.needs_full and rec.retry_due_in() == 2 * zone.target.timeout
    clock.now += rec.retry_due_in()
    assert rec.full([container("b", "web", "10.1.0.3")])
    assert rec.retry_due_in() is None


def test_backoff_doubles_and_is_capped():
    rec, zone, clock = make()
    zone.down = True
    rec.container_changed("a" * 64, container("a", "web"))
    delays = []
    for _ in range(8):
        delays.append(rec.retry_due_in())
        clock.now += delays[-1]
        rec.retry_pending()
    assert delays[0] == 0.5 and delays[1] == 1.0 and delays[2] == 2.0
    assert max(delays) == rec.retries.retry_cap


def test_record_of_ours_left_by_an_old_container_is_replaced_after_a_conflict():
    zone = InMemoryZone(transfer_allowed=False)
    zone.names[name("web")] = Owned("0" * 12, (("A", "10.1.0.99"),), 60)  # a crashed run's record
    rec, zone, _ = make(zone)
    assert rec.container_changed("a" * 64, container("a", "web"))
    assert zone.names[name("web")] == Owned("a" * 12, (("A", "10.1.0.2"),), 60)
    assert [type(change) for change in zone.sent] == [Create, Replace]


def test_foreign_record_is_never_changed():
    zone = InMemoryZone(transfer_allowed=False)
    zone.names[name("hand")] = Foreign("")
    zone.names[name("other")] = Foreign("host-b")
    rec, zone, _ = make(zone)
    rec.container_changed("a" * 64, container("a", "hand"))
    rec.container_changed("b" * 64, container("b", "other"))
    rec.container_changed("a" * 64, None)
    assert zone.names[name("hand")] == Foreign("") and zone.names[name("other")] == Foreign("host-b")
    assert all(not isinstance(change, (Replace, Delete)) for change in zone.sent)


def test_full_reconcile_with_transfer_removes_stale_records_of_ours_only():
    zone = InMemoryZone()
    zone.names[name("gone")] = Owned("0" * 12, (("A", "10.1.0.50"),), 60)
    zone.names[name("hand")] = Foreign("")
    rec, zone, _ = make(zone)
    assert rec.full([container("a", "web")])
    assert set(zone.names) == {name("web"), name("hand")}


def test_collision_second_container_takes_the_name_when_the_holder_stops():
    rec, zone, _ = make()
    rec.container_changed("b" * 64, container("b", "web", "10.1.0.3", created="2026-02-01"))
    rec.container_changed("a" * 64, container("a", "web", "10.1.0.2", created="2026-01-01"))
    assert zone.names[name("web")].short_id == "b" * 12  # the holder keeps it, though a is older
    rec.container_changed("b" * 64, None)
    assert zone.names[name("web")] == Owned("a" * 12, (("A", "10.1.0.2"),), 60)


def test_claim_index_reports_old_and_new_names():
    index = ClaimIndex()
    rec, _, _ = make()
    assert index.set_container("a", rec._claims_of(container("a", "one"))) == {name("one")}
    assert index.set_container("a", rec._claims_of(container("a", "two"))) == {name("one"), name("two")}
    assert index.claims_for(name("one")) == []
    assert index.set_container("a", []) == {name("two")}
    assert index.names() == set()


def test_claim_index_gives_one_containers_claims_back():
    index = ClaimIndex()
    rec, _, _ = make()
    claims = rec._claims_of(container("a", "one"))
    index.set_container("a" * 64, claims)
    index.set_container("b" * 64, rec._claims_of(container("b", "one", "10.1.0.3")))
    assert index.claims_of_container("a" * 64) == claims
    assert index.claims_of_container("c" * 64) == []


def test_full_reconcile_batches_and_falls_back_to_names_when_one_prerequisite_fails():
    zone = InMemoryZone(transfer_allowed=False)
    rec, zone, _ = make(zone)
    real_lookup = zone.lookup
    seen = []

    def lookup_then_a_person_adds_c3(fqdn):
        seen.append(fqdn)
        answer = real_lookup(fqdn)
        if len(seen) == 4:
            zone.names[name("c3")] = Foreign("")  # a person adds c3 right after the watcher looked
        return answer

    zone.lookup = lookup_then_a_person_adds_c3
    assert rec.full([container(c, f"c{c}") for c in "0123"]) is True
    assert len(zone.batches) == 1 and len(zone.batches[0]) == 4  # one UPDATE tried for all four
    assert zone.names[name("c3")] == Foreign("")  # the batch failed whole: nothing overwritten
    assert {n for n, state in zone.names.items() if isinstance(state, Owned)} == {name("c0"), name("c1"), name("c2")}


def test_full_reconcile_sends_one_update_for_many_new_names():
    rec, zone, _ = make()
    assert rec.full([container(c, f"c{c}") for c in "0123456789"])
    assert len(zone.batches) == 1 and zone.sent == []
    assert len(zone.names) == 10


def test_forward_names_are_sent_before_their_ptr_records():
    from dockernet.publish.plan import forward_first

    ptr = dns.name.from_text("2.0.1.10.in-addr.arpa")
    assert sorted([ptr, name("web")], key=forward_first) == [name("web"), ptr]


def _with_ptr(cid_char, hostname, address, created="2026-01-01"):
    return ContainerInfo(cid_char * 64, hostname, hostname, True, created, (address,), {}, 42, (("bridge", address),))


REV = dns.name.from_text("1.10.in-addr.arpa")


def ptr(address):
    import dns.reversename

    return dns.reversename.from_address(address)


def make_rev(zone=None):
    zone = zone or InMemoryZone()
    zone.target = DnsTarget("127.0.0.1", 53, ZONE, None, "host-a", reverse_zones=(REV,))
    rec = Reconciler(RecordPolicy(ZONE, 60, reverse_zones=(REV,)), zone, clock=Clock())
    return rec, zone


def test_no_ptr_for_a_name_held_by_someone_else():
    zone = InMemoryZone(transfer_allowed=False)
    zone.names[name("hand")] = Foreign("")
    rec, zone = make_rev(zone)
    rec.container_changed("a" * 64, _with_ptr("a", "hand", "10.1.0.2"))
    assert ptr("10.1.0.2") not in zone.names


def test_ptr_follows_its_forward_name_through_a_handover():
    rec, zone = make_rev()
    rec.container_changed("b" * 64, _with_ptr("b", "web", "10.1.0.3", created="2026-02-01"))
    rec.container_changed("a" * 64, _with_ptr("a", "web", "10.1.0.2", created="2026-01-01"))
    assert zone.names[ptr("10.1.0.3")].records == (("PTR", "web.docker.test."),)
    assert ptr("10.1.0.2") not in zone.names  # a waits: b holds web
    rec.container_changed("b" * 64, None)
    assert zone.names[name("web")].short_id == "a" * 12
    assert ptr("10.1.0.3") not in zone.names
    assert zone.names[ptr("10.1.0.2")].records == (("PTR", "web.docker.test."),)  # published right after the handover


def test_preview_plans_ptr_after_forward_and_changes_nothing():
    rec, zone = make_rev()
    changes = rec.preview([_with_ptr("a", "web", "10.1.0.2")])
    assert [c.fqdn for c in changes] == [name("web"), ptr("10.1.0.2")]
    assert rec.current == {} and zone.names == {} and zone.sent == []

"""Owner ids across a fleet: the lease as a compare-and-swap, names held by others watched and taken when freed.

The lease tests run against a TXT store that applies an UPDATE's
prerequisites as RFC 2136 says (all hold, or nothing changes); the
blocked-name tests against the in-memory zone of test_reconcile.
"""

import logging
from dataclasses import replace

import dns.name
import dns.rdataclass
import dns.rdatatype
import pytest

from dockernet.ddns import DnsTarget, Outcome
from dockernet.engine.address import tls_failure_reason
from dockernet.errors import DnsRejected, DnsTransient, OwnerCollision
from dockernet.host.dnstools import _lease_dict, _life
from dockernet.publish.plan import Foreign, Owned
from dockernet.publish.registry import Lease, is_lease_name, lease_name, parse_lease
from dockernet.rfc2136.primary import split_host_port
from dockernet.sync.leaseclaim import (
    BESIDE,
    ENGINE_RUNNING,
    OTHER_ENGINE,
    RUNNING,
    TAKE,
    TAKE_OVER,
    TAKEN,
    claim_verdict,
)
from dockernet.sync.leaseholder import START_SLACK, Process, holder_running, refuse_if_running
from dockernet.sync.leases import LeaseKeeper
from tests.support import ZONE, Clock, InMemoryZone, container, name
from tests.support import make_reconciler as make


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
                    return Outcome.PREREQUISITE_FAILED
            elif sorted(held or []) != sorted(b"".join(rdata.strings).decode() for rdata in rrset):
                return Outcome.PREREQUISITE_FAILED
        for rrset in message.update:
            if rrset.deleting == dns.rdataclass.ANY:
                self.txt.pop(rrset.name, None)
            elif rrset.rdtype == dns.rdatatype.TXT:
                self.txt.setdefault(rrset.name, []).extend(b"".join(r.strings).decode() for r in rrset)
        return Outcome.APPLIED


def keeper(store, engine="ENGINE:A", take_over=False, clock=None):
    clock = clock or Clock()
    return LeaseKeeper(store, "web1", lambda: (engine, "host-a"), interval=60, take_over=take_over, clock=clock), clock


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
    store.txt[lease_name("web1", ZONE)] = [replace(lease.lease, seen=160).text()]
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


# --- telling two processes apart ---------------------------------------------------------------------------

NOW = 1_700_000_000
HERE = Process(4000, "aaaaaaaaaaaa", "here-instance-0001")
#: pid -> when that process started (unix time); a pid not in it runs no process
PROCESSES = {
    1234: NOW - 3600.0,  # the holder: started an hour ago, before it took the lease
    2345: NOW - 10.0,  # a process that got a dead holder's pid again, after that holder took the lease
}


def started_at(pid):
    return PROCESSES.get(pid)


def held_by(
    pid=1234,
    node="aaaaaaaaaaaa",
    instance="them-instance-0001",
    since=NOW - 1800,
    seen=NOW - 5,
    engine="ENGINE:A",
    every=60,
):
    return Lease("web1", engine, "host-a", seen, every, pid, node, instance, since)


OLD_FORMAT = Lease("web1", "ENGINE:A", "host-a", NOW - 5, 60)


@pytest.mark.parametrize(
    "lease, running",
    [
        (held_by(), True),  # this host, the pid runs the process that took the lease
        (held_by(pid=9999), False),  # this host, the pid is gone (a crash, a restart)
        (held_by(pid=2345), False),  # this host, the pid now runs a later process: reused
        (held_by(pid=HERE.pid), False),  # this host, its pid is ours now: an earlier process's
        (held_by(pid=9999, seen=NOW + 10**9), False),
        (held_by(instance=HERE.instance), True),  # our own lease
        (held_by(node="bbbbbbbbbbbb", pid=9999), True),  # another host (or pid namespace): its renewals tell
        (held_by(node="bbbbbbbbbbbb", seen=NOW - 181), False),  # three renewals missed
        (held_by(node="bbbbbbbbbbbb", seen=NOW + 98203422328), False),  # from the future: invalid
        (held_by(node="bbbbbbbbbbbb", seen=NOW + 200), True),  # a clock a little ahead is tolerated
        (held_by(node="", pid=9999), True),  # where pids were unknown: the renewals tell
        (OLD_FORMAT, True),
        (replace(OLD_FORMAT, seen=NOW - 181), False),
        (held_by(pid=0, node="bbbbbbbbbbbb", seen=NOW - 1), False),  # released by its watcher as it stopped
        (held_by(pid=0, seen=NOW - 1), False),
    ],
)
def test_whether_a_leases_holder_runs(lease, running):
    assert holder_running(lease, HERE, NOW, started_at) is running


@pytest.mark.parametrize(
    "current, engine, options, verdict",
    [
        (None, "ENGINE:A", {}, TAKE),
        (held_by(instance=HERE.instance), "ENGINE:A", {}, TAKE),
        (held_by(instance=HERE.instance), "ENGINE:A", {"held": True}, TAKE),  # our renewal's answer was lost
        (None, "ENGINE:A", {"held": True}, TAKE),  # the lease vanished (a zone reloaded): written again
        # this engine, another process
        (held_by(), "ENGINE:A", {}, RUNNING),  # a second watcher: refused
        (held_by(), "ENGINE:A", {"take_over": True}, RUNNING),  # --take-over-owner does not stop a running one
        (held_by(), "ENGINE:A", {"one_shot": True}, BESIDE),  # watch --once, dns sync: run, leave the lease
        (held_by(pid=9999), "ENGINE:A", {}, TAKE),  # its holder crashed or was restarted: free at once
        (held_by(pid=2345), "ENGINE:A", {}, TAKE),  # its pid was reused
        (held_by(node="bbbbbbbbbbbb"), "ENGINE:A", {}, RUNNING),  # from another host, renewed 5 s ago
        (held_by(node="bbbbbbbbbbbb", seen=NOW - 181), "ENGINE:A", {}, TAKE),
        (held_by(node="bbbbbbbbbbbb", seen=NOW + 98203422328), "ENGINE:A", {}, TAKE),
        (OLD_FORMAT, "ENGINE:A", {}, TAKE),  # an earlier dockernet's watcher of this engine: an upgrade's restart
        # at a renewal, anyone else's lease means it was taken
        (held_by(), "ENGINE:A", {"held": True}, TAKEN),
        (held_by(pid=9999), "ENGINE:A", {"held": True}, TAKEN),
        (OLD_FORMAT, "ENGINE:A", {"held": True}, TAKEN),
        (held_by(engine="ENGINE:B"), "ENGINE:A", {"held": True}, TAKEN),
        # another engine
        (held_by(engine="ENGINE:B", pid=9999), "ENGINE:A", {}, OTHER_ENGINE),
        (held_by(engine="ENGINE:B", seen=NOW - 181), "ENGINE:A", {}, OTHER_ENGINE),
        (held_by(engine="ENGINE:B", node="bbbbbbbbbbbb"), "ENGINE:A", {"take_over": True}, ENGINE_RUNNING),
        (held_by(engine="ENGINE:B", node="bbbbbbbbbbbb", seen=NOW - 181), "ENGINE:A", {"take_over": True}, TAKE_OVER),
        (
            held_by(engine="ENGINE:B", node="bbbbbbbbbbbb", seen=NOW + 98203422328),
            "ENGINE:A",
            {"take_over": True},
            TAKE_OVER,
        ),  # a lease from the future does not block --take-over-owner
        (replace(OLD_FORMAT, engine="ENGINE:B", seen=NOW + 98203422328), "ENGINE:A", {"take_over": True}, TAKE_OVER),
        (
            held_by(engine="ENGINE:B", node="bbbbbbbbbbbb", pid=0),
            "ENGINE:A",
            {"take_over": True},
            TAKE_OVER,
        ),  # released
        (held_by(engine="ENGINE:B", node="bbbbbbbbbbbb", pid=0), "ENGINE:A", {}, OTHER_ENGINE),
        (held_by(node="bbbbbbbbbbbb", pid=0), "ENGINE:A", {}, TAKE),
    ],
)
def test_what_a_claim_may_do_with_the_lease_it_read(current, engine, options, verdict):
    options = {"held": False, **options}
    assert claim_verdict(current, engine, HERE, NOW, started_at=started_at, **options) == verdict


@pytest.mark.parametrize(
    "text, lease",
    [
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,seen=1700000000,every=60",
            Lease("web1", "ENGINE:A", "host-a", 1700000000, 60),
        ),  # written by an earlier dockernet
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=1234,node=0123456789ab,"
            "instance=AbC-_123xyz0,since=1699999000,seen=1700000000,every=60",
            Lease("web1", "ENGINE:A", "host-a", 1700000000, 60, 1234, "0123456789ab", "AbC-_123xyz0", 1699999000),
        ),
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=1234,node=,"
            "instance=AbC-_123xyz0,since=1699999000,seen=1700000000,every=60",
            Lease("web1", "ENGINE:A", "host-a", 1700000000, 60, 1234, "", "AbC-_123xyz0", 1699999000),
        ),
        ("heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=1234,seen=1700000000,every=60", None),
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=1234,node=XYZ,"
            "instance=AbC-_123xyz0,since=1699999000,seen=1700000000,every=60",
            None,
        ),
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=1234,node=0123456789ab,"
            "instance=short,since=1699999000,seen=1700000000,every=60",
            None,
        ),
        (
            "heritage=dockernet-lease,owner=web1,engine=ENGINE:A,host=host-a,pid=-1,node=0123456789ab,"
            "instance=AbC-_123xyz0,since=1699999000,seen=1700000000,every=60",
            None,
        ),
    ],
)
def test_leases_of_this_and_of_earlier_versions_parse_and_read_back(text, lease):
    assert parse_lease(text) == lease
    if lease is not None:
        assert lease.text() == text


def test_a_long_lease_is_written_in_strings_of_at_most_255_bytes_and_reads_back_whole():
    store = TxtStore()
    engine = "E" * 100  # an engine ID as long as a lease may hold it
    lease = LeaseKeeper(store, "w" * 63, lambda: (engine, "h" * 63), interval=60, clock=Clock())
    lease.hold()
    (text,) = store.txt[lease_name("w" * 63, ZONE)]
    assert len(text) > 255 and parse_lease(text) == lease.lease
    lease.clock.now += 60
    lease.hold()  # the renewal's prerequisite is the same record: it matches
    assert parse_lease(store.txt[lease_name("w" * 63, ZONE)][0]).seen == 160


def two_keepers(store, processes, first_pid=1234, second_pid=4000, **second):
    """Two processes of one engine on one host under owner id web1; ``processes`` (pid -> start) says which run."""
    clock = Clock()
    first = LeaseKeeper(
        store,
        "web1",
        lambda: ("ENGINE:A", "host-a"),
        interval=60,
        clock=clock,
        process=Process(first_pid, "aaaaaaaaaaaa", "first-instance-01"),
        started_at=processes.get,
    )
    other = LeaseKeeper(
        store,
        "web1",
        lambda: ("ENGINE:A", "host-a"),
        interval=60,
        clock=clock,
        process=Process(second_pid, "aaaaaaaaaaaa", "second-instance-1"),
        started_at=processes.get,
        **second,
    )
    return first, other, clock


def test_a_second_watcher_of_the_same_engine_is_refused_naming_the_first():
    store = TxtStore()
    running = {1234: 50.0}  # the first started before it took the lease (at 100)
    first, second, clock = two_keepers(store, running)
    first.hold()
    clock.now += 30
    with pytest.raises(OwnerCollision) as refused:
        second.hold()
    message = str(refused.value)
    assert "watcher pid 1234" in message and "host-a" in message and "since 1970-01-01 00:01:40 UTC" in message
    assert "this is pid 4000" in message and not second.held
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).instance == "first-instance-01"


def test_a_one_shot_run_next_to_the_running_watcher_leaves_the_lease_to_it():
    store = TxtStore()
    first, once, clock = two_keepers(store, {1234: 50.0})
    first.hold()
    before = store.txt[lease_name("web1", ZONE)]
    once.hold(one_shot=True)
    assert once.held and once.lease is None and store.txt[lease_name("web1", ZONE)] == before
    clock.now += 60
    first.hold()  # the watcher renews as ever
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).seen == 160


@pytest.mark.parametrize("how", ["crashed", "pid reused"])
def test_a_restart_takes_the_lease_of_its_stopped_predecessor_at_once(how):
    store = TxtStore()
    running = {1234: 50.0}
    first, restarted, clock = two_keepers(store, running)
    first.hold()
    del running[1234]
    if how == "pid reused":
        running[1234] = 101.5 + START_SLACK  # a later process got its pid
    clock.now += 1  # well within three intervals
    restarted.hold()
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).instance == "second-instance-1"


def test_a_watcher_whose_lease_another_instance_took_stops_at_its_next_renewal():
    store = TxtStore()
    first, _, clock = two_keepers(store, {})
    first.hold()
    intruder = replace(first.lease, pid=4321, instance="intruder-inst-01", since=120, seen=120)
    store.txt[lease_name("web1", ZONE)] = [intruder.text()]
    clock.now += 30
    first.hold()  # not due yet: nothing read
    clock.now += 30
    with pytest.raises(
        OwnerCollision,
        match="was taken over by engine ENGINE:A on host host-a, watcher pid 4321 "
        r"\(instance intruder-inst-01",
    ):
        first.hold()
    assert store.txt[lease_name("web1", ZONE)] == [intruder.text()]  # and it was left alone


def test_before_deletions_the_lease_is_read_again_and_a_taken_one_stops_them():
    store = TxtStore()
    first, _, _clock = two_keepers(store, {})
    first.hold()
    assert first.confirm()  # still ours
    store.down = True
    assert not first.confirm()  # silence: the deletions wait
    store.down = False
    store.txt[lease_name("web1", ZONE)] = [replace(first.lease, pid=4321, instance="intruder-inst-01").text()]
    with pytest.raises(OwnerCollision, match="was taken over by .*watcher pid 4321"):
        first.confirm()


def test_a_clean_stop_releases_the_lease_only_while_it_is_ours():
    store = TxtStore()
    first, _, clock = two_keepers(store, {})
    first.hold()
    clock.now += 5
    first.release()
    released = parse_lease(store.txt[lease_name("web1", ZONE)][0])
    assert released.released and released.seen == 105 and released.instance == "first-instance-01"
    assert not released.alive(105) and "a watcher that stopped" in released.describe(105)
    assert "released 0 s ago" in released.describe(105)

    again, _, _ = two_keepers(store, {})
    again.hold()
    intruder = replace(again.lease, pid=4321, instance="intruder-inst-01")
    store.txt[lease_name("web1", ZONE)] = [intruder.text()]
    again.release()  # not ours any more: left alone
    assert store.txt[lease_name("web1", ZONE)] == [intruder.text()]


def test_a_lease_from_the_future_is_not_alive_and_is_taken_over_at_once():
    store = TxtStore()
    clock = Clock()
    clock.now = NOW
    future = held_by(engine="ENGINE:B", node="bbbbbbbbbbbb", seen=NOW + 98203422328)
    assert not future.alive(NOW) and future.from_future(NOW)
    assert " ago" not in future.describe(NOW) and "days in the future" in future.describe(NOW)
    store.txt[lease_name("web1", ZONE)] = [future.text()]
    lease, _ = keeper(store, "ENGINE:A", take_over=True, clock=clock)
    lease.hold()
    assert parse_lease(store.txt[lease_name("web1", ZONE)][0]).engine == "ENGINE:A"


@pytest.mark.parametrize(
    "lease, state",
    [
        (
            held_by(node="bbbbbbbbbbbb", seen=NOW + 98203422328),
            "lease invalid; engine ENGINE:A on host host-a, pid 1234, "
            "renewed 1136614 days in the future (a clock set wrong)",
        ),
        (
            held_by(node="bbbbbbbbbbbb", seen=NOW - 5),
            "watcher running; engine ENGINE:A on host host-a, pid 1234, last seen 5 s ago",
        ),
        (
            held_by(node="bbbbbbbbbbbb", seen=NOW + 5),
            "watcher running; engine ENGINE:A on host host-a, pid 1234, last seen 0 s ago",
        ),  # a clock a little ahead
        (replace(OLD_FORMAT, seen=NOW - 7200), "watcher stopped; engine ENGINE:A on host host-a, last seen 2.0 h ago"),
    ],
)
def test_ls_tells_each_leases_state_without_negative_ages(lease, state):
    assert _life(_lease_dict(lease, NOW, HERE), NOW) == state


@pytest.mark.parametrize(
    "lease, engine, refused",
    [
        (None, None, False),
        (held_by(), None, True),  # its pid runs on this host
        (held_by(pid=9999), None, False),
        (held_by(node="bbbbbbbbbbbb"), None, True),  # another host, renewed 5 s ago
        (held_by(node="bbbbbbbbbbbb", seen=NOW - 181), None, False),
        (held_by(node="bbbbbbbbbbbb", seen=NOW + 98203422328), None, False),
        (OLD_FORMAT, None, True),  # an earlier dockernet's, renewed 5 s ago
        (OLD_FORMAT, "ENGINE:A", False),  # ... of this engine: this host under its old name (--adopt-owner)
        (held_by(), "ENGINE:A", True),  # this engine, its watcher still runs
        (held_by(engine="ENGINE:B", node="bbbbbbbbbbbb"), "ENGINE:A", True),
        (held_by(node="bbbbbbbbbbbb", pid=0), None, False),  # its watcher stopped and released it moments ago
    ],
)
def test_purge_and_adoption_of_an_owner_whose_watcher_runs_are_refused(lease, engine, refused):
    if not refused:
        refuse_if_running(lease, HERE, NOW, "purging its records", engine=engine, started_at=started_at)
        return
    with pytest.raises(OwnerCollision, match="that watcher is still running: not purging its records") as caught:
        refuse_if_running(lease, HERE, NOW, "purging its records", engine=engine, started_at=started_at)
    assert "--force" in str(caught.value)


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
    assert rec.blocked.held == {name("db"): Foreign("host-b")} and rec.blocked_due_in() == 0.0
    rec.check_blocked()  # first look: the serial is new to it, so the name is looked at
    assert name("db") in rec.blocked.held
    looked = zone.lookups
    clock.now += 0.25
    rec.check_blocked()  # serial unchanged, the name's own backoff not up: no look-up at all
    assert zone.lookups == looked
    del zone.names[name("db")]  # the other host's container stopped
    zone.serial_value += 1
    clock.now += 0.25
    rec.check_blocked()
    assert zone.names[name("db")] == Owned("a" * 12, (("A", "10.1.0.2"),), 60)
    assert not rec.blocked.held and rec.blocked_due_in() is None


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


@pytest.mark.parametrize(
    "text, host, port",
    [
        ("ns1.example.net", "ns1.example.net", 53),
        ("10.0.0.1:5353", "10.0.0.1", 5353),
        ("[fd00::1]:5300", "fd00::1", 5300),
        ("fd00::1", "fd00::1", 53),
    ],
)
def test_primary_host_and_port(text, host, port):
    assert split_host_port(text, 53) == (host, port)


def test_a_tls_failure_is_told_by_what_the_handshake_said():
    text = (
        "HTTPSConnectionPool(host='127.0.0.1', port=2376): Max retries exceeded (Caused by SSLError("
        "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
        "local issuer certificate (_ssl.c:1006)')))"
    )
    assert tls_failure_reason(Exception(text)) == "certificate verify failed: unable to get local issuer certificate"
    assert tls_failure_reason(Exception("Connection refused")) is None

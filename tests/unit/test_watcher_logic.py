"""The watcher's decisions that depend only on time: the deletion guard, wake-ups, systemd settings."""

import click
import pytest

from dockernet.cli.params import LISTEN
from dockernet.metrics import Health
from dockernet.watch.supervision import watchdog_interval
from dockernet.watch.watcher import Watcher, WatchOptions


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class IdleReconciler:
    health = Health()

    def retry_due_in(self):
        return None

    def blocked_due_in(self):
        return None


def watcher(settle=10.0, lease=None):
    clock = Clock()
    w = Watcher(
        engine=None,
        reconciler=IdleReconciler(),
        options=WatchOptions(settle_time=settle),
        nameserver=None,
        ttl=60,
        lease=lease,
        clock=clock,
    )
    w.guard.connected()
    w.timers.next_resync = clock.now + 300
    return w, clock


def test_removals_right_after_connecting_wait_for_a_second_listing():
    w, clock = watcher()
    assert not w.guard.allow({"a"}, 10)
    assert w.timers.next_resync == clock.now + 10  # a second listing is scheduled
    clock.now += 10
    assert w.guard.allow({"a"}, 10)


def test_a_few_removals_on_a_settled_connection_go_ahead():
    w, clock = watcher()
    clock.now += 60
    assert w.guard.allow({"a", "b"}, 10)


def test_removing_most_records_needs_the_same_answer_twice():
    w, clock = watcher()
    clock.now += 60
    doomed = {"a", "b", "c", "d"}
    assert not w.guard.allow(doomed, 5)
    assert not w.guard.allow(doomed | {"e"}, 5)  # a different answer starts over
    assert w.guard.allow(doomed | {"e"}, 5)


def test_three_of_four_is_not_mass_deletion():
    w, clock = watcher()
    clock.now += 60
    assert w.guard.allow({"a", "b", "c"}, 4)


def test_wakeup_never_sleeps_past_five_seconds_or_the_resync():
    w, clock = watcher()
    assert w.timers.wakeup_in() == 5.0
    w.timers.next_resync = clock.now + 1.5
    assert w.timers.wakeup_in() == 1.5


@pytest.mark.parametrize(
    "usec, pid, expected", [("30000000", None, 15.0), ("abc", None, None), (None, None, None), ("30000000", "1", None)]
)
def test_watchdog_interval(monkeypatch, usec, pid, expected):
    for key, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    assert watchdog_interval() == expected


def test_health_reports_each_problem():
    clock = Clock()
    health = Health(clock=clock)
    assert set(health.problems()) == {"Docker event stream not connected", "DNS server not reached recently"}
    health.docker_connected = True
    health.dns_reached()
    assert health.problems() == []
    health.dns_failed()
    assert health.problems() == ["DNS server failing"]
    health.dns_reached()
    clock.now += 61
    assert health.problems() == ["DNS server not reached recently"]


@pytest.mark.parametrize("text, expected", [("127.0.0.1:9153", ("127.0.0.1", 9153)), ("[::1]:80", ("::1", 80))])
def test_listen_addresses(text, expected):
    assert LISTEN.convert(text, None, None) == expected


@pytest.mark.parametrize("text", ["9153", "localhost:9153", "127.0.0.1:0", "127.0.0.1:99999", ":9153"])
def test_bad_listen_addresses(text):
    with pytest.raises(click.BadParameter):
        LISTEN.convert(text, None, None)


def test_health_gauges_say_what_healthz_says():
    from prometheus_client import generate_latest

    from dockernet.metrics import Health, PrometheusMetrics

    now = [100.0]
    health = Health(clock=lambda: now[0])
    metrics = PrometheusMetrics()
    metrics.watch_health(health)

    def value(name):
        lines = generate_latest(metrics.registry).decode().splitlines()
        line = next(line for line in lines if line.startswith(name + " "))
        return float(line.split()[1])

    assert (value("dockernet_healthy"), value("dockernet_degraded")) == (0.0, 0.0)  # nothing connected yet
    health.docker_connected = True
    health.dns_reached()
    assert value("dockernet_healthy") == 1.0
    health.rejected_names = 2
    assert (value("dockernet_healthy"), value("dockernet_degraded")) == (1.0, 1.0)
    now[0] += 61  # the DNS server not reached for over a minute
    assert value("dockernet_healthy") == 0.0


class LeaseState:
    """A lease keeper as the deletion guard sees it: held, and what reading it again says."""

    held = True

    def __init__(self, confirm):
        self._confirm = confirm
        self.reads = 0

    def due_in(self):
        return 60.0

    def confirm(self):
        self.reads += 1
        return self._confirm()


def taken():
    from dockernet.errors import OwnerCollision

    raise OwnerCollision("owner id 'web1' was taken over by engine B")


@pytest.mark.parametrize("confirm, allowed", [(lambda: True, True), (lambda: False, False)])
def test_removals_wait_until_the_lease_is_confirmed_as_still_ours(confirm, allowed):
    lease = LeaseState(confirm)
    w, clock = watcher(lease=lease)
    clock.now += 60
    assert w.guard.allow({"a"}, 10) is allowed
    assert lease.reads == 1
    if not allowed:
        assert w.timers.next_resync == clock.now + 10  # looked at again soon


def test_a_lease_taken_meanwhile_stops_the_removals_and_the_watcher():
    from dockernet.errors import OwnerCollision

    w, clock = watcher(lease=LeaseState(taken))
    clock.now += 60
    with pytest.raises(OwnerCollision, match="taken over"):
        w.guard.allow({"a"}, 10)


class PurgingReconciler(IdleReconciler):
    def __init__(self):
        self.purged = False
        self.pending = {}

    def purge(self):
        self.purged = True
        return True


@pytest.mark.parametrize("confirm, purged", [(lambda: True, True), (lambda: False, False), (taken, False)])
def test_cleanup_on_exit_removes_nothing_unless_the_lease_is_still_ours(confirm, purged):
    reconciler = PurgingReconciler()
    lease = LeaseState(confirm)
    w = Watcher(
        engine=None,
        reconciler=reconciler,
        options=WatchOptions(cleanup_on_exit=True),
        nameserver=None,
        ttl=60,
        lease=lease,
        clock=Clock(),
    )
    w.ownership.clean_up(reconciler)
    assert reconciler.purged is purged and lease.reads == 1


def test_a_look_at_blocked_names_without_answer_is_said_once(caplog):
    from dockernet.errors import DnsTransient
    from dockernet.watch.dnshealth import DnsHealth

    dns = DnsHealth(nameserver=None, health=Health())

    def silent():
        raise DnsTransient("127.0.0.1 does not answer")

    with caplog.at_level("DEBUG", logger="dockernet"):
        dns.look_at_blocked(silent)
        dns.look_at_blocked(silent)
        dns.look_at_blocked(lambda: None)
        dns.look_at_blocked(silent)
    levels = [record.levelname for record in caplog.records if "names held by others" in record.getMessage()]
    assert levels == ["WARNING", "DEBUG", "WARNING"]


def test_a_stop_wakes_the_loop_and_is_seen():
    from dockernet.watch.inbox import STOP, Inbox

    inbox = Inbox()
    assert not inbox.stopping() and not inbox.pause(0)
    inbox.stop()
    assert inbox.stopping() and inbox.pause(10) and inbox.get(timeout=0) == STOP

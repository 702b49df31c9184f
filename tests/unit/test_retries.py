"""Retries keeps the books of failures: pending, unsure, set aside, the backoff and when the server is down (pure)."""

import logging

import dns.name

from dockernet.metrics import Health, NullMetrics
from dockernet.sync.retries import Retries, SetAside
from tests.support import Clock

WEB = dns.name.from_text("web.docker.test")
DB = dns.name.from_text("db.docker.test")
PTR = dns.name.from_text("2.0.1.10.in-addr.arpa")


def books():
    clock = Clock()
    health = Health(clock=clock)
    return Retries(clock, NullMetrics(), health, retry_first=0.5, retry_cap=15.0), clock, health


def test_one_failure_is_the_names_two_in_a_row_are_the_servers():
    retries, clock, health = books()
    retries.transient(WEB, "no answer")
    assert retries.pending == {WEB} and not retries.server_down
    assert not retries.waiting(DB)  # another name is sent at once
    retries.transient(DB, "no answer")
    assert retries.server_down and health.dns_failing
    assert retries.waiting(PTR) and PTR in retries.pending  # everything waits for the backoff now
    clock.now += retries.due_in()
    assert not retries.waiting(PTR)  # the retry is due: names may be sent again


def test_the_backoff_doubles_to_its_cap_and_starts_over_once_nothing_is_pending():
    retries, clock, _ = books()
    delays = []
    for _ in range(7):
        retries.server_failed([WEB], "down")
        delays.append(retries.due_in())
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert retries.succeeded(WEB)  # the outage ended: the caller looks at the whole zone
    assert not retries.server_down and retries.due_in() is None
    retries.server_failed([WEB], "down")
    assert retries.due_in() == 0.5


def test_a_name_that_fails_alone_keeps_the_server_up():
    retries, _, health = books()
    retries.transient(WEB, "no answer")
    retries.name_failed(DB, "SERVFAIL for db; the zone takes other updates")
    retries.transient(PTR, "no answer")  # after a failure of one name, a timeout is again the name's
    assert not retries.server_down and not health.dns_failing
    assert retries.in_retry_order() == [DB, WEB, PTR]  # address names first, PTRs last


def test_a_lost_batch_makes_its_names_unsure_and_counts_toward_an_outage():
    retries, _, _ = books()
    retries.transient_batch([WEB, DB])
    assert retries.unsure == {WEB, DB} and not retries.server_down
    retries.transient(PTR, "no answer")
    assert retries.server_down


def test_a_set_aside_name_is_said_once_per_verdict_and_waits_until_released(caplog):
    retries, _, health = books()
    entry = SetAside("REFUSED", "an update-policy rule", ("aaaaaaaaaaaa",))
    for _ in range(3):
        retries.set_name_aside(WEB, entry, "127.0.0.1#53")
    said = [r for r in caplog.records if r.levelno == logging.ERROR and "set aside" in r.getMessage()]
    assert len(said) == 1 and "(REFUSED) for container (aaaaaaaaaaaa)" in said[0].getMessage()
    assert retries.waiting(WEB) and health.rejected_names == 1 and not health.dns_failing
    retries.set_name_aside(WEB, SetAside("NOTZONE", "outside", ("aaaaaaaaaaaa",)), "127.0.0.1#53")
    assert len([r for r in caplog.records if "set aside" in r.getMessage()]) == 2  # a new verdict is said
    retries.release([WEB, DB])
    assert not retries.waiting(WEB) and health.rejected_names == 0

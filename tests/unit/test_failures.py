"""Whom a failure concerns: one name, the server, or nobody (a lost answer).

Against the in-memory zone of test_reconcile, extended with the server's
verdicts: a name its policy refuses, a key it refuses, an UPDATE applied
whose answer was lost.
"""

import logging

import dns.name
import pytest

from dockernet.errors import DnsRejected, DnsServerFailure, DnsTransient
from dockernet.publish.claims import RecordPolicy, label_ttl
from dockernet.publish.plan import Owned
from dockernet.sync.journal import Journal
from dockernet.sync.reconciler import Reconciler
from tests.support import ZONE, Clock, InMemoryZone, container, name


class VerdictZone(InMemoryZone):
    """The in-memory zone, plus per-name refusals, zone-wide refusals and lost answers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refused_names: dict[dns.name.Name, str] = {}
        self.zone_verdict = ""  # e.g. "REFUSED" or "BADSIG": every update, probes included
        self.lose_answers = False  # apply the update, then time out
        self.probes = 0

    def _verdict(self, fqdn):
        if self.zone_verdict:
            raise DnsRejected(f"zone says {self.zone_verdict}", code=self.zone_verdict)
        if fqdn in self.refused_names:
            code = self.refused_names[fqdn]
            raise DnsRejected(f"update of zone docker.test refused ({code})", code=code)

    def send(self, change):
        self._verdict(change.fqdn)
        outcome = super().send(change)
        if self.lose_answers:
            raise DnsTransient("no answer from 127.0.0.1#53 within 2 s")
        return outcome

    def send_batch(self, batch):
        for change in batch.changes:
            self._verdict(change.fqdn)
        return super().send_batch(batch)

    def probe_zone(self, zone):
        self.probes += 1
        if self.down:
            raise DnsTransient("no answer")
        if self.zone_verdict:
            raise DnsRejected("zone refused", code=self.zone_verdict)


def make(zone=None, journal=None):
    zone = zone or VerdictZone()
    clock = Clock()
    return Reconciler(RecordPolicy(ZONE, 60), zone, clock=clock, journal=journal), zone, clock


@pytest.mark.parametrize("verdict", ["REFUSED", "NOTAUTH", "NOTZONE", "FORMERR"])
def test_a_name_the_server_refuses_is_set_aside_and_no_other_name_waits(verdict, caplog):
    rec, zone, clock = make()
    zone.refused_names[name("evil")] = verdict
    assert not rec.container_changed("e" * 64, container("e", "evil"))
    assert name("evil") in rec.set_aside and name("evil") not in rec.pending
    assert rec.health.rejected_names == 1 and not rec.health.dns_failing
    # the very next container is published at once: no backoff, no waiting for a retry
    assert rec.container_changed("a" * 64, container("a", "good", "10.1.0.3"))
    assert zone.names[name("good")] == Owned("a" * 12, (("A", "10.1.0.3"),), 60)
    assert rec.retry_due_in() is None
    said = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
    assert len(said) == 1 and f"({verdict})" in said[0] and "(eeeeeeeeeeee)" in said[0]


def test_a_set_aside_name_is_tried_again_only_when_its_container_changes_or_on_resync(caplog):
    rec, zone, clock = make()
    zone.refused_names[name("evil")] = "REFUSED"
    rec.container_changed("e" * 64, container("e", "evil"))
    sent = len(zone.sent)
    rec.container_changed("a" * 64, container("a", "good", "10.1.0.3"))
    rec.container_changed("a" * 64, None)
    assert not any(change.fqdn == name("evil") for change in zone.sent[sent:])  # nobody else retries it
    rec.container_changed("e" * 64, container("e", "evil"))  # its own event: one more try, refused again
    assert name("evil") in rec.set_aside
    assert sum("set aside" in r.getMessage() for r in caplog.records) == 1  # said once, not per try
    del zone.refused_names[name("evil")]
    assert rec.full([container("e", "evil")])  # a resync tries it again: now accepted
    assert name("evil") in zone.names and not rec.set_aside and rec.health.rejected_names == 0


def test_a_refusal_of_the_whole_zone_stops_every_update_with_backoff():
    rec, zone, clock = make()
    zone.zone_verdict = "REFUSED"
    assert not rec.container_changed("a" * 64, container("a", "one"))
    assert zone.probes == 1  # looked before concluding
    assert not rec.set_aside and name("one") in rec.pending and rec.health.dns_failing
    assert not rec.container_changed("b" * 64, container("b", "two", "10.1.0.3"))
    assert name("two") in rec.pending and zone.probes == 1  # waits for the backoff, not sent
    zone.zone_verdict = ""
    clock.now += rec.retry_due_in()
    assert rec.retry_pending()
    assert set(zone.names) == {name("one"), name("two")}


@pytest.mark.parametrize("verdict", ["BADKEY", "BADSIG", "BADTIME"])
def test_a_refused_key_is_never_blamed_on_one_name(verdict):
    rec, zone, clock = make()
    zone.zone_verdict = verdict
    rec.container_changed("a" * 64, container("a", "one"))
    assert not rec.set_aside and name("one") in rec.pending and zone.probes == 0


def test_one_timeout_holds_up_no_other_name_but_two_in_a_row_mean_the_server_is_down():
    rec, zone, clock = make()
    zone.down = True
    assert not rec.container_changed("a" * 64, container("a", "one"))
    zone.down = False
    assert rec.container_changed("b" * 64, container("b", "two", "10.1.0.3"))  # tried at once, and published
    zone.down = True
    assert not rec.container_changed("c" * 64, container("c", "three", "10.1.0.4"))
    assert not rec.container_changed("d" * 64, container("d", "four", "10.1.0.5"))
    sent = len(zone.sent)
    zone.down = False
    assert not rec.container_changed("f" * 64, container("f", "five", "10.1.0.6"))  # server down: waits
    assert len(zone.sent) == sent and name("five") in rec.pending
    clock.now += rec.retry_due_in()
    assert rec.retry_pending()
    assert {name(n) for n in ("one", "two", "three", "four", "five")} == set(zone.names)


def test_an_update_applied_after_its_answer_was_lost_is_found_and_removed():
    rec, zone, clock = make()
    zone.lose_answers = True  # the create lands, the answer never comes
    assert not rec.container_changed("a" * 64, container("a", "ghost"))
    assert name("ghost") in zone.names and name("ghost") in rec.unsure
    zone.lose_answers = False
    rec.container_changed("a" * 64, None)  # the container goes before the retry
    clock.now += rec.retry_due_in() or 0
    rec.retry_pending()
    assert name("ghost") not in zone.names  # looked up, found ours, deleted
    assert not rec.unsure and not rec.pending


def test_a_lost_batch_makes_its_names_unsure():
    rec, zone, clock = make()
    zone.down = True
    assert not rec.full([container(c, f"c{c}", f"10.1.0.{i + 2}") for i, c in enumerate("abc")])
    zone.down = False
    zone.names[name("ca")] = Owned("a" * 12, (("A", "10.1.0.2"),), 60)  # the lost batch's first name landed
    clock.now += rec.retry_due_in()
    assert rec.full([container(c, f"c{c}", f"10.1.0.{i + 2}") for i, c in enumerate("bc")])
    assert set(zone.names) == {name("cb"), name("cc")}


def test_journal_names_outside_the_zones_are_reported_once_and_never_sent(tmp_path, caplog):
    journal = Journal(tmp_path, "host-a")
    journal.open()
    journal.add(dns.name.from_text("web.old-zone.test."), "a" * 12)
    rec, zone, clock = make(VerdictZone(transfer_allowed=False), journal=journal)
    assert rec.full([container("b", "new")])
    assert rec.full([container("b", "new")])
    assert all(change.fqdn.is_subdomain(ZONE) for change in zone.sent)
    assert sum("outside the zones" in r.getMessage() for r in caplog.records) == 1
    assert name("new") in zone.names


def test_a_journal_that_cannot_be_written_is_said_once_and_shown_in_health(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="dockernet")
    journal = Journal(tmp_path, "host-a")
    journal.open()
    rec, zone, clock = make(journal=journal)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dockernet.sync.journal.os.write", full_disk)  # appends
    monkeypatch.setattr("dockernet.sync.journal.write_atomic", full_disk)  # and the rewrites that mend them
    for c in "abc":
        assert rec.container_changed(c * 64, container(c, f"c{c}"))  # updates go on
    assert rec.health.journal_error == "No space left on device"
    assert any("journal not written" in text for text in rec.health.degradations())
    assert sum("Cannot write the journal" in r.getMessage() for r in caplog.records) == 1
    monkeypatch.undo()
    rec.container_changed("d" * 64, container("d", "cd"))
    assert rec.health.journal_error == ""
    assert any("written again" in r.getMessage() for r in caplog.records)
    assert set(Journal(tmp_path, "host-a").open()) == {name(f"c{c}") for c in "abcd"}  # the lost lines too


def test_a_name_held_by_hand_made_records_is_not_reported_as_held_by_a_container(caplog):
    rec, zone, clock = make()
    from dockernet.publish.plan import Foreign

    zone.names[name("web")] = Foreign("")
    rec.full([container("a", "web"), container("b", "web", "10.1.0.3")])
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("did not write" in text for text in messages)
    assert not any("holds it" in text for text in messages)


@pytest.mark.parametrize(
    "text, expected, warned",
    [
        (None, 60, False),
        ("300", 300, False),
        ("0", 0, False),
        ("86400", 86400, False),
        ("86401", 86400, True),
        ("2147483647", 86400, True),
        ("-5", 60, True),
        ("1e3", 60, True),
        ("\u0663", 60, True),
        ("30\n", 60, True),
        ("", 60, True),
        ("99999999999999999999", 60, True),
    ],
)
def test_label_ttl_is_capped_and_validated(text, expected, warned):
    warnings = []
    assert label_ttl(text, RecordPolicy(ZONE, 60), warnings.append) == expected
    assert bool(warnings) == warned


class ServfailZone(VerdictZone):
    """Answers SERVFAIL to updates of some names (an RRset above the server's limit), or to every update."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.failing_names: set = set()
        self.failing_everything = False

    def send(self, change):
        if self.failing_everything or change.fqdn in self.failing_names:
            raise DnsServerFailure("127.0.0.1#53 failed to process the update (SERVFAIL)")
        return super().send(change)

    def probe_zone(self, zone):
        super().probe_zone(zone)
        if self.failing_everything:
            raise DnsServerFailure("127.0.0.1#53 failed to process the update (SERVFAIL)")


def test_a_servfail_for_one_name_while_the_zone_takes_updates_holds_up_no_other_name():
    zone = ServfailZone()
    rec, _, clock = make(zone)
    zone.failing_names = {name("big1"), name("big2")}
    assert not rec.container_changed("b" * 64, container("b", "big1"))
    assert not rec.container_changed("c" * 64, container("c", "big2"))  # a second in a row: still not the server's
    assert not rec.retries.server_down and zone.probes == 2
    assert rec.container_changed("a" * 64, container("a", "good", "10.1.0.3"))  # at once, no waiting
    assert zone.names[name("good")].records == (("A", "10.1.0.3"),)
    assert rec.pending == {name("big1"), name("big2")}
    clock.now += rec.retry_due_in()
    zone.failing_names = {name("big1")}
    assert not rec.retry_pending()  # big1 fails again, and big2 after it is still tried
    assert name("big2") in zone.names and rec.pending == {name("big1")}


def test_a_servfail_the_probe_shares_is_the_servers_and_everything_waits():
    zone = ServfailZone()
    rec, _, clock = make(zone)
    zone.failing_everything = True
    assert not rec.container_changed("b" * 64, container("b", "one"))
    assert not rec.container_changed("c" * 64, container("c", "two"))
    assert rec.retries.server_down and rec.health.dns_failing
    assert not rec.container_changed("a" * 64, container("a", "three"))  # waits for the backoff, not sent
    assert name("three") in rec.pending and name("three") not in zone.names


def test_a_batch_that_gets_servfail_leaves_its_names_to_be_sent_one_by_one(monkeypatch):
    monkeypatch.setattr("dockernet.ddns.BATCH_SIZE", 2)
    zone = ServfailZone()
    rec, _, _ = make(zone)
    zone.failing_names = {name("big")}
    batch_send = zone.send_batch

    def send_batch(batch):  # the server fails the whole batch for the one name it cannot take
        if any(change.fqdn in zone.failing_names for change in batch.changes):
            raise DnsServerFailure("127.0.0.1#53 failed to process the update (SERVFAIL)")
        return batch_send(batch)

    zone.send_batch = send_batch
    assert not rec.full([container(c, f"c{c}") for c in "abcd"] + [container("e", "big")])
    assert {name(f"c{c}") for c in "abcd"} <= set(zone.names)
    assert rec.pending == {name("big")} and not rec.retries.server_down  # looked up before it is sent again
    # the batches after the failed one were still sent as batches (an answer, unlike a timeout, ends nothing)
    assert [[change.fqdn for change in batch] for batch in zone.batches] == [[name("cb"), name("cc")], [name("cd")]]

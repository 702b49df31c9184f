"""One container's names may cost no other container: the backlog between events, derived records only under
names the container holds, blocked-name checks that wait for a silent server (against the in-memory zone)."""

import dataclasses

import dns.name
import dns.reversename

from dockernet.engine.model import ContainerInfo
from dockernet.errors import DnsTransient
from dockernet.logformat import printable
from dockernet.publish.claims import RecordPolicy, claims_of
from dockernet.publish.plan import Foreign, Owned
from dockernet.sync.reconciler import Reconciler
from tests.support import ZONE, Clock, InMemoryZone, container, name


def with_aliases(cid_char, hostname, count, address="10.1.0.2"):
    labels = {"dockernet.aliases": ",".join(f"{hostname}-{n}" for n in range(count))}
    return dataclasses.replace(container(cid_char, hostname, address), labels=labels)


def with_port(cid_char, hostname, aliases="", address="10.1.0.2"):
    labels = {"dockernet.srv": "true", "dockernet.srv.80": "http"}
    if aliases:
        labels["dockernet.aliases"] = aliases
    return ContainerInfo(
        cid_char * 64, hostname, hostname, True, "2026-01-01", (address,), labels, ports=((80, "tcp", 8080),)
    )


def make(zone=None, **policy):
    zone = zone or InMemoryZone()
    return Reconciler(RecordPolicy(ZONE, 60, **policy), zone, clock=Clock()), zone


def test_a_container_with_many_names_yields_to_another_containers_event_after_one_update():
    rec, zone = make(max_names=1000)
    events = []  # what the watcher's queue holds; the backlog yields while it is not empty
    rec.container_changed("b" * 64, with_aliases("b", "big", 500), interrupt=lambda: bool(events))
    zone.sent.clear()
    events.append("victim's start")
    assert not rec.container_changed(
        "b" * 64, with_aliases("b", "big", 500, "10.1.0.5"), interrupt=lambda: bool(events)
    )
    assert len(zone.sent) == 1  # one UPDATE of the big container's, then the event is read
    events.clear()
    rec.container_changed("v" * 64, container("v", "victim", "10.1.0.9"), interrupt=lambda: bool(events))
    sent = [change.fqdn for change in zone.sent]
    assert sent.index(name("victim")) <= 2  # behind at most one more of the big container's names
    assert zone.names[name("victim")] == Owned("v" * 12, (("A", "10.1.0.9"),), 60)
    assert not rec.backlog and len(sent) == 502  # and the big container's names are all done


def test_a_drain_without_events_waiting_finishes_the_backlog():
    rec, zone = make(max_names=1000)
    rec.container_changed("b" * 64, with_aliases("b", "big", 50), interrupt=lambda: True)
    assert rec.backlog
    assert rec.drain()
    assert not rec.backlog and len(zone.names) == 51


def test_srv_records_only_under_names_the_container_holds():
    zone = InMemoryZone()
    zone.names[name("other")] = Foreign("host-b")  # another owner's
    zone.names[name("ns")] = Foreign("")  # written by hand
    rec, zone = make(zone)
    rec.container_changed("a" * 64, with_port("a", "web", aliases="other,ns"))
    published = {fqdn.to_text() for fqdn, state in zone.names.items() if isinstance(state, Owned)}
    assert published == {"web.docker.test.", "_http._tcp.web.docker.test."}
    assert not {change.fqdn for change in zone.sent} & {name("_http._tcp.other"), name("_http._tcp.ns")}


def test_srv_records_never_under_another_running_containers_name():
    rec, zone = make()
    rec.container_changed("a" * 64, container("a", "web"))  # publishes no ports
    rec.container_changed("b" * 64, with_port("b", "db", aliases="web", address="10.1.0.3"))
    assert zone.names[name("web")].short_id == "a" * 12
    assert name("_http._tcp.web") not in zone.names
    assert zone.names[name("_http._tcp.db")] == Owned("b" * 12, (("SRV", "0 0 80 db.docker.test."),), 60)
    rec.container_changed("a" * 64, None)  # the holder goes: the name, and the SRV name under it, are b's now
    assert zone.names[name("web")].short_id == "b" * 12
    assert zone.names[name("_http._tcp.web")] == Owned("b" * 12, (("SRV", "0 0 80 web.docker.test."),), 60)


def test_an_srv_name_follows_a_released_name():
    zone = InMemoryZone()
    zone.names[name("web")] = Foreign("")
    rec, zone = make(zone)
    rec.container_changed("a" * 64, with_port("a", "web", aliases="api"))
    assert name("_http._tcp.web") not in zone.names
    del zone.names[name("web")]  # the hand-made record is removed; the blocked name is taken
    rec.zone.remember(name("web"), None)
    rec.sync([name("web")], verified=True)
    assert zone.names[name("_http._tcp.web")] == Owned("a" * 12, (("SRV", "0 0 80 web.docker.test."),), 60)


class SilentZone(InMemoryZone):
    def __init__(self):
        super().__init__()
        self.serial_asks = 0

    def serial(self, zone):
        self.serial_asks += 1
        if self.down:
            raise DnsTransient("no answer from 127.0.0.1#53 within 2 s")
        return 1


def test_blocked_name_checks_back_off_while_the_server_does_not_answer():
    zone = SilentZone()
    zone.names[name("db")] = Foreign("host-b")
    rec, zone = make(zone)
    clock = rec.clock
    rec.container_changed("a" * 64, container("a", "db"))
    assert name("db") in rec.blocked.held
    zone.down = True
    waits = []
    for _ in range(6):
        clock.now += rec.blocked_due_in()
        try:
            rec.check_blocked()
        except DnsTransient:
            pass
        waits.append(rec.blocked_due_in())
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0]  # the updates' backoff, not one 2 s timeout per turn
    zone.down = False
    clock.now += rec.blocked_due_in()
    rec.check_blocked()
    assert rec.blocked_due_in() == 0.25  # answered: back to the normal pace


def test_a_megabyte_label_is_shown_bounded():
    shown = printable("x\n" * 500_000)
    assert len(shown) < 1000 and shown.endswith("...(999800 more characters)") and "\n" not in shown


class LosesOneAnswer(InMemoryZone):
    """Loses the answer of the next UPDATE it is sent (a dropped packet), then answers again."""

    fail_next = 0

    def send(self, change):
        if self.fail_next:
            self.fail_next -= 1
            raise DnsTransient("no answer (one lost packet)")
        return super().send(change)


def test_what_hangs_on_a_name_follows_it_when_its_retry_succeeds():
    rev = dns.name.from_text("1.10.in-addr.arpa")
    zone = LosesOneAnswer()
    zone.target = dataclasses.replace(zone.target, reverse_zones=(rev,))
    rec, zone = make(zone, reverse_zones=(rev,))
    zone.fail_next = 1  # the UPDATE of web is lost once; its SRV name and PTR cannot go before it
    rec.container_changed("a" * 64, with_port("a", "web"), interrupt=lambda: False)
    assert name("web") in rec.pending and not zone.names
    rec.clock.now += rec.retry_due_in()
    assert rec.retry_pending()
    assert zone.names[name("_http._tcp.web")] == Owned("a" * 12, (("SRV", "0 0 80 web.docker.test."),), 60)
    assert zone.names[dns.name.from_text("2.0.1.10.in-addr.arpa")] == Owned(
        "a" * 12, (("PTR", "web.docker.test."),), 60
    )
    assert not rec.backlog


def test_srv_ports_cost_linear_work_and_a_bounded_line():
    """Forty thousand published ports on one service label: one set, one warning, no quadratic scan."""
    ports = tuple((port, "tcp", port) for port in range(20000, 60000))
    labels = {"dockernet.srv": "true", **{f"dockernet.srv.{port}": "bad_name" for port, _, _ in ports}}
    info = ContainerInfo("a" * 64, "web", "web", True, "2026-01-01", ("10.1.0.2",), labels, ports=ports)
    said = []
    claims = claims_of(info, RecordPolicy(ZONE, 60), lambda level, text: said.append(text))
    assert [claim.fqdn for claim in claims] == [name("web")]
    assert said == [
        "Container (aaaaaaaaaaaa): ignoring dockernet.srv.20000='bad_name' and 39999 more (a service "
        "name is 1-15 letters, digits and hyphens); no SRV record for those ports"
    ]
    labels = {"dockernet.srv": "true", **{f"dockernet.srv.{port}": "http" for port, _, _ in ports}}
    info = dataclasses.replace(info, labels=labels)
    claims = claims_of(info, RecordPolicy(ZONE, 60), lambda level, text: said.append(text))
    assert len(claims[1].records) == 64  # one SRV RRset, cut to the record limit (said)


def test_ptrs_only_for_published_addresses():
    """A container on a hundred networks: its name carries 64 addresses of a family, and so do its PTRs."""
    rev = dns.name.from_text("10.in-addr.arpa")
    networks = tuple((f"net{n}", f"10.{n}.0.2") for n in range(100))
    info = ContainerInfo("a" * 64, "web", "web", True, "2026-01-01", tuple(a for _, a in networks), {}, 42, networks)
    claims = claims_of(info, RecordPolicy(ZONE, 60, reverse_zones=(rev,)), lambda *_: None)
    published = {data for rdtype, data in claims[0].records if rdtype == "A"}
    ptrs = [claim for claim in claims if claim.records[0][0] == "PTR"]
    assert len(published) == 64 and len(ptrs) == 64
    assert {str(dns.reversename.to_address(claim.fqdn)) for claim in ptrs} == published

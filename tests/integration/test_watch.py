"""dockernet watch against a real dockerd (own namespace) and a real named."""

import re
import signal
from concurrent.futures import ThreadPoolExecutor

import dns.rcode
import dns.rdatatype

from tests.harness import wait_for

SEED_LINE = re.compile(r"^I, \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+\]  INFO -- : ")


def fqdn(named, label):
    return f"{label}.{named.zone}."


def test_started_container_answers_and_is_gone_after_stop_and_rm(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    container = containers(name=f"{label}-c", hostname=label)
    address = dockerd.address_of(container)
    assert address.startswith("10.1.")
    assert wait_for(lambda: named.query(label) == {address}), named.query(label)
    # the ownership mark travels with the record
    assert named.query(label, "TXT") == {f'"heritage=dockernet,owner={watcher.owner},container={container.id[:12]}"'}
    # the record is usually sent from the network connect event, which Docker sends before start: wait for it
    start_line = f"Event Fired ({container.id[:12]}): start"
    assert wait_for(lambda: any(SEED_LINE.match(line) and line.endswith(start_line)
                                for line in watcher.log_text().splitlines())), watcher.log_text()[-2000:]
    # the server may answer before the watcher has read its reply and logged it: wait for the line
    updated = f"Updated Docker DNS ({container.id[:12]}): {fqdn(named, label)} 60 A {address}"
    assert wait_for(lambda: updated in watcher.log_text()), watcher.log_text()[-2000:]

    container.stop(timeout=0)
    assert wait_for(lambda: named.query(label) == set()), named.query(label)
    assert named.query(label, "TXT") == set()
    container.remove(force=True)
    assert named.query(label) == set()
    assert wait_for(lambda: f"Removed Docker DNS ({container.id[:12]})" in watcher.log_text())
    assert watcher.terminate() == 0


def test_watcher_started_after_containers_registers_them(dockerd, named, containers, watchers, label):
    first = containers(hostname=f"{label}-a")
    second = containers(name=f"{label}_b")  # no hostname: the name is used, made valid
    watcher = watchers().start()
    assert wait_for(lambda: named.query(f"{label}-a") == {dockerd.address_of(first)})
    assert wait_for(lambda: named.query(f"{label}-b") == {dockerd.address_of(second)})
    assert f"made a valid DNS name from '{label}_b'" in watcher.log_text()
    assert watcher.terminate() == 0


def test_once_reconciles_and_exits_zero(dockerd, named, containers, watchers, label):
    container = containers(hostname=label)
    watcher = watchers()
    result = watcher.once()
    assert result.returncode == 0, result.stderr
    assert named.query(label) == {dockerd.address_of(container)}
    container.remove(force=True)
    result = watcher.once()
    assert result.returncode == 0, result.stderr
    assert named.query(label) == set()


def test_sigkill_then_restart_removes_stale_and_adds_new(dockerd, named, containers, watchers, label):
    going = containers(hostname=f"{label}-going")
    watcher = watchers().start()
    assert wait_for(lambda: named.query(f"{label}-going") == {dockerd.address_of(going)})
    watcher.kill()  # SIGKILL: no chance to clean up
    going.remove(force=True)
    coming = containers(hostname=f"{label}-coming")
    assert named.query(f"{label}-going") != set()  # nobody removed it while the watcher was dead
    watcher.start()
    assert wait_for(lambda: named.query(f"{label}-going") == set()), named.query(f"{label}-going")
    assert wait_for(lambda: named.query(f"{label}-coming") == {dockerd.address_of(coming)})
    assert watcher.terminate() == 0


def test_hand_made_record_with_a_containers_name_is_never_touched(dockerd, named, containers, watchers, label):
    # a person adds the name first (192.0.2.0/24 is documentation space: data only, never contacted)
    rcode = named.update(lambda u: u.add(label, 300, "A", "192.0.2.10"))
    assert rcode == dns.rcode.NOERROR
    watcher = watchers().start()
    container = containers(hostname=label)
    assert wait_for(lambda: "not taking it" in watcher.log_text())
    assert f"{fqdn(named, label)} is held by records dockernet did not write; not taking it" in watcher.log_text()
    container.restart(timeout=0)
    container.remove(force=True)
    assert wait_for(lambda: watcher.log_text().count("Event Fired") >= 4)
    assert named.query(label) == {"192.0.2.10"}
    assert named.query(label, "TXT") == set()
    assert watcher.terminate() == 0
    named.update(lambda u: u.delete(label))


def test_restart_and_recreate_under_the_same_name_keep_the_record(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    first = containers(name=f"{label}-x", hostname=label)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(first)})
    first.restart(timeout=0)
    assert wait_for(lambda: "restart" in watcher.log_text())
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(first)})
    # re-create: same container name and hostname, a new container id
    first.remove(force=True)
    second = containers(name=f"{label}-x", hostname=label)
    mark = f'"heritage=dockernet,owner={watcher.owner},container={second.id[:12]}"'
    assert wait_for(lambda: named.query(label, "TXT") == {mark}), named.query(label, "TXT")
    assert named.query(label) == {dockerd.address_of(second)}
    assert watcher.terminate() == 0


def test_name_rules_in_zone_fqdn_used_outside_skipped(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    inside = containers(hostname=f"{label}.{named.zone}")
    containers(hostname=f"{label}.elsewhere.test")
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(inside)})
    assert wait_for(lambda: f"{label}.elsewhere.test. is outside the zone {named.zone}." in watcher.log_text())
    assert watcher.terminate() == 0


def test_sigterm_exits_zero_and_removes_the_pidfile_and_a_second_watcher_refuses(watchers):
    watcher = watchers().start()
    assert watcher.pidfile.read_text().strip() == str(watcher.proc.pid)
    second = watchers()
    second.pidfile = watcher.pidfile
    second.log = watcher.log.with_name("second.log")
    second.start(wait=False)
    assert second.proc.wait(timeout=20) == 1
    assert "is held by running process" in second.stderr_text()
    watcher.proc.send_signal(signal.SIGINT)
    assert watcher.proc.wait(timeout=15) == 0
    assert not watcher.pidfile.exists()
    assert watcher.log_text().rstrip().endswith("Stopped")


def test_dns_outage_is_retried_and_the_change_is_not_lost(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    named.stop()
    try:
        container = containers(hostname=label)
        assert wait_for(lambda: "pending" in watcher.log_text(), 15), watcher.log_text()
    finally:
        named.start()
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)}, 30), watcher.log_text()
    assert "DNS updates succeed again" in watcher.log_text()
    assert watcher.terminate() == 0


def test_many_at_start_then_concurrent_runs_and_removals(dockerd, named, containers, watchers, label):
    """Ten running at start-up (inspected by several threads), then eight started and all removed at once."""
    before = [containers(hostname=f"{label}-s{i}") for i in range(10)]
    watcher = watchers().start()
    for i, container in enumerate(before):
        assert wait_for(lambda: named.query(f"{label}-s{i}") == {dockerd.address_of(container)}), watcher.log_text()
    with ThreadPoolExecutor(8) as pool:
        burst = list(pool.map(lambda i: containers(hostname=f"{label}-b{i}"), range(8)))
    for i, container in enumerate(burst):
        assert wait_for(lambda: named.query(f"{label}-b{i}") == {dockerd.address_of(container)}), watcher.log_text()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.remove(force=True), before + burst))
    for name in [f"{label}-s{i}" for i in range(10)] + [f"{label}-b{i}" for i in range(8)]:
        assert wait_for(lambda: named.query(name) == set() and named.query(name, "TXT") == set()), name
    assert watcher.terminate() == 0


def test_a_container_that_docker_restarts_keeps_its_record(dockerd, named, containers, watchers, label):
    """Its process exits and its restart policy starts it again: die (applied at once, no inspect) then Docker's
    own start; the record follows, and ends with the running container."""
    watcher = watchers().start()
    container = containers(hostname=label, restart_policy={"Name": "always"},
                           entrypoint=["sh", "-c", "sleep 2; exit 1"])
    started = f"Event Fired ({container.id[:12]}): start"
    assert wait_for(lambda: watcher.log_text().count(started) >= 2, 20), watcher.log_text()[-2000:]
    assert f"Removed Docker DNS ({container.id[:12]})" in watcher.log_text(), "the die removed it"
    # it runs 2 s after each start (then Docker waits a little longer each time): the name answers meanwhile
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)}), watcher.log_text()[-2000:]
    assert watcher.terminate() == 0

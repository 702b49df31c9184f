"""dockernet watch against a real dockerd (own namespace) and a real named."""

import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from dockernet.publish.registry import Lease, lease_name, ownership_mark, parse_lease
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
    assert wait_for(
        lambda: any(SEED_LINE.match(line) and line.endswith(start_line) for line in watcher.log_text().splitlines())
    ), watcher.log_text()[-2000:]
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
    container = containers(
        hostname=label, restart_policy={"Name": "always"}, entrypoint=["sh", "-c", "sleep 2; exit 1"]
    )
    started = f"Event Fired ({container.id[:12]}): start"
    assert wait_for(lambda: watcher.log_text().count(started) >= 2, 20), watcher.log_text()[-2000:]
    assert f"Removed Docker DNS ({container.id[:12]})" in watcher.log_text(), "the die removed it"
    # it runs 2 s after each start (then Docker waits a little longer each time): the name answers meanwhile
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)}), watcher.log_text()[-2000:]
    assert watcher.terminate() == 0


# --- one owner id, one running watcher (the lease names its process) --------------------------------------


def lease_of(named, owner):
    texts = named.txt(lease_name(owner, dns.name.from_text(named.zone)))
    return parse_lease(texts[0]) if len(texts) == 1 else None


def txt(text):
    """A TXT record's data holding ``text``, in strings of at most 255 bytes (a lease may be longer)."""
    return " ".join(f'"{text[at : at + 255]}"' for at in range(0, len(text), 255))


def beside(watchers, first, name, *extra):
    """Another watcher process of ``first``'s owner id on the same engine, with its own pid file, log and stderr."""
    other = watchers(extra=("--settle-time", "1", *extra))
    other.pidfile = first.pidfile.with_name(f"{name}.pid")
    other.log = first.log.with_name(f"{name}.log")
    other.stderr = first.stderr.with_name(f"{name}.stderr")
    return other


def test_a_second_watcher_with_the_same_owner_id_refuses_to_start_naming_the_first(
    dockerd, named, containers, watchers, label
):
    first = watchers().start()
    started = [containers(hostname=f"{label}-{i}") for i in range(3)]
    for i, container in enumerate(started):
        assert wait_for(lambda: named.query(f"{label}-{i}") == {dockerd.address_of(container)})

    # another configuration (a network none of them is on): it would delete all three after its settle time
    second = beside(watchers, first, "second", "--network", f"{label}-other").start(wait=False)
    assert wait_for(lambda: second.proc.poll() is not None, 30), "the second watcher runs"
    assert second.proc.returncode == 1
    lease = lease_of(named, first.owner)
    assert lease.pid == first.proc.pid
    lines = second.stderr_text().strip().splitlines()
    assert len(lines) == 1, second.stderr_text()
    assert f"watcher pid {first.proc.pid}" in lines[0] and f"on host {lease.host}" in lines[0], lines[0]
    assert "holding since" in lines[0] and f"this is pid {second.proc.pid}" in lines[0]
    for i, container in enumerate(started):
        assert named.query(f"{label}-{i}") == {dockerd.address_of(container)}
    assert lease_of(named, first.owner).instance == lease.instance
    assert first.proc.poll() is None and "taken over" not in first.log_text()
    assert first.terminate() == 0


def test_a_crashed_watcher_is_restarted_at_once_and_keeps_the_records(dockerd, named, containers, watchers, label):
    watcher = watchers().start()  # renewals a minute apart: a restart must not wait for three of them
    container = containers(hostname=label)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)})
    crashed = lease_of(named, watcher.owner)
    watcher.kill()  # SIGKILL: its lease still names it, renewed moments ago
    watcher.start()
    assert lease_of(named, watcher.owner).pid == watcher.proc.pid != crashed.pid
    assert (
        f"from engine {crashed.engine}" in watcher.new_log_text() and "which no longer runs" in watcher.new_log_text()
    )
    assert named.query(label) == {dockerd.address_of(container)}
    holding = lease_of(named, watcher.owner)
    assert watcher.terminate() == 0  # and a clean stop then start (systemctl restart) as well
    released = lease_of(named, watcher.owner)  # a clean stop says so: every host sees nobody holds it
    assert released.pid == 0 and released.instance == holding.instance
    assert f"owner {watcher.owner}: watcher stopped;" in watcher.dns("ls", "--all").stdout
    watcher.start()
    assert named.query(label) == {dockerd.address_of(container)}
    assert watcher.terminate() == 0


@pytest.mark.parametrize("intruder", ["another instance", "an earlier dockernet"])
def test_a_watcher_whose_lease_another_process_took_stops_without_removing_anything(
    dockerd, named, containers, watchers, label, intruder
):
    watcher = watchers(
        owner_id=f"{label}-taken",  # one per parameter
        extra=("--settle-time", "0", "--lease-interval", "1", "--cleanup-on-exit"),
    ).start()
    container = containers(hostname=label)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)})
    engine = dockerd.client.info()["ID"]
    now = int(time.time())
    # another process of this engine takes the lease: a watcher started by hand, or one of an earlier version
    # (which tells engines apart only)
    process = (
        f",pid=4321,node=000000000000,instance=someone-else-0001,since={now}" if intruder == "another instance" else ""
    )
    text = f"heritage=dockernet-lease,owner={watcher.owner},engine={engine},host=elsewhere{process},seen={now},every=60"
    name = lease_name(watcher.owner, dns.name.from_text(named.zone))
    assert named.update(lambda m: (m.delete(name), m.add(name, 0, "TXT", txt(text)))) == 0
    assert wait_for(lambda: watcher.proc.poll() is not None, 15), "the watcher did not notice"
    assert watcher.proc.returncode == 1
    errors = [line for line in watcher.stderr_text().splitlines() if line.startswith("dockernet: error:")]
    assert len(errors) == 1 and f"was taken over by engine {engine} on host elsewhere" in errors[0], errors
    if intruder == "another instance":
        assert "watcher pid 4321 (instance someone-else-0001" in errors[0]
    assert "stopping without removing anything" in errors[0]
    assert "Removing this owner's records" not in watcher.log_text()  # --cleanup-on-exit skipped
    assert named.query(label) == {dockerd.address_of(container)}
    assert named.txt(name) == [text]  # the lease is left to its new holder


def test_a_lease_taken_between_renewals_stops_a_resync_before_it_removes_anything(dockerd, named, watchers, label):
    owner = f"{label}-resync"
    # renewals a minute apart, resyncs every second: the resync must not wait for the renewal to find out
    watcher = watchers(owner_id=owner, extra=("--settle-time", "0", "--resync-interval", "1")).start()
    engine = dockerd.client.info()["ID"]
    now = int(time.time())
    text = (
        f"heritage=dockernet-lease,owner={owner},engine={engine},host=elsewhere,pid=4321,node=000000000000,"
        f"instance=someone-else-0002,since={now},seen={now},every=60"
    )
    name = lease_name(owner, dns.name.from_text(named.zone))
    assert named.update(lambda m: (m.delete(name), m.add(name, 0, "TXT", txt(text)))) == 0
    # then a record of this owner id whose container this engine does not have (the new holder's, say)
    assert (
        named.update(
            lambda m: (
                m.add(f"{label}-theirs", 60, "A", "10.99.0.3"),
                m.add(f"{label}-theirs", 60, "TXT", f'"{ownership_mark(owner, "f" * 12)}"'),
            )
        )
        == 0
    )
    assert wait_for(lambda: watcher.proc.poll() is not None, 15), "the watcher did not notice"
    assert watcher.proc.returncode == 1
    errors = [line for line in watcher.stderr_text().splitlines() if line.startswith("dockernet: error:")]
    assert len(errors) == 1 and "was taken over by" in errors[0] and "watcher pid 4321" in errors[0], errors
    assert named.query(f"{label}-theirs") == {"10.99.0.3"}
    named.update(lambda m: m.delete(f"{label}-theirs"))


def test_purge_and_adoption_of_a_running_owner_are_refused_unless_forced(dockerd, named, containers, watchers, label):
    running = watchers(owner_id=f"{label}-run").start()
    container = containers(hostname=label)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)})
    admin = watchers(owner_id=f"{label}-admin")
    for attempt in (
        admin.dns("purge", "--owner", f"{label}-run"),
        admin.dns("sync", "--adopt-owner", f"{label}-run"),
    ):  # the same engine: this host's old name?
        assert attempt.returncode == 1
        lines = [line for line in attempt.stderr.splitlines() if line.startswith("dockernet: error:")]
        assert len(lines) == 1, attempt.stderr
        assert f"owner id '{label}-run' is held by engine" in lines[0] and f"watcher pid {running.proc.pid}" in lines[0]
        assert "that watcher is still running" in lines[0] and "--force" in lines[0]
        assert named.query(label, "TXT") == {f'"{ownership_mark(f"{label}-run", container.id[:12])}"'}
    adopted = admin.dns("sync", "--adopt-owner", f"{label}-run", "--force")
    assert adopted.returncode == 0, adopted.stderr
    assert named.query(label, "TXT") == {f'"{ownership_mark(f"{label}-admin", container.id[:12])}"'}
    assert running.terminate() == 0
    # admin's lease as a watcher on another host would hold it (its pid cannot be looked at): only by its renewals
    other = watchers(owner_id=f"{label}-other")
    admin_lease = lease_of(named, f"{label}-admin")
    forged = replace(admin_lease, pid=4242, node="0" * 12, seen=int(time.time()))  # renewed now, on another host
    name = lease_name(f"{label}-admin", dns.name.from_text(named.zone))
    assert named.update(lambda m: (m.delete(name), m.add(name, 0, "TXT", txt(forged.text())))) == 0
    refused = other.dns("purge", "--owner", f"{label}-admin")
    assert refused.returncode == 1 and "that watcher is still running" in refused.stderr, refused.stderr
    assert named.query(label) == {dockerd.address_of(container)}
    purged = other.dns("purge", "--owner", f"{label}-admin", "--force")
    assert purged.returncode == 0, purged.stderr
    assert named.query(label) == set() and lease_of(named, f"{label}-admin") is None


def test_a_lease_renewed_in_the_far_future_does_not_block_take_over(dockerd, named, containers, watchers, label):
    owner = f"{label}-future"
    future = Lease(owner, "OTHER:ENGINE:ID", "elsewhere", int(time.time()) + 98203422328, 60)
    name = lease_name(owner, dns.name.from_text(named.zone))
    assert named.update(lambda m: m.add(name, 0, "TXT", txt(future.text()))) == 0
    watcher = watchers(owner_id=owner)
    listed = watcher.dns("ls", "--all").stdout
    assert f"owner {owner}: lease invalid; engine OTHER:ENGINE:ID on host elsewhere" in listed, listed
    assert " -" not in listed.split(f"owner {owner}:")[1].splitlines()[0]
    refused = watcher.once()  # another engine's lease: not without --take-over-owner
    assert refused.returncode == 1 and "OTHER:ENGINE:ID" in refused.stderr
    container = containers(hostname=label)
    taken = watcher.once("--take-over-owner")
    assert taken.returncode == 0, taken.stderr
    assert "Taking over owner id" in watcher.log_text()
    assert lease_of(named, owner).engine == dockerd.client.info()["ID"]
    assert named.query(label) == {dockerd.address_of(container)}

"""The watcher converges by itself after faults: Docker, named, itself, people."""

import signal
import socket

import dns.rcode

from tests.harness import free_port, wait_for
from tests.support import http_get


def test_docker_restart_reconnects_and_converges(dockerd, named, containers, watchers, label):
    metrics_port = free_port()
    watcher = watchers(extra=("--settle-time", "1", "--metrics-listen", f"127.0.0.1:{metrics_port}")).start()
    stays = containers(hostname=f"{label}-stays", restart_policy={"Name": "always"})
    containers(hostname=f"{label}-goes")
    assert wait_for(lambda: named.query(f"{label}-stays") and named.query(f"{label}-goes"))
    assert wait_for(lambda: http_get(metrics_port, "/healthz")[0] == 200)

    dockerd.stop()  # stops every container; 'goes' has no restart policy and stays stopped
    assert wait_for(lambda: "Waiting for Docker" in watcher.log_text(), 20), watcher.log_text()
    status, body = http_get(metrics_port, "/healthz")
    assert status == 503 and "Docker" in body
    dockerd.start()
    after = containers(hostname=f"{label}-after")
    assert wait_for(lambda: named.query(f"{label}-after") == {dockerd.address_of(after)}, 20), watcher.log_text()
    stays_now = dockerd.client.containers.get(stays.id)
    assert wait_for(lambda: named.query(f"{label}-stays") == {dockerd.address_of(stays_now)}, 20)
    assert wait_for(lambda: named.query(f"{label}-goes") == set(), 20), watcher.log_text()
    assert wait_for(lambda: http_get(metrics_port, "/healthz")[0] == 200)
    log = watcher.log_text()
    assert log.count("Waiting for Docker") == 1  # one line per state change, not one per retry
    assert "Docker answers again" in log
    assert watcher.terminate() == 0


def test_dns_outage_converges_when_named_returns(dockerd, named, containers, watchers, label):
    metrics_port = free_port()
    watcher = watchers(extra=("--settle-time", "1", "--metrics-listen", f"127.0.0.1:{metrics_port}")).start()
    leaving = containers(hostname=f"{label}-leaving")
    assert wait_for(lambda: named.query(f"{label}-leaving") == {dockerd.address_of(leaving)})
    named.stop()
    try:
        leaving.remove(force=True)
        arriving = containers(hostname=f"{label}-arriving")
        assert wait_for(lambda: "pending" in watcher.log_text(), 15)
        assert wait_for(lambda: http_get(metrics_port, "/healthz")[0] == 503)
        assert "DNS server failing" in http_get(metrics_port, "/healthz")[1]
    finally:
        named.start()
    assert wait_for(lambda: named.query(f"{label}-arriving") == {dockerd.address_of(arriving)}, 20)
    assert wait_for(lambda: named.query(f"{label}-leaving") == set(), 20)
    assert wait_for(lambda: http_get(metrics_port, "/healthz")[0] == 200, 10)
    metrics = http_get(metrics_port, "/metrics")[1]
    assert 'dockernet_updates_total{rcode="NOERROR"}' in metrics
    assert "dockernet_update_failures_total" in metrics
    assert "dockernet_event_to_update_seconds_count" in metrics
    assert "dockernet_pending_changes 0.0" in metrics
    assert watcher.terminate() == 0


def test_sigkill_without_zone_transfer_converges_from_the_journal(dockerd, named_no_axfr, containers, watchers, label):
    named = named_no_axfr
    watcher = watchers(server=named).start()
    going = containers(hostname=f"{label}-going")
    staying = containers(hostname=f"{label}-staying")
    assert wait_for(lambda: named.query(f"{label}-going") and named.query(f"{label}-staying"))
    watcher.kill()
    going.remove(force=True)
    coming = containers(hostname=f"{label}-coming")
    watcher.start()
    assert "Zone transfer of docker.test. is not allowed" in watcher.log_text()
    assert f"(127.0.0.1#{named.port} answered REFUSED)" in watcher.log_text()  # what the server did, not a guess
    assert wait_for(lambda: named.query(f"{label}-going") == set(), 15), watcher.log_text()
    assert named.query(f"{label}-staying") == {dockerd.address_of(staying)}
    assert wait_for(lambda: named.query(f"{label}-coming") == {dockerd.address_of(coming)})
    assert watcher.terminate() == 0


def test_resync_restores_records_deleted_or_changed_by_hand(dockerd, named, containers, watchers, label):
    watcher = watchers(extra=("--settle-time", "1", "--resync-interval", "1")).start()
    one = containers(hostname=f"{label}-one")
    two = containers(hostname=f"{label}-two")
    assert wait_for(lambda: named.query(f"{label}-one") and named.query(f"{label}-two")), watcher.log_text()
    # a person deletes one record entirely and points the other somewhere else (documentation address)
    assert named.update(lambda u: u.delete(f"{label}-one")) == dns.rcode.NOERROR
    assert named.update(lambda u: u.replace(f"{label}-two", 60, "A", "192.0.2.99")) == dns.rcode.NOERROR
    assert wait_for(lambda: named.query(f"{label}-one") == {dockerd.address_of(one)}, 10), watcher.log_text()
    assert wait_for(lambda: named.query(f"{label}-two") == {dockerd.address_of(two)}, 10), watcher.log_text()
    assert watcher.terminate() == 0


def test_engine_listing_fewer_containers_at_start_does_not_empty_the_zone(dockerd, named, containers, watchers, label):
    first = watchers().start()
    published = [containers(hostname=f"{label}-{i}") for i in range(4)]
    assert wait_for(lambda: all(named.query(f"{label}-{i}") for i in range(4)))
    first.kill()
    for container in published:
        container.remove(force=True)
    # the engine now lists none of them, as one still starting up would
    second = watchers(extra=("--settle-time", "4")).start()
    assert wait_for(lambda: "Holding back removal of 4 record(s)" in second.log_text(), 10), second.log_text()
    assert all(named.query(f"{label}-{i}") for i in range(4))
    # a later listing agrees: now they go
    assert wait_for(lambda: not any(named.query(f"{label}-{i}") for i in range(4)), 20), second.log_text()
    assert second.terminate() == 0


def test_cleanup_on_exit_removes_this_owners_records_only(dockerd, named, containers, watchers, label):
    watcher = watchers(extra=("--settle-time", "1", "--cleanup-on-exit")).start()
    containers(hostname=f"{label}-mine")
    assert wait_for(lambda: named.query(f"{label}-mine"))
    # another host's watcher on the same zone sees the name is ours and leaves it
    other = watchers(owner_id="someone-else").start()
    assert wait_for(lambda: f"is owned by {watcher.owner}; not taking it" in other.log_text())
    assert named.update(lambda u: u.add(f"{label}-hand", 60, "A", "192.0.2.7")) == dns.rcode.NOERROR
    # the other watcher stops first: it would rightly take the name the moment ours frees it (it polls
    # blocked names every 0.25 s), and the query below would race that
    assert other.terminate() == 0
    assert watcher.terminate() == 0
    assert named.query(f"{label}-mine") == set()
    assert named.query(f"{label}-hand") == {"192.0.2.7"}
    named.update(lambda u: u.delete(f"{label}-hand"))


def test_sighup_rereads_the_key_keeps_a_broken_one_out_and_resyncs(
    dockerd, named, containers, watchers, label, tmp_path
):
    key = tmp_path / "ddns.key"
    key.write_bytes(named.key_file.read_bytes())
    watcher = watchers(key_file=key).start()
    container = containers(hostname=label)
    assert wait_for(lambda: named.query(label))
    key.write_text("not a key")
    named.update(lambda u: u.delete(label))
    watcher.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Keeping the old key" in watcher.log_text())
    # the resync SIGHUP asks for repairs the deletion at once (the interval is 5 minutes)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(container)}, 10), watcher.log_text()
    key.write_bytes(named.key_file.read_bytes())
    watcher.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Now signing with key 'ddns-key'" in watcher.log_text())
    assert watcher.terminate() == 0


def test_systemd_notify_ready_and_watchdog(dockerd, named, watchers, tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(15)
        watcher = watchers().start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        messages = set()
        while not {"READY=1", "WATCHDOG=1"} <= messages:
            messages |= set(sock.recv(4096).decode().split("\n"))
        assert watcher.terminate() == 0
        while "STOPPING=1" not in messages:
            messages |= set(sock.recv(4096).decode().split("\n"))

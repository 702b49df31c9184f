"""The same watcher against Knot DNS and the PowerDNS Authoritative Server (tests/otherservers.py).

What dockernet relies on from an RFC 2136 server, checked on each: signed
updates with prerequisites (name not in use; a TXT RRset equal to a value),
AXFR with the key, a serial that moves when the zone changes (the watch of
names held by others), and the owner lease's compare-and-swap.
"""

from __future__ import annotations

import os
import time

import dns.name
import pytest

from dockernet.publish.registry import Lease, lease_name, ownership_mark, parse_lease, parse_mark
from tests.harness import WatcherProcess, wait_for
from tests.otherservers import KNOT_TOOLS, PDNS_SCHEMA, PDNS_TOOLS, PrivateKnot, PrivatePowerDns, available

IN_CI = os.environ.get("CI") == "true"
SERVERS = {"knot": (PrivateKnot, KNOT_TOOLS), "pdns": (PrivatePowerDns, PDNS_TOOLS)}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request, run_dir):
    kind, tools = SERVERS[request.param]
    if not available(tools) or (request.param == "pdns" and not PDNS_SCHEMA.exists()):
        if IN_CI:
            pytest.fail(f"{request.param} is not installed (scripts/install-deps installs it)")
        pytest.skip(f"{request.param} is not installed")
    instance = kind(run_dir[0], name=f"other-{request.param}")
    instance.provision()
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def watcher_on(server, dockerd, run_dir, label):
    made = []

    def make(owner, extra=("--settle-time", "1")):
        workdir = run_dir[0] / "watchers" / f"{label}-{server.program}"
        workdir.mkdir(parents=True, exist_ok=True)
        watcher = WatcherProcess(dockerd, server, workdir, owner, extra=extra)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.cleanup()


def fqdn(server, label):
    return dns.name.from_text(label, dns.name.from_text(server.zone))


def test_publish_and_remove(server, watcher_on, containers, dockerd, label):
    watcher = watcher_on(f"{label}-o").start()
    container = containers(hostname=f"{label}-web")
    want = {dockerd.address_of(container)}
    assert wait_for(lambda: server.query(f"{label}-web") == want), watcher.log_text()[-2000:]
    assert [parse_mark(t) for t in server.txt(fqdn(server, f"{label}-web"))] == [(f"{label}-o", container.id[:12])]
    assert parse_lease(server.txt(lease_name(f"{label}-o", dns.name.from_text(server.zone)))[0]).owner == f"{label}-o"
    check = watcher.dns("check")
    assert check.returncode == 0, check.stdout + check.stderr
    container.remove(force=True)
    assert wait_for(lambda: server.query(f"{label}-web") == set())
    assert server.txt(fqdn(server, f"{label}-web")) == []


def test_a_name_another_host_releases_is_taken_without_a_resync(server, watcher_on, containers, dockerd, label):
    name = fqdn(server, f"{label}-db")
    # another host's watcher holds the name (written here as it would write it)
    assert (
        server.update(
            lambda m: (
                m.add(name, 60, "A", "10.99.0.1"),
                m.add(name, 60, "TXT", f'"{ownership_mark("elsewhere", "e" * 12)}"'),
            )
        )
        == 0
    )
    # the container runs before its watcher starts: no event of its can arrive later and take the name; only
    # the watch of names held by others can (resyncs are an hour away)
    container = containers(hostname=f"{label}-db")
    watcher = watcher_on(f"{label}-o", extra=("--settle-time", "1", "--resync-interval", "3600")).start()
    assert wait_for(lambda: f"{label}-db.docker.test. is owned by elsewhere" in watcher.log_text())
    assert server.query(f"{label}-db") == {"10.99.0.1"}
    assert server.update(lambda m: m.delete(name)) == 0  # that host's container stopped
    want = {dockerd.address_of(container)}
    assert wait_for(lambda: server.query(f"{label}-db") == want, 15), watcher.log_text()[-2000:]
    assert "is no longer owned by elsewhere" in watcher.log_text()
    listed = watcher.dns("ls", "--all")
    assert listed.returncode == 0, listed.stderr
    assert f"owner {label}-o: watcher running" in listed.stdout


def test_a_lease_of_another_engine_stops_the_watcher_before_it_removes_anything(server, watcher_on, containers, label):
    owner = f"{label}-clone"
    other = Lease(owner, "OTHER:ENGINE:ID", "elsewhere", int(time.time()), 60)
    lease = lease_name(owner, dns.name.from_text(server.zone))
    assert server.update(lambda m: m.add(lease, 0, "TXT", f'"{other.text()}"')) == 0
    leftover = fqdn(server, f"{label}-stale")  # a record of this owner id whose container this engine lacks
    assert (
        server.update(
            lambda m: (
                m.add(leftover, 60, "A", "10.99.0.2"),
                m.add(leftover, 60, "TXT", f'"{ownership_mark(owner, "f" * 12)}"'),
            )
        )
        == 0
    )
    watcher = watcher_on(owner)
    result = watcher.once()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "OTHER:ENGINE:ID" in result.stderr, result.stderr
    assert server.query(f"{label}-stale") == {"10.99.0.2"}


def test_round_robin_replicas_and_srv(server, watcher_on, containers, dockerd, label):
    """A service's shared RRset changed replica by replica, and SRV records with their marks."""
    project = f"{label}p"
    watcher = watcher_on(f"{label}-o", extra=("--settle-time", "1", "--publish-ports")).start()
    replicas = [
        containers(
            name=f"{project}_web_{n}",
            ports={"80/tcp": 18080 + n},
            labels={
                "com.docker.compose.project": project,
                "com.docker.compose.service": "web",
                "com.docker.compose.container-number": str(n),
                "dockernet.srv.80": "http",
            },
        )
        for n in (1, 2)
    ]
    addresses = {dockerd.address_of(replica) for replica in replicas}
    service = f"web.{project}"
    assert wait_for(lambda: server.query(service) == addresses), watcher.log_text()[-2000:]
    targets = {f"0 0 80 {project}-web-{n}.{server.zone}." for n in (1, 2)}
    assert wait_for(lambda: server.query(f"_http._tcp.{service}", "SRV") == targets), watcher.log_text()[-2000:]
    assert [parse_mark(t) for t in server.txt(fqdn(server, service))] == [(f"{label}-o", service)]
    replicas[1].remove(force=True)
    assert wait_for(lambda: server.query(service) == {dockerd.address_of(replicas[0])}), watcher.log_text()[-2000:]
    one_left = {f"0 0 80 {project}-web-1.{server.zone}."}  # the SRV name is an UPDATE of its own, after the A
    assert wait_for(lambda: server.query(f"_http._tcp.{service}", "SRV") == one_left), watcher.log_text()[-2000:]
    replicas[0].remove(force=True)
    assert wait_for(lambda: server.query(f"_http._tcp.{service}", "SRV") == set()), watcher.log_text()[-2000:]
    assert wait_for(lambda: server.query(service) == set()), watcher.log_text()[-2000:]  # a second UPDATE
    assert server.txt(fqdn(server, service)) == []
    assert watcher.terminate() == 0

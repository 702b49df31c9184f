"""The dry run and the real run cannot disagree.

Two named servers with identical zones: ``dns sync --dry-run``'s script is
fed to the real ``nsupdate`` against one, ``dns sync`` runs against the
other, and the two zones (read by AXFR) must then be equal. Step by step:
creates with PTRs, a replace (a container joins a second network), a
handover (the holder of a name two containers want goes), and a purge.
"""

import subprocess

import dns.name
import dns.query
import dns.rdatatype
import pytest

from dockernet.publish.registry import is_lease_name
from tests.harness import ZONE, PrivateNamed, run_cli

OWNER = "dry-run-owner"
REVERSE = "1.10.in-addr.arpa"
LEASE_ZONE = dns.name.from_text(ZONE)


@pytest.fixture
def twin_zones(run_dir):
    servers = [PrivateNamed(run_dir[0], name=f"named-twin-{side}") for side in ("script", "sync")]
    for server in servers:
        server.provision()
        server.start()
    yield servers
    for server in servers:
        server.stop()


def dns_cli(dockerd, server, verb, *more):
    result = run_cli(
        "--docker-host",
        dockerd.url,
        "dns",
        verb,
        "--server",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--zone",
        server.zone,
        "--key-file",
        str(server.key_file),
        "--owner-id",
        OWNER,
        "--state-dir",
        str(server.dir / "state"),
        "--reverse-zone",
        REVERSE,
        *more,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def zone_content(server):
    """Every record of the forward and reverse zone but the SOA (whose serial differs) and the owner's lease, as text.

    The lease (owners.py) is the real run's sign of life, with the time in it;
    a dry run prints the records' changes only.
    """
    key = server.keyring()
    records = set()
    for zone in (server.zone, REVERSE):
        for message in dns.query.xfr(
            "127.0.0.1", zone, port=server.port, keyring=key.keyring, keyname=key.name, relativize=False, timeout=5
        ):
            for rrset in message.answer:
                if rrset.rdtype != dns.rdatatype.SOA and not is_lease_name(rrset.name, LEASE_ZONE):
                    records |= {
                        (rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
                        for rdata in rrset
                    }
    return records


def step(dockerd, scripted, synced, verb="sync", *more):
    """Apply one step both ways; returns the script so the test can say what it exercised."""
    script = dns_cli(dockerd, scripted, verb, "--dry-run", *more)
    if not script.startswith("; nothing to do"):
        applied = subprocess.run(
            ["nsupdate", "-k", str(scripted.key_file)], input=script, text=True, capture_output=True, timeout=30
        )
        assert applied.returncode == 0, applied.stderr + script
    dns_cli(dockerd, synced, verb, *more)
    assert zone_content(scripted) == zone_content(synced), script
    return script


def test_a_dry_runs_script_does_exactly_what_the_real_run_does(dockerd, twin_zones, containers, label):
    scripted, synced = twin_zones
    assert zone_content(scripted) == zone_content(synced)
    one = containers(hostname=f"{label}-one")
    holder = containers(hostname=f"{label}-web")
    created = step(dockerd, scripted, synced)
    assert "prereq nxdomain" in created and " PTR " in created and " AAAA " in created

    network = dockerd.client.networks.create(f"{label}-second")
    try:
        network.connect(one)
        replaced = step(dockerd, scripted, synced)
        assert f"update delete {label}-one.docker.test. A" in replaced and "prereq yxrrset" in replaced

        waiting = containers(hostname=f"{label}-web")  # wants the name the holder keeps: nothing changes yet
        assert step(dockerd, scripted, synced).startswith("; nothing to do")
        holder.remove(force=True)
        handed_over = step(dockerd, scripted, synced)
        assert f'owner={OWNER},container={waiting.id[:12]}"' in handed_over
        assert f'owner={OWNER},container={holder.id[:12]}"' in handed_over  # the prerequisite names the old holder

        purged = step(dockerd, scripted, synced, verb="purge")
        assert "update add" not in purged and "update delete" in purged
        left = zone_content(synced)
        assert not any(label in name or label in data or OWNER in data for name, _ttl, _type, data in left), left
    finally:
        network.disconnect(one, force=True)
        network.remove()


def test_replicas_and_srv_the_same_both_ways(dockerd, twin_zones, containers, label):
    """A service's shared RRset and SRV records: created, shrunk by one replica, purged."""
    scripted, synced = twin_zones
    labels = {"com.docker.compose.project": label, "com.docker.compose.service": "web", "dockernet.srv.80": "http"}
    replicas = [
        containers(
            name=f"{label}_web_{n}",
            ports={"80/tcp": 18180 + n},
            labels={**labels, "com.docker.compose.container-number": str(n)},
        )
        for n in (1, 2)
    ]
    created = step(dockerd, scripted, synced, "sync", "--publish-ports")
    assert f"update add _http._tcp.web.{label}.docker.test. 60 SRV 0 0 80 {label}-web-1.docker.test." in created
    assert f'"heritage=dockernet,owner={OWNER},service=web.{label}"' in created
    replicas[1].remove(force=True)
    shrunk = step(dockerd, scripted, synced, "sync", "--publish-ports")
    assert (
        f'prereq yxrrset web.{label}.docker.test. TXT "heritage=dockernet,owner={OWNER},service=web.{label}"' in shrunk
    )
    purged = step(dockerd, scripted, synced, "purge")
    assert "update add" not in purged and f"update delete _http._tcp.web.{label}.docker.test. SRV" in purged
    left = zone_content(synced)
    assert not any(label in name or label in data or OWNER in data for name, _ttl, _type, data in left), left

"""A container that asks for more records in one RRset than the server takes costs only itself."""

import re

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import pytest

from dockernet.publish.plan import MAX_RRSET
from tests.harness import PrivateNamed, free_port, wait_for
from tests.support import http_get


def srv_count(named, name):
    """SRV records at ``name``, asked over TCP (the answer does not fit a plain UDP response)."""
    fqdn = dns.name.from_text(name, dns.name.from_text(named.zone))
    response = dns.query.tcp(dns.message.make_query(fqdn, "SRV"), "127.0.0.1", port=named.port, timeout=5)
    rrset = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.SRV)
    return len(rrset) if rrset else 0


def test_a_container_with_too_many_published_ports_costs_no_one_else(dockerd, named, containers, watchers, label):
    many = MAX_RRSET + 40  # BIND refuses an RRset above 100 records (max-records-per-type) with SERVFAIL
    # with --address host an SRV record carries the host port: one per binding of the container port
    watcher = watchers(
        extra=("--settle-time", "1", "--publish-ports", "--address", "host", "--host-address", "10.250.0.9")
    ).start()
    containers(
        hostname=f"{label}-hog",
        ports={"80/tcp": list(range(20001, 20001 + many)), "81/tcp": list(range(21001, 21001 + many))},
    )
    plain = containers(hostname=f"{label}-plain")
    assert wait_for(lambda: named.query(f"{label}-plain") == {dockerd.address_of(plain)}, 20), watcher.log_text()[
        -3000:
    ]
    assert wait_for(lambda: srv_count(named, f"_80._tcp.{label}-hog") == MAX_RRSET), watcher.log_text()[-3000:]
    assert wait_for(lambda: srv_count(named, f"_81._tcp.{label}-hog") == MAX_RRSET), watcher.log_text()[-3000:]
    assert named.query(f"{label}-hog") == {"10.250.0.9"}
    assert f"more than {MAX_RRSET}" in watcher.log_text()
    later = containers(hostname=f"{label}-later")  # nothing waits behind the hog
    assert wait_for(lambda: named.query(f"{label}-later") == {dockerd.address_of(later)}, 20), watcher.log_text()[
        -3000:
    ]
    assert watcher.terminate() == 0


@pytest.fixture
def named_small_rrsets(run_dir):
    """A named whose RRsets may hold two records (max-records-per-type): an update above it gets SERVFAIL."""
    server = PrivateNamed(run_dir[0], name="named-small-rrsets")
    server.provision()
    conf = server.dir / "named.conf"
    conf.write_text(conf.read_text().replace("\trecursion no;\n", "\trecursion no;\n\tmax-records-per-type 2;\n"))
    server.start()
    yield server
    server.stop()


def servfails(port):
    """dockernet_update_failures_total{code="SERVFAIL"} as the watcher's /metrics says it."""
    status, body = http_get(port, "/metrics")
    found = re.search(r'^dockernet_update_failures_total\{code="SERVFAIL"\} ([0-9.e+]+)$', body, re.M)
    return float(found.group(1)) if status == 200 and found else 0.0


def test_a_servfail_for_one_name_is_that_names_alone(dockerd, named_small_rrsets, containers, watchers, label):
    server = named_small_rrsets
    port = free_port()
    watcher = watchers(server=server, extra=("--settle-time", "1", "--metrics-listen", f"127.0.0.1:{port}")).start()
    networks = [dockerd.client.networks.create(f"{label}-n{n}") for n in (1, 2)]
    try:
        big = containers(hostname=f"{label}-big")
        for network in networks:
            network.connect(big)  # three IPv4 addresses: one A record more than the server takes
        # failed more than once in a row: before, that meant "the server is down" and every name waited
        assert wait_for(lambda: servfails(port) >= 2, 30), watcher.log_text()[-3000:]
        assert http_get(port, "/healthz")[0] == 200  # the server is not taken for failing
        assert f"the zone takes other updates, so only {label}-big.{server.zone}. waits" in watcher.log_text()
        small = containers(hostname=f"{label}-small")
        assert wait_for(lambda: server.query(f"{label}-small") == {dockerd.address_of(small)}, 20), watcher.log_text()[
            -3000:
        ]
        for network in networks:
            network.disconnect(big)  # back to one address: the name goes through
        assert wait_for(lambda: server.query(f"{label}-big") == {dockerd.address_of(big)}, 30), watcher.log_text()[
            -3000:
        ]
    finally:
        for network in networks:
            try:
                network.remove()
            except Exception:
                pass
    assert watcher.terminate() == 0

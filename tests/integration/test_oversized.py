"""A container that asks for more records in one RRset than the server takes costs only itself."""

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype

from dockernet.plan import MAX_RRSET
from tests.harness import wait_for


def srv_count(named, name):
    """SRV records at ``name``, asked over TCP (the answer does not fit a plain UDP response)."""
    fqdn = dns.name.from_text(name, dns.name.from_text(named.zone))
    response = dns.query.tcp(dns.message.make_query(fqdn, "SRV"), "127.0.0.1", port=named.port, timeout=5)
    rrset = response.get_rrset(response.answer, fqdn, dns.rdataclass.IN, dns.rdatatype.SRV)
    return len(rrset) if rrset else 0


def test_a_container_with_too_many_published_ports_costs_no_one_else(dockerd, named, containers, watchers, label):
    many = MAX_RRSET + 40  # BIND refuses an RRset above 100 records (max-records-per-type) with SERVFAIL
    # with --address host an SRV record carries the host port: one per binding of the container port
    watcher = watchers(extra=("--settle-time", "1", "--publish-ports", "--address", "host",
                              "--host-address", "10.250.0.9")).start()
    hog = containers(hostname=f"{label}-hog",
                     ports={"80/tcp": list(range(20001, 20001 + many)), "81/tcp": list(range(21001, 21001 + many))})
    plain = containers(hostname=f"{label}-plain")
    assert wait_for(lambda: named.query(f"{label}-plain") == {dockerd.address_of(plain)}, 20), watcher.log_text()[-3000:]
    assert wait_for(lambda: srv_count(named, f"_80._tcp.{label}-hog") == MAX_RRSET), watcher.log_text()[-3000:]
    assert wait_for(lambda: srv_count(named, f"_81._tcp.{label}-hog") == MAX_RRSET), watcher.log_text()[-3000:]
    assert named.query(f"{label}-hog") == {"10.250.0.9"}
    assert f"more than {MAX_RRSET}" in watcher.log_text()
    later = containers(hostname=f"{label}-later")  # nothing waits behind the hog
    assert wait_for(lambda: named.query(f"{label}-later") == {dockerd.address_of(later)}, 20), \
        watcher.log_text()[-3000:]
    assert watcher.terminate() == 0

"""Production-grade records on real named and dockerd: owners, PTR, IPv6, networks, labels, collisions."""

import dns.rcode
import dns.reversename

from tests.harness import wait_for
from tests.support import ipv6_of, ptr_name

REV4 = "1.10.in-addr.arpa"


def test_two_owners_never_touch_each_others_records(dockerd, named, containers, watchers, label):
    first = watchers(owner_id=f"{label}-a").start()
    container = containers(hostname=label)
    mark = f'"heritage=dockernet,owner={label}-a,container={container.id[:12]}"'
    assert wait_for(lambda: named.query(label, "TXT") == {mark})
    second = watchers(owner_id=f"{label}-b").start()  # same container, same name, another host's id
    assert wait_for(lambda: f"is owned by {label}-a; not taking it" in second.log_text())
    # the other owner's one-shot reconcile and purge leave it alone too
    assert second.once().returncode == 0
    assert second.dns("purge").returncode == 0
    assert named.query(label, "TXT") == {mark} and named.query(label) == {dockerd.address_of(container)}
    second.terminate()
    container.remove(force=True)
    assert wait_for(lambda: named.query(label) == set())
    assert first.terminate() == 0


def test_ptr_records_appear_and_disappear_with_their_a_records(dockerd, named, containers, watchers, label):
    watcher = watchers(extra=("--settle-time", "1", "--reverse-zone", REV4)).start()
    container = containers(hostname=label)
    address = dockerd.address_of(container)
    assert wait_for(lambda: named.query(ptr_name(address), "PTR") == {f"{label}.{named.zone}."})
    assert named.query(label) == {address}
    container.remove(force=True)
    assert wait_for(lambda: named.query(ptr_name(address), "PTR") == set())
    assert named.query(label) == set()
    assert watcher.terminate() == 0


def test_ipv6_container_gets_aaaa_and_an_ip6_arpa_ptr(dockerd, named, containers, watchers, label):
    watcher = watchers(extra=("--settle-time", "1", "--reverse-zone", "auto")).start()
    assert "Publishing PTR records for fd00:d0c::/64" in watcher.log_text()
    container = containers(hostname=label)
    v6 = ipv6_of(dockerd, container)
    assert v6.startswith("fd00:d0c:")
    assert wait_for(lambda: named.query(label, "AAAA") == {v6})
    assert wait_for(lambda: named.query(ptr_name(v6), "PTR") == {f"{label}.{named.zone}."})
    # a separate UPDATE to another zone: wait for it too
    assert wait_for(lambda: named.query(ptr_name(dockerd.address_of(container)), "PTR") == {f"{label}.{named.zone}."})
    container.remove(force=True)
    assert wait_for(lambda: named.query(label, "AAAA") == set() and named.query(ptr_name(v6), "PTR") == set())
    assert watcher.terminate() == 0


def test_user_defined_network_connect_and_disconnect(dockerd, named, containers, watchers, label):
    network = dockerd.client.networks.create(f"{label}-net")
    container = None
    try:
        watcher = watchers().start()
        container = containers(hostname=label, network=network.name)
        container.reload()
        on_net = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        assert container.attrs["NetworkSettings"]["IPAddress"] == ""  # why per-network settings matter
        assert wait_for(lambda: named.query(label) == {on_net})
        dockerd.client.networks.get("bridge").connect(container)
        bridge_address = dockerd.address_of(container)
        assert wait_for(lambda: named.query(label) == {on_net, bridge_address}), named.query(label)
        network.disconnect(container)
        assert wait_for(lambda: named.query(label) == {bridge_address}), named.query(label)
        assert watcher.terminate() == 0
    finally:
        if container is not None:
            dockerd.client.api.remove_container(container.id, force=True)
        network.remove()


def test_network_filter_publishes_only_that_network(dockerd, named, containers, watchers, label):
    network = dockerd.client.networks.create(f"{label}-net")
    try:
        watcher = watchers(extra=("--settle-time", "1", "--network", network.name)).start()
        on_bridge = containers(hostname=f"{label}-b")
        on_net = containers(hostname=f"{label}-n", network=network.name)
        on_net.reload()
        address = on_net.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        assert wait_for(lambda: named.query(f"{label}-n") == {address})
        assert wait_for(lambda: "has no address on " + network.name in watcher.log_text())
        assert named.query(f"{label}-b") == set()
        assert watcher.terminate() == 0
        dockerd.client.api.remove_container(on_net.id, force=True)
        dockerd.client.api.remove_container(on_bridge.id, force=True)
    finally:
        network.remove()


def test_rename_moves_the_record(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    container = containers(name=f"{label}-old")  # no hostname: the name is published
    assert wait_for(lambda: named.query(f"{label}-old") == {dockerd.address_of(container)})
    container.rename(f"{label}-new")
    assert wait_for(lambda: named.query(f"{label}-new") == {dockerd.address_of(container)})
    assert wait_for(lambda: named.query(f"{label}-old") == set())
    assert watcher.terminate() == 0


def test_labels(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    named_one = containers(
        hostname=f"{label}-h",
        labels={"dockernet.name": f"{label}-n", "dockernet.aliases": f"{label}-x, {label}-y", "dockernet.ttl": "30"},
    )
    address = dockerd.address_of(named_one)
    for name in (f"{label}-n", f"{label}-x", f"{label}-y"):
        assert wait_for(lambda name=name: named.query(name) == {address}), name
    assert named.ttl(f"{label}-n") == 30
    assert named.query(f"{label}-h") == set()
    off = containers(hostname=f"{label}-off", labels={"dockernet.enable": "false"})
    bad = containers(hostname=f"{label}-bad", labels={"dockernet.ttl": "soon"})
    assert wait_for(lambda: named.query(f"{label}-bad") == {dockerd.address_of(bad)})
    assert named.ttl(f"{label}-bad") == 60
    log = watcher.log_text()
    assert "ignoring dockernet.ttl='soon'" in log and "dockernet.enable=false: not published" in log
    assert named.query(f"{label}-off") == set() and off.status in ("created", "running")
    network = dockerd.client.networks.create(f"{label}-lbl")
    try:
        picky = containers(hostname=f"{label}-p", labels={"dockernet.network": network.name})
        network.connect(picky)
        picky.reload()
        only = picky.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        assert wait_for(lambda: named.query(f"{label}-p") == {only}), named.query(f"{label}-p")
        dockerd.client.api.remove_container(picky.id, force=True)
    finally:
        network.remove()
    assert watcher.terminate() == 0


def test_collision_holder_keeps_the_name_and_the_other_takes_it_after(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    first = containers(name=f"{label}-1", hostname=label)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(first)})
    second = containers(name=f"{label}-2", hostname=label)
    assert wait_for(lambda: f"is wanted by 2 containers: ({first.id[:12]}) holds it" in watcher.log_text())
    assert named.query(label) == {dockerd.address_of(first)}
    first.remove(force=True)
    assert wait_for(lambda: named.query(label) == {dockerd.address_of(second)})
    # the holder keeps the name against a newcomer too
    third = containers(name=f"{label}-3", hostname=label)
    assert wait_for(lambda: f"({second.id[:12]}) holds it; ({third.id[:12]})" in watcher.log_text())
    watcher.kill()
    restarted = watchers().start()  # a fresh watcher learns the holder from the zone, not from event order
    assert wait_for(lambda: f"({second.id[:12]}) holds it" in restarted.new_log_text())
    assert named.query(label) == {dockerd.address_of(second)}
    code = restarted.terminate()
    assert code == 0, restarted.log_text()[-3000:] + restarted.stderr_text()


def test_hand_made_record_survives_sync_purge_and_check(dockerd, named, containers, watchers, label):
    assert named.update(lambda u: u.add(label, 300, "A", "192.0.2.44")) == dns.rcode.NOERROR
    watcher = watchers()
    containers(hostname=label)
    for verb in (("sync",), ("purge",), ("check",)):
        result = watcher.dns(*verb)
        assert result.returncode == 0, result.stdout + result.stderr
    assert named.query(label) == {"192.0.2.44"}
    named.update(lambda u: u.delete(label))

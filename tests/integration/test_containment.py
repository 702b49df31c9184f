"""One container, one owner, one label: none may cost anyone else (real dockerd and named).

Each test reproduces a way one party hurt another before: a container with
thousands of aliases holding up every other container, SRV records under
names the container does not hold, a network label widening the operator's
--network, a megabyte label copied into the log. Every wait is for the state
being checked, bounded.
"""

import os
import signal

import dns.name
import dns.rdatatype
import dns.update

from tests.harness import wait_for


def aliases(prefix, count):
    return ",".join(f"{prefix}-{n}" for n in range(count))


def test_a_container_with_thousands_of_aliases_holds_up_no_other_container(dockerd, named, containers, watchers, label):
    """With the bound raised to let them all through, the big container's names are interleaved with the
    victim's event: the victim answers while the big container's last alias is still to come."""
    count = 4000  # one UPDATE each: seconds of work even on a fast host, so the victim starts in the middle
    watcher = watchers(extra=("--settle-time", "1", "--max-names-per-container", str(count + 1))).start()
    last = f"{label}-a-{count - 1}"  # names are synced in order: this one comes last
    big = containers(hostname=f"{label}-big", labels={"dockernet.aliases": aliases(f"{label}-a", count)})
    assert wait_for(lambda: named.query(f"{label}-a-10"), 30), watcher.log_text()[-3000:]
    victim = containers(hostname=f"{label}-victim")
    assert not named.query(last), "the big container was done before the victim started: nothing was tested"
    assert wait_for(lambda: named.query(f"{label}-victim") == {dockerd.address_of(victim)}, 10), watcher.log_text()[
        -3000:
    ]
    assert not named.query(last), "the victim waited for every alias of the big container"
    assert wait_for(lambda: named.query(last), 180)  # and the big one's names all come
    big.remove(force=True)  # and go, so the session's zone stays small for the tests after this one
    assert wait_for(lambda: not named.query(last) and not named.query(f"{label}-a-0"), 180)


def test_names_beyond_the_bound_are_left_out_and_said_once(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    big = containers(hostname=f"{label}-many", labels={"dockernet.aliases": aliases(f"{label}-m", 10000)})
    victim = containers(hostname=f"{label}-next")
    assert wait_for(lambda: named.query(f"{label}-next") == {dockerd.address_of(victim)}, 10), watcher.log_text()[
        -3000:
    ]
    assert wait_for(lambda: named.query(f"{label}-m-30"), 10)  # the hostname and 31 aliases: 32 names
    assert not named.query(f"{label}-m-31")
    said = [line for line in watcher.log_text().splitlines() if f"Container ({big.id[:12]}) asks for more" in line]
    assert len(said) == 1 and "publishing the first 32 (--max-names-per-container)" in said[0], said


def test_srv_records_only_under_names_the_container_holds(dockerd, named, containers, watchers, label):
    other_owner, by_hand, held = f"{label}-other", f"{label}-ns", f"{label}-held"
    zone = dns.name.from_text(named.zone)

    def write_by_hand(update):
        update.add(dns.name.from_text(other_owner, zone), 60, "A", "10.99.0.1")
        update.add(
            dns.name.from_text(other_owner, zone),
            60,
            "TXT",
            '"heritage=dockernet,owner=someone-else,container=0123456789ab"',
        )
        update.add(dns.name.from_text(by_hand, zone), 60, "A", "10.99.0.2")

    assert named.update(write_by_hand) == 0
    watcher = watchers(extra=("--settle-time", "1", "--publish-ports")).start()
    holder = containers(hostname=held)  # publishes no port; holds its own name
    assert wait_for(lambda: named.query(held) == {dockerd.address_of(holder)})
    web = containers(
        hostname=f"{label}-web",
        ports={"80/tcp": 17080},
        labels={"dockernet.aliases": f"{other_owner},{by_hand},{held}", "dockernet.srv.80": "http"},
    )
    # the container's own SRV name sorts after the three others, so once it is there they were all planned
    assert wait_for(lambda: named.query(f"_http._tcp.{label}-web", "SRV") == {f"0 0 80 {label}-web.{named.zone}."}), (
        watcher.log_text()[-3000:]
    )
    for name in (other_owner, by_hand, held):
        assert named.query(f"_http._tcp.{name}", "SRV") == set(), name
        assert named.query(f"_http._tcp.{name}", "TXT") == set(), name
    holder.remove(force=True)  # the held name is free now: it and the SRV name under it are web's
    assert wait_for(lambda: named.query(f"_http._tcp.{held}", "SRV") == {f"0 0 80 {held}.{named.zone}."}), (
        watcher.log_text()[-3000:]
    )
    assert named.query(held) == {dockerd.address_of(web)}
    assert named.query(other_owner) == {"10.99.0.1"} and named.query(by_hand) == {"10.99.0.2"}


def test_a_network_label_cannot_widen_the_operators_network_limit(dockerd, named, containers, watchers, label):
    network = dockerd.client.networks.create(f"{label}-net", driver="bridge")
    outside = None
    try:
        watcher = watchers(extra=("--settle-time", "1", "--network", "bridge")).start()
        outside = containers(hostname=f"{label}-out", labels={"dockernet.network": network.name})
        network.connect(outside)
        inside = containers(hostname=f"{label}-in", labels={"dockernet.network": "bridge"})
        assert wait_for(lambda: named.query(f"{label}-in") == {dockerd.address_of(inside)}), watcher.log_text()[-3000:]
        line = (
            f"Container ({outside.id[:12]}) asks for dockernet.network='{network.name}', which --network does not allow"
        )
        assert wait_for(lambda: line in watcher.log_text()), watcher.log_text()[-3000:]
        assert named.query(f"{label}-out") == set()
    finally:
        if outside is not None:
            outside.remove(force=True)
        network.remove()


def test_a_megabyte_label_gives_a_bounded_log_line(dockerd, named, containers, watchers, label):
    watcher = watchers().start()
    poison = containers(hostname=f"{label}-big-label", labels={"dockernet.name": "x!" * 500_000})
    line = f"Skipping container ({poison.id[:12]}) name"
    assert wait_for(lambda: line in watcher.log_text()), watcher.log_text()[-3000:]
    said = [text for text in watcher.log_text().splitlines() if line in text]
    assert len(said) == 1 and len(said[0]) < 2000 and "more characters)" in said[0], [len(text) for text in said]


def test_looks_at_a_blocked_name_wait_for_a_silent_server(dockerd, named, containers, watchers, label):
    """While named answers nothing, the look at a name held by others backs off and says so once; when named
    answers again and the name is released, the container takes it."""
    held = dns.name.from_text(f"{label}-held", dns.name.from_text(named.zone))
    assert named.update(lambda update: update.add(held, 60, "A", "10.99.0.3")) == 0
    watcher = watchers().start()
    container = containers(hostname=f"{label}-held")
    assert wait_for(lambda: f"{held} is held by records dockernet did not write" in watcher.log_text()), (
        watcher.log_text()[-3000:]
    )
    os.kill(named.proc.pid, signal.SIGSTOP)  # named takes the datagrams and answers nothing
    try:
        said = "Cannot look at names held by others now: "
        assert wait_for(lambda: said in watcher.log_text(), 20), watcher.log_text()[-3000:]
        line = next(text for text in watcher.log_text().splitlines() if said in text)
        assert "looking at names held by others again in 0.5 s" in line, line
    finally:
        os.kill(named.proc.pid, signal.SIGCONT)
    assert named.update(lambda update: update.delete(held)) == 0
    assert wait_for(lambda: named.query(f"{label}-held") == {dockerd.address_of(container)}, 30), watcher.log_text()[
        -3000:
    ]
    assert watcher.log_text().count(said) == 1

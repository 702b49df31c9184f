"""dockernet against Debian 12's rootful Podman (4.3), serving its Docker-compatible API (tests/podman.py).

The scenarios of the Docker tests, on the same assertions where the behaviour is the same. The watcher
runs with a resync interval of an hour: whatever it removes, it removes because of an event.
"""

from __future__ import annotations

import json

import pytest

from dockernet.publish.registry import ownership_mark
from tests.harness import WatcherProcess, run_cli, tab, wait_for

#: only events may remove a name within a test's time
EVENTS_ONLY = ("--settle-time", "1", "--resync-interval", "3600")


def address(container, network: str = "podman") -> str:
    """The container's address on ``network`` (Podman leaves the top-level IPAddress empty on two networks)."""
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


@pytest.fixture
def pod_watchers(podman, named, run_dir, owner):
    made = []
    workdir = run_dir[0] / "watchers" / f"podman-{owner}"
    workdir.mkdir(parents=True, exist_ok=True)

    def make(owner_id=owner, extra=EVENTS_ONLY):
        watcher = WatcherProcess(podman, named, workdir, owner_id, extra=extra)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.cleanup()


def test_the_watcher_says_it_talks_to_podman_and_its_api_version(pod_watchers):
    watcher = pod_watchers().start()
    assert "Watching Docker events at unix://" in watcher.log_text()
    assert ", Podman 4." in watcher.log_text() and "(API 1.41)" in watcher.log_text()
    assert watcher.terminate() == 0


@pytest.mark.parametrize("ending", ["stop", "kill", "rm -f"])
def test_a_container_is_published_and_its_end_removes_it_by_event(
    podman, named, pod_containers, pod_watchers, label, ending
):
    watcher = pod_watchers().start()
    container = pod_containers(name=f"{label}-c", hostname=label)
    mine = address(container)
    assert wait_for(lambda: named.query(label) == {mine}), watcher.log_text()[-2000:]
    assert named.query(label, "TXT") == {f'"{ownership_mark(watcher.owner, container.id[:12])}"'}
    if ending == "stop":
        container.stop(timeout=0)  # Podman sends die and cleanup, and only sometimes stop
    elif ending == "kill":
        container.kill()  # kill, die
    else:
        container.remove(force=True)  # die, remove
    assert wait_for(lambda: named.query(label) == set()), watcher.log_text()[-2000:]
    assert named.query(label, "TXT") == set()
    # the line is written once the server's answer is read, a moment after named applied the removal
    removed = f"Removed Docker DNS ({container.id[:12]})"
    assert wait_for(lambda: removed in watcher.log_text()), watcher.log_text()[-2000:]
    assert watcher.terminate() == 0


def test_a_second_network_is_published_on_connect_and_withdrawn_on_disconnect(
    podman, named, pod_containers, pod_watchers, label
):
    watcher = pod_watchers().start()
    container = pod_containers(hostname=label)
    network = podman.client.networks.create(f"{label}-net", driver="bridge")
    try:
        first = address(container)
        assert wait_for(lambda: named.query(label) == {first}), watcher.log_text()[-2000:]
        network.connect(container)  # Podman 4.3's event names the container, not the network
        second = address(container, network.name)
        assert second and second != first
        assert wait_for(lambda: named.query(label) == {first, second}), watcher.log_text()[-2000:]
        network.disconnect(container)
        assert wait_for(lambda: named.query(label) == {first}), watcher.log_text()[-2000:]
    finally:
        container.remove(force=True)
        network.remove()
    assert watcher.terminate() == 0


def test_a_restarted_container_and_a_renamed_one_keep_their_names_right(
    podman, named, pod_containers, pod_watchers, label
):
    watcher = pod_watchers().start()
    restarted = pod_containers(hostname=f"{label}-r")
    assert wait_for(lambda: named.query(f"{label}-r") == {address(restarted)}), watcher.log_text()[-2000:]
    restarted.restart(timeout=0)  # restart, die, init, start
    assert wait_for(lambda: f"Event Fired ({restarted.id[:12]}): restart" in watcher.log_text())
    assert wait_for(lambda: named.query(f"{label}-r") == {address(restarted)} and restarted.status == "running")
    renamed = pod_containers(name=f"{label}-old")  # no hostname: the name is published
    assert wait_for(lambda: named.query(f"{label}-old") == {address(renamed)}), watcher.log_text()[-2000:]
    renamed.rename(f"{label}-new")
    assert wait_for(lambda: named.query(f"{label}-new") == {address(renamed)}), watcher.log_text()[-2000:]
    assert wait_for(lambda: named.query(f"{label}-old") == set())
    assert watcher.terminate() == 0


def test_a_crashed_watcher_restarted_with_its_owner_id_takes_its_own_lease(
    podman, named, pod_containers, pod_watchers, label
):
    """Podman's /info ID is new on every call: taken as the engine's identity, the restart would be refused."""
    first = pod_watchers().start()
    before = pod_containers(hostname=f"{label}-a")
    assert wait_for(lambda: named.query(f"{label}-a") == {address(before)}), first.log_text()[-2000:]
    first.kill()  # its lease stays in the zone, naming this engine
    again = pod_watchers().start()
    assert "already used by engine" not in again.stderr_text() and again.proc.poll() is None
    assert f"Holding the lease of owner id '{again.owner}'" in again.new_log_text()
    after = pod_containers(hostname=f"{label}-b")
    assert wait_for(lambda: named.query(f"{label}-b") == {address(after)}), again.log_text()[-2000:]
    assert named.query(f"{label}-a") == {address(before)}
    assert again.terminate() == 0


def test_compose_replicas_share_the_service_name(podman, named, pod_containers, pod_watchers, label):
    project = f"{label}p"
    watcher = pod_watchers().start()
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": "web"}
    web = [
        pod_containers(name=f"{project}_web_{n}", labels={**labels, "com.docker.compose.container-number": str(n)})
        for n in (1, 2)
    ]
    addresses = {address(container) for container in web}
    assert wait_for(lambda: named.query(f"web.{project}") == addresses), watcher.log_text()[-2000:]
    web[1].remove(force=True)
    assert wait_for(lambda: named.query(f"web.{project}") == {address(web[0])}), watcher.log_text()[-2000:]
    assert watcher.terminate() == 0


def test_a_hostile_hostname_hurts_only_its_own_container(podman, named, pod_containers, pod_watchers, label):
    watcher = pod_watchers().start()
    poison = pod_containers(hostname=f"{label}-p", labels={"dockernet.name": "0\n.docker.test"})
    good = pod_containers(hostname=f"{label}-g")
    assert wait_for(lambda: named.query(f"{label}-g") == {address(good)}), watcher.log_text()[-2000:]
    said = [line for line in watcher.log_text().splitlines() if f"Skipping container ({poison.id[:12]})" in line]
    assert len(said) == 1 and "'0\\n.docker.test'" in said[0], said
    assert watcher.terminate() == 0


def test_netns_show_and_topology_see_a_podman_container(podman, named, pod_containers, pod_watchers, label):
    container = pod_containers(name=f"{label}-show", hostname=f"{label}-show")
    shown = run_cli("--docker-host", podman.url, "netns", "show", container.name, "--json")
    assert shown.returncode == 0, shown.stderr
    interfaces = json.loads(shown.stdout)
    text = json.dumps(interfaces)
    assert address(container) in text
    watcher = pod_watchers()
    assert watcher.once().returncode == 0
    drawn = run_cli(
        "--docker-host",
        podman.url,
        "topology",
        *named.client_args(),
        "--owner-id",
        watcher.owner,
        "--host-netns",
        podman.netns,
        "--json",
    )
    assert drawn.returncode == 0, drawn.stderr
    topology = json.loads(drawn.stdout)
    ports = [port for bridge in topology["bridges"] for port in bridge["ports"] if port["container"]]
    ours = [port["container"] for port in ports if port["container"]["name"] == container.name]
    assert ours, topology
    states = {name["name"]: name["state"] for node in ours for name in node["names"]}
    assert states[f"{label}-show.docker.test."] == "published"


def test_dns_ls_sees_a_podman_container_running_and_bridge_setup_refuses_podman(
    podman, named, pod_containers, pod_watchers, label
):
    container = pod_containers(hostname=f"{label}-ls")
    watcher = pod_watchers()
    assert watcher.once().returncode == 0
    listed = watcher.dns("ls", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [row for row in json.loads(listed.stdout) if row["name"].startswith(f"{label}-ls.")]
    assert rows and all(row["running"] for row in rows), rows
    assert {row["container"] for row in rows} == {container.id[:12]}
    refused = run_cli("--docker-host", podman.url, "bridge", "setup", "--cidr", "10.77.0.0/16", "--dry-run")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "is Podman 4." in refused.stderr and "Podman's networks are netavark's" in refused.stderr


def test_netns_arguments_complete_podman_container_names(podman, pod_containers, label):
    running = sorted([pod_containers(name=f"{label}-web").name, pod_containers(name=f"{label}-db").name])
    pod_containers(name=f"{label}-old").stop(timeout=0)
    assert tab(["dockernet", "--docker-host", podman.url, "netns", "show"], f"{label}-") == running

"""The rootful Podman test bed itself (#25): its compat API answers, runs the busybox image, and streams events.

What dockernet does against it is tested elsewhere; these prove the bed is a real engine worth testing on.
"""

import json
import os
import time

from tests.harness import wait_for


def test_compat_api_answers_version_as_podman(podman):
    version = podman.client.version()
    print(json.dumps(version.get("Components"), indent=1))
    names = [component["Name"] for component in version["Components"]]
    assert "Podman Engine" in names
    assert version["ApiVersion"]


def test_container_runs_with_hostname_and_an_address_on_the_default_network(podman, pod_containers):
    container = pod_containers(name="bed-one", hostname="bed-one-host")
    container.reload()
    assert container.attrs["State"]["Running"]
    assert container.attrs["Config"]["Hostname"] == "bed-one-host"
    networks = container.attrs["NetworkSettings"]["Networks"]
    assert list(networks) == ["podman"]  # the compat /networks calls the same network "bridge"
    assert networks["podman"]["IPAddress"].startswith("10.88.")
    assert container.exec_run(["hostname"]).output.decode().strip() == "bed-one-host"


def test_state_pid_and_its_net_namespace_are_valid_from_the_host(podman, pod_containers):
    container = pod_containers(name="bed-pid")
    container.reload()
    pid = container.attrs["State"]["Pid"]
    assert pid > 0
    netns = os.readlink(f"/proc/{pid}/ns/net")
    assert netns.startswith("net:[") and netns != os.readlink("/proc/self/ns/net")
    # the bed's containers sit in its cgroup parent, which the harness sweeps after an interrupted run
    assert podman.cgroup_parent + "/" in open(f"/proc/{pid}/cgroup").read()


def test_a_second_network_is_created_and_connected(podman, pod_containers):
    network = podman.client.networks.create("bed-second")
    try:
        container = pod_containers(name="bed-two")
        network.connect(container)
        container.reload()
        networks = container.attrs["NetworkSettings"]["Networks"]
        assert set(networks) == {"podman", "bed-second"}
        assert all(settings["IPAddress"] for settings in networks.values())
        network.disconnect(container)
        container.reload()
        assert set(container.attrs["NetworkSettings"]["Networks"]) == {"podman"}
    finally:
        podman.client.api.remove_container("bed-two", force=True)
        network.remove()


def test_events_stream_start_die_and_remove(podman, pod_containers):
    since = time.time() - 1
    container = pod_containers(name="bed-events")
    container.remove(force=True)
    seen: list[dict] = []

    def events_arrived() -> bool:
        stream = podman.client.api.events(since=since, until=time.time() + 1, decode=True)
        seen[:] = [event for event in stream if event.get("Actor", {}).get("ID") == container.id]
        actions = [event["Action"] for event in seen]
        return {"create", "start", "die", "remove"} <= set(actions)

    assert wait_for(events_arrived, 20, 0.5), [event["Action"] for event in seen]
    actions = [event["Action"] for event in seen]
    assert actions.index("start") < actions.index("die") < actions.index("remove")

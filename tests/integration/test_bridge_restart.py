"""``bridge setup --restart-docker`` against a dockerd the test runs by pid file, in a namespace of its own.

dockernet stops it, applies, starts it again from the same command line in
the same namespace, and asks the engine whether its bridge network uses the
new link, subnet and gateway. When the restarted dockerd refuses (a flag on
its command line that no file dockernet reads contradicts the new
settings), the old link and files come back and Docker runs again.
"""

from __future__ import annotations

import itertools
import os

import pytest

from dockernet.pidfile import process_alive, read_pid
from tests.harness import PREFIX, PrivateDockerd, delete_netns, run_cli, stop_pid, wait_for

_count = itertools.count()


@pytest.fixture
def engine(run_dir, tmp_path):
    """A dockerd in a namespace of its own; whatever dockerd runs from its pid file at the end is stopped."""
    base, _ = run_dir
    index = next(_count)
    made = []

    def start(**kwargs) -> PrivateDockerd:
        daemon = PrivateDockerd(base / f"rs{index}", f"{PREFIX}{os.getpid()}-rs{index}", bip=None, **kwargs)
        made.append(daemon)
        daemon.start()
        daemon.import_busybox()
        return daemon

    yield start
    for daemon in made:
        try:
            daemon.remove_all()
        except Exception:
            pass
        pid = read_pid(str(daemon.pidfile))
        if pid and process_alive(pid):
            stop_pid(pid, timeout=30)
        daemon.stop()
        delete_netns(daemon.netns)


def setup(dockerd: PrivateDockerd, tmp_path, *extra):
    return run_cli(
        "--docker-host",
        dockerd.url,
        "bridge",
        "setup",
        "--netns",
        dockerd.netns,
        "--cidr",
        "10.1.0.0/16",
        "--daemon-json",
        str(dockerd.base / "daemon.json"),
        "--defaults-file",
        str(tmp_path / "docker"),
        "--no-interfaces-file",
        "--unit-dir",
        str(tmp_path / "units"),
        "--docker-pid",
        str(dockerd.pidfile),
        *extra,
        timeout=300,
    )


def bridge_network(dockerd):
    dockerd._client = None  # the engine was restarted: a new connection
    attrs = dockerd.client.networks.get("bridge").attrs
    config = attrs["IPAM"]["Config"][0]
    return attrs["Options"]["com.docker.network.bridge.name"], config["Subnet"], config.get("Gateway")


def test_without_the_flag_a_running_docker_is_refused_and_the_hint_names_it(engine, tmp_path):
    dockerd = engine(settings={"log-level": "warn"})
    result = setup(dockerd, tmp_path)
    assert result.returncode == 1 and "Docker is running" in result.stderr and "--restart-docker" in result.stderr


def test_restart_docker_applies_and_the_engine_uses_the_new_bridge(engine, tmp_path):
    dockerd = engine(settings={"log-level": "warn"})
    old_pid = read_pid(str(dockerd.pidfile))
    dockerd.run(name="keeps", restart_policy={"Name": "always"})
    result = setup(dockerd, tmp_path, "--restart-docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"# stopping Docker (process {old_pid} from {dockerd.pidfile})" in result.stdout
    assert "# Docker runs again: its bridge network uses docker0, 10.1.0.0/16, gateway 10.1.0.1" in result.stdout
    new_pid = read_pid(str(dockerd.pidfile))
    assert new_pid and new_pid != old_pid and process_alive(new_pid)
    assert dockerd.proc.poll() is not None  # the one the test started has exited (dockernet stopped it)
    assert bridge_network(dockerd) == ("docker0", "10.1.0.0/16", "10.1.0.1")
    keeps = dockerd.client.containers.get("keeps")  # restart policy: back, on the new bridge
    assert wait_for(lambda: keeps.reload() or dockerd.address_of(keeps).startswith("10.1."), 30)


def test_a_dockerd_that_refuses_the_new_settings_gets_the_old_ones_back_and_runs(engine, tmp_path):
    # --bip on dockerd's own command line: no file dockernet reads says so, and dockerd refuses it with "bridge"
    dockerd = engine(settings={"log-level": "warn"}, extra_args=("--bip", "172.30.0.1/16"))
    before = (dockerd.base / "daemon.json").read_bytes()
    assert bridge_network(dockerd) == ("docker0", "172.30.0.0/16", "172.30.0.1")
    result = setup(dockerd, tmp_path, "--restart-docker")
    assert result.returncode == 1, result.stdout
    error = [
        line
        for line in result.stderr.strip().splitlines()  # the plan's warnings come first
        if not line.startswith("dockernet: warning: ")
    ]
    assert len(error) == 1, result.stderr
    assert "Docker did not come back with docker0 on 10.1.0.0/16" in error[0]
    assert "the old link and files are back and Docker runs again with them" in error[0]
    assert (dockerd.base / "daemon.json").read_bytes() == before
    assert bridge_network(dockerd) == ("docker0", "172.30.0.0/16", "172.30.0.1")
    shown = run_cli(
        "--docker-host",
        dockerd.url,
        "bridge",
        "show",
        "--netns",
        dockerd.netns,
        "--daemon-json",
        str(dockerd.base / "daemon.json"),
        "--defaults-file",
        str(tmp_path / "docker"),
    )
    assert "engine: Docker's bridge network uses docker0 with 172.30.0.0/16, gateway 172.30.0.1" in shown.stdout
    container = dockerd.run()
    assert dockerd.address_of(container).startswith("172.30.")

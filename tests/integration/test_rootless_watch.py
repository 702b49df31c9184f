"""``dockernet watch --address host`` against rootless engines: the host's address and the HOST port in SRV.

A rootless engine's containers live in its own network namespace
(slirp4netns, RootlessKit): their addresses reach nothing outside. What is
useful is the host's address and the port published there, so the watcher
publishes ``<name> A <host address>`` and ``_http._tcp.<name> SRV 0 0
<host port> <name>.`` (docs/names.md: label ``dockernet.srv=true``, service
name from ``dockernet.srv.<container port>``), and removes both with the
container. The host's address is the one of the engine's namespace
(``host_address``), where the published port is really reachable.
"""

import json

import pytest

from tests.harness import WatcherProcess, wait_for

ENGINES = ["rootless_podman", "rootless_dockerd"]
HOST_PORT = {"rootless_podman": 8181, "rootless_dockerd": 8182}


@pytest.fixture(params=ENGINES)
def engine_name(request):
    return request.param


@pytest.fixture
def engine(request, engine_name):
    return request.getfixturevalue(engine_name)


@pytest.fixture
def watcher(engine, engine_name, named, run_dir, owner):
    owner_id = f"{owner[:36]}-{engine_name}"  # the owner fixture's 50 characters leave out the parameter
    workdir = run_dir[0] / "watchers" / owner_id
    workdir.mkdir(parents=True, exist_ok=True)
    extra = ("--settle-time", "1", "--address", "host", "--host-address", engine.host_address)
    process = WatcherProcess(engine, named, workdir, owner_id, extra=extra)  # an engine with .url and .pidfile
    yield process
    process.cleanup()


def test_watch_address_host_publishes_host_address_and_host_port_srv_then_removes(
    engine, engine_name, watcher, named, label
):
    watcher.start()
    port = HOST_PORT[engine_name]
    labels = {"dockernet.srv": "true", "dockernet.srv.80": "http"}
    container = engine.run(name=label, hostname=label, ports={"80/tcp": port}, labels=labels)
    try:
        srv = f"_http._tcp.{label}"
        published = wait_for(lambda: named.query(label) and named.query(srv, "SRV"), 30, 0.2)
        log = watcher.log_text()
        assert published, f"nothing published for {label}; watcher log:\n{log}\nstderr:\n{watcher.stderr_text()}"
        assert named.query(label) == {engine.host_address}, log
        assert named.query(srv, "SRV") == {f"0 0 {port} {label}.{named.zone}."}, log
        listed = watcher.dns("ls", "--json")  # dns ls asks this engine which containers run
        assert listed.returncode == 0, listed.stderr
        rows = [row for row in json.loads(listed.stdout) if row["name"] == f"{label}.{named.zone}."]
        assert rows and all(row["running"] and row["container"] == container.id[:12] for row in rows), rows
    finally:
        container.remove(force=True)
    gone = wait_for(lambda: not named.query(label) and not named.query(f"_http._tcp.{label}", "SRV"), 30, 0.2)
    assert gone, f"{label} still published after removal; watcher log:\n{watcher.log_text()}"


def test_a_rootless_engine_makes_address_host_the_default_and_says_so(
    engine, engine_name, named, run_dir, owner, label
):
    """No --address: the watcher asks the engine, finds it rootless, and publishes this host's address."""
    from dockernet.bridge import default_route_address

    owner_id = f"{owner[:30]}-dflt-{engine_name[-6:]}"
    workdir = run_dir[0] / "watchers" / owner_id
    workdir.mkdir(parents=True, exist_ok=True)
    process = WatcherProcess(engine, named, workdir, owner_id, extra=("--settle-time", "1"))
    host = default_route_address(None)  # what --address host publishes without --host-address
    try:
        if host is None:  # no default route on this host: the watcher says so in one line instead
            result = process.once()
            assert result.returncode == 2 and "--address host needs this host's address" in result.stderr
            return
        process.start()
        log = process.log_text()
        assert "is rootless: publishing this host's address" in log and ", rootless)" in log, log
        labels = {"dockernet.srv": "true", "dockernet.srv.80": "http"}
        container = engine.run(name=label, hostname=label, ports={"80/tcp": HOST_PORT[engine_name] + 10}, labels=labels)
        try:
            assert wait_for(lambda: named.query(label) == {host}, 30), process.log_text()
        finally:
            container.remove(force=True)
        assert wait_for(lambda: not named.query(label), 30), process.log_text()
    finally:
        process.cleanup()


def test_netns_show_and_topology_work_and_bridge_setup_refuses_against_a_rootless_engine(
    engine, engine_name, named, label
):
    """Root on the host sees a rootless container's pid, and so enters its namespace; there is no host bridge."""
    import json

    from tests.harness import run_cli

    container = engine.run(name=f"{label}-ns", hostname=f"{label}-ns")
    try:
        shown = run_cli("--docker-host", engine.url, "netns", "show", container.name, "--json")
        assert shown.returncode == 0, shown.stderr
        container.reload()
        addresses = {attached["IPAddress"] for attached in container.attrs["NetworkSettings"]["Networks"].values()} - {
            ""
        }
        assert addresses and all(address in shown.stdout for address in addresses), shown.stdout
        drawn = run_cli("--docker-host", engine.url, "topology", *named.client_args(), "--json")
        assert drawn.returncode == 0, drawn.stderr
        # behind no bridge of the host's: drawn under "not on a bridge"
        (node,) = [node for node in json.loads(drawn.stdout)["elsewhere"] if node["name"] == container.name]
        assert node["names"] and node["names"][0]["state"] == "missing", node  # its name's state in the zone
    finally:
        container.remove(force=True)
    refused = run_cli("--docker-host", engine.url, "bridge", "setup", "--cidr", "10.77.0.0/16", "--dry-run")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "rootless)" in refused.stderr and "a rootless engine has no bridge on the host" in refused.stderr

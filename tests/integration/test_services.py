"""Compose service names, round-robin replicas, SRV for published ports and --address host,
on the private dockerd and named (containers carry the labels Compose sets)."""

import os
import shutil
import subprocess

import dns.name
import pytest

from dockernet.bridge import default_route_address
from dockernet.publish.registry import ownership_mark
from tests.harness import delete_netns, ip, make_netns, run_cli, wait_for


def compose_labels(project, service, number, **more):
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": str(number),
        **more,
    }


def replica(containers, project, service, number, **kwargs):
    labels = compose_labels(project, service, number, **kwargs.pop("labels", {}))
    return containers(name=f"{project}_{service}_{number}", labels=labels, **kwargs)


def test_replicas_share_one_rrset_that_follows_scaling(dockerd, named, containers, watchers, label):
    project = f"{label}p"
    watcher = watchers().start()
    web = [replica(containers, project, "web", n) for n in (1, 2, 3)]
    addresses = [dockerd.address_of(container) for container in web]
    service = f"web.{project}"
    assert wait_for(lambda: named.query(service) == set(addresses)), named.query(service)
    assert named.query(service, "TXT") == {f'"{ownership_mark(watcher.owner, f"web.{project}")}"'}
    # each replica keeps its own name too, under its own mark
    assert wait_for(lambda: named.query(f"{project}-web-2") == {addresses[1]})
    assert named.query(f"{project}-web-2", "TXT") == {f'"{ownership_mark(watcher.owner, web[1].id)}"'}

    web[2].stop(timeout=0)  # scale down to two, then one: only the stopped replica's address goes
    assert wait_for(lambda: named.query(service) == set(addresses[:2])), named.query(service)
    web[1].remove(force=True)
    assert wait_for(lambda: named.query(service) == {addresses[0]}), named.query(service)
    assert wait_for(lambda: named.query(f"{project}-web-2") == set())  # its own name: an UPDATE of its own
    web[0].stop(timeout=0)  # the last one takes the name and its mark with it
    assert wait_for(lambda: named.query(service, "TXT") == set()), named.query(service, "TXT")
    assert named.query(service) == set()
    assert watcher.terminate() == 0


def test_a_service_name_held_by_another_owner_is_left_alone(dockerd, named, containers, watchers, label):
    project = f"{label}p"
    held = dns.name.from_text(f"web.{project}", dns.name.from_text(named.zone))
    other_mark = ownership_mark("other-host", f"web.{project}")
    assert named.update(lambda m: (m.add(held, 60, "A", "10.99.0.7"), m.add(held, 60, "TXT", f'"{other_mark}"'))) == 0
    try:
        watcher = watchers()
        container = replica(containers, project, "web", 1)
        assert watcher.once().returncode == 0  # a name held by someone else is not a failure
        assert named.query(f"{project}-web-1") == {dockerd.address_of(container)}
        assert named.query(f"web.{project}") == {"10.99.0.7"}
        assert named.query(f"web.{project}", "TXT") == {f'"{other_mark}"'}
        assert f"{held} is owned by other-host" in watcher.log_text()
        container.remove(force=True)
        assert watcher.once().returncode == 0
        assert named.query(f"web.{project}") == {"10.99.0.7"}
    finally:
        named.update(lambda m: m.delete(held))


def test_templates_and_no_compose_names(dockerd, named, containers, watchers, label):
    project = f"{label}p"
    watcher = watchers(
        extra=("--settle-time", "1", "--name-template", "{number}.{service}.{project}", "--no-compose-names")
    )
    container = replica(containers, project, "db", 4)
    plain = containers(hostname=f"{label}-plain")  # no Compose labels: the template gives it no name
    assert watcher.once().returncode == 0
    assert named.query(f"4.db.{project}") == {dockerd.address_of(container)}
    assert named.query(f"db.{project}") == set()
    assert named.query(f"{project}-db-4") == set()
    assert named.query(f"{label}-plain") == set()
    assert plain.id[:12] not in watcher.log_text()  # a missing field is not worth a line per container


def test_template_errors_stop_the_start_with_one_line(named, dockerd):
    for template, says in (
        ("{nope}", "unknown field '{nope}'"),
        ("", "gives an empty name"),
        ("{name}.elsewhere.org.", "is outside the zone"),
    ):
        result = run_cli(
            "--docker-host",
            dockerd.url,
            "watch",
            "--zone",
            named.zone,
            "--key-file",
            str(named.key_file),
            "--port",
            str(named.port),
            "--name-template",
            template,
            "--once",
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_srv_for_published_ports_with_the_host_address(dockerd, named, containers, watchers, label):
    project = f"{label}p"
    watcher = watchers(extra=("--settle-time", "1", "--address", "host", "--host-address", "10.250.0.9"))
    watcher.start()
    container = replica(
        containers,
        project,
        "api",
        1,
        ports={"80/tcp": 18080},
        labels={"dockernet.srv": "true", "dockernet.srv.80": "http"},
    )
    quiet = replica(containers, project, "worker", 1)  # publishes no port: its own address, no SRV
    own = f"{project}-api-1"
    assert wait_for(lambda: named.query(f"_http._tcp.{own}", "SRV") == {f"0 0 18080 {own}.{named.zone}."})
    assert named.query(own) == {"10.250.0.9"}
    assert named.query(f"api.{project}") == {"10.250.0.9"}
    assert wait_for(lambda: named.query(f"_http._tcp.api.{project}", "SRV") == {f"0 0 18080 {own}.{named.zone}."})
    assert named.query(f"_http._tcp.{own}", "TXT") == {f'"{ownership_mark(watcher.owner, container.id)}"'}
    assert wait_for(lambda: named.query(f"{project}-worker-1") == {dockerd.address_of(quiet)})

    listed = watcher.dns("ls")
    assert listed.returncode == 0, listed.stderr
    assert (
        f"_http._tcp.api.{project}.{named.zone}.  SRV 0 0 18080 {own}.{named.zone}.  service=api.{project} "
        "(running)" in listed.stdout
    ), listed.stdout

    container.remove(force=True)  # the SRV records go with their container
    assert wait_for(lambda: named.query(f"_http._tcp.{own}", "SRV") == set())
    assert wait_for(lambda: named.query(f"_http._tcp.api.{project}", "SRV") == set())
    assert named.query(f"_http._tcp.{own}", "TXT") == set()
    assert watcher.terminate() == 0


def test_srv_carries_the_container_port_at_the_containers_address_and_purge_removes_it(
    dockerd, named, containers, watchers, label
):
    watcher = watchers(extra=("--settle-time", "1", "--publish-ports"))
    container = containers(hostname=f"{label}-srv", ports={"5432/tcp": 15432})
    assert watcher.once().returncode == 0
    assert named.query(f"_5432._tcp.{label}-srv", "SRV") == {f"0 0 5432 {label}-srv.{named.zone}."}
    assert named.query(f"{label}-srv") == {dockerd.address_of(container)}
    purged = watcher.dns("purge")
    assert purged.returncode == 0, purged.stderr
    assert named.query(f"_5432._tcp.{label}-srv", "SRV") == set()
    assert named.query(f"_5432._tcp.{label}-srv", "TXT") == set()
    assert named.query(f"{label}-srv") == set()


def test_default_host_address_is_the_default_routes_interface(run_dir, label):
    netns = f"{run_dir[1]}-{label[:6]}"
    make_netns(netns)
    try:
        assert default_route_address(netns) is None  # no default route: no guess
        ip("-n", netns, "link", "add", "uplink", "type", "veth", "peer", "name", "far-end")
        ip("-n", netns, "link", "set", "far-end", "up")
        ip("-n", netns, "addr", "add", "10.250.3.4/24", "dev", "uplink")
        ip("-n", netns, "addr", "add", "10.250.9.9/24", "dev", "lo")
        ip("-n", netns, "link", "set", "uplink", "up")
        ip("-n", netns, "route", "add", "default", "via", "10.250.3.1", "dev", "uplink")
        assert default_route_address(netns) == "10.250.3.4"
        ip("-n", netns, "route", "replace", "default", "via", "10.250.3.1", "dev", "uplink", "src", "10.250.9.9")
        assert default_route_address(netns) == "10.250.9.9"  # the route's own source wins
    finally:
        delete_netns(netns)


COMPOSE_FILE = """\
version: "2.4"
services:
  web:
    image: {image}
    command: ["sleep", "3600"]
    ports: ["80"]
    labels:
      dockernet.srv.80: http
"""


def test_real_compose_scale_up_and_down(dockerd, named, watchers, run_dir, label):
    from tests.harness import IMAGE

    if not shutil.which("docker-compose"):
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is not installed (scripts/install-deps --test installs it)")
        pytest.skip("Debian's docker-compose is not installed")
    project = f"{label}c"
    workdir = run_dir[0] / f"compose-{label}"
    workdir.mkdir(exist_ok=True)
    (workdir / "docker-compose.yml").write_text(COMPOSE_FILE.format(image=IMAGE))
    env = {"DOCKER_HOST": dockerd.url, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(workdir)}

    def compose(*args):
        result = subprocess.run(
            ["docker-compose", "--ansi", "never", "-p", project, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        return result

    watcher = watchers(extra=("--settle-time", "1", "--publish-ports")).start()
    try:
        compose("up", "-d", "--scale", "web=3")
        ids = compose("ps", "-q").stdout.split()
        assert len(ids) == 3
        addresses = {
            dockerd.client.containers.get(i).attrs["NetworkSettings"]["Networks"][f"{project}_default"]["IPAddress"]
            for i in ids
        }
        assert wait_for(lambda: named.query(f"web.{project}") == addresses, 30), named.query(f"web.{project}")
        assert wait_for(lambda: len(named.query(f"_http._tcp.web.{project}", "SRV")) == 3)
        compose("up", "-d", "--scale", "web=1")
        assert wait_for(lambda: len(named.query(f"web.{project}")) == 1, 30), named.query(f"web.{project}")
        assert wait_for(lambda: len(named.query(f"_http._tcp.web.{project}", "SRV")) == 1)
        compose("down")
        assert wait_for(lambda: named.query(f"web.{project}") == set(), 30)
        assert named.query(f"web.{project}", "TXT") == set()
        assert wait_for(lambda: named.query(f"_http._tcp.web.{project}", "SRV") == set())  # after the A records
    finally:
        subprocess.run(
            ["docker-compose", "-p", project, "down"], cwd=workdir, env=env, capture_output=True, timeout=180
        )
        assert watcher.terminate() == 0

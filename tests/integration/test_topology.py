"""``dockernet topology`` on the private dockerd: two networks, a name held by hand, one held by another owner,
a container that publishes nothing, and a bridge port with no container; the DOT output drawn by real Graphviz."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess

import dns.name
import pytest

from dockernet.publish.registry import ownership_mark
from tests.harness import ip, run_cli

IN_CI = os.environ.get("CI") == "true"


def containers_by_name(topology: dict) -> dict:
    found = {}
    for bridge in topology["bridges"]:
        for port in bridge["ports"]:
            if port["container"]:
                found.setdefault(port["container"]["name"], []).append(
                    (bridge["name"], port["ifname"], port["container"])
                )
    return found


def test_topology_draws_bridges_ports_containers_and_each_names_state(dockerd, named, containers, watchers, label):
    zone = dns.name.from_text(named.zone)
    held = dns.name.from_text(f"{label}-hand", zone)
    blocked = dns.name.from_text(f"{label}-blocked", zone)
    assert named.update(lambda m: m.add(held, 60, "A", "10.99.0.1")) == 0
    assert (
        named.update(
            lambda m: (
                m.add(blocked, 60, "A", "10.99.0.2"),
                m.add(blocked, 60, "TXT", f'"{ownership_mark("elsewhere", "e" * 12)}"'),
            )
        )
        == 0
    )
    network = dockerd.client.networks.create(f"{label}-net")
    spare = f"{label[:8]}x"  # a port on the bridge with no container at its other end
    try:
        published = containers(hostname=f"{label}-pub")
        network.connect(published)
        containers(hostname=f"{label}-hand")
        containers(hostname=f"{label}-blocked")
        containers(hostname=f"{label}-quiet", labels={"dockernet.enable": "false"})
        ip("-n", dockerd.netns, "link", "add", spare, "type", "veth", "peer", "name", f"{spare}p")
        ip("-n", dockerd.netns, "link", "set", spare, "master", "docker0")
        watcher = watchers()
        assert watcher.once().returncode == 0  # names held by others are not failures: they are left alone

        args = (
            "--docker-host",
            dockerd.url,
            "topology",
            *named.client_args(),
            "--owner-id",
            watcher.owner,
            "--host-netns",
            dockerd.netns,
        )
        result = run_cli(*args, "--json")
        assert result.returncode == 0, result.stderr
        drawn = json.loads(result.stdout)
        bridges = {bridge["name"]: bridge for bridge in drawn["bridges"]}
        assert "10.1.0.1/16" in bridges["docker0"]["addresses"]
        assert {"ifname": spare, "container": None} in bridges["docker0"]["ports"]
        by_name = containers_by_name(drawn)
        # on two networks: behind a port of docker0 and one of the new network's bridge
        published.reload()
        pub = by_name[published.name]
        assert len(pub) == 2 and {bridge for bridge, _p, _n in pub} == {"docker0", f"br-{network.id[:12]}"}
        states = {
            name["name"]: (name["state"], name["holder"])
            for entries in by_name.values()
            for _b, _p, node in entries
            for name in node["names"]
        }
        assert states[f"{label}-pub.docker.test."] == ("published", "")
        assert states[f"{label}-hand.docker.test."] == ("held-by-hand", "")
        assert states[f"{label}-blocked.docker.test."] == ("held-by-other-owner", "elsewhere")
        quiet = [node for name, entries in by_name.items() for _b, _p, node in entries if node["names"] == []]
        assert any(node["addresses"] for node in quiet)

        tree = run_cli(*args)  # not a TTY: plain words, no escape codes
        assert tree.returncode == 0 and "\x1b[" not in tree.stdout
        assert (
            f"[held] {label}-blocked.docker.test.  held by owner elsewhere: blocked until it is released" in tree.stdout
        )
        assert f"  {spare} -> (no container)" in tree.stdout
        assert "(no name published)" in tree.stdout

        dot = run_cli(*args, "--dot")
        assert dot.returncode == 0 and dot.stdout.startswith("digraph dockernet {")
        if shutil.which("dot") is None:
            if IN_CI:
                pytest.fail("graphviz's dot is missing (scripts/install-deps --test installs it)")
            pytest.skip("graphviz's dot is not installed")
        svg = subprocess.run(["dot", "-Tsvg"], input=dot.stdout, capture_output=True, text=True, timeout=60)
        assert svg.returncode == 0, svg.stderr
        text = html.unescape(svg.stdout)  # Graphviz writes "-" as &#45;
        assert "<svg" in text and f">{label}-blocked.docker.test.</text>" in text and ">elsewhere" not in text
        assert ">held-by-other-owner elsewhere</text>" in text  # a label's second line, not a literal \\n
    finally:
        subprocess.run(["ip", "-n", dockerd.netns, "link", "del", spare], capture_output=True)
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()


def test_ports_found_by_namespace_id_agree_with_entering_each_namespace(dockerd, containers, label):
    """The fast way (one RTM_GETNSID per container) and the fallback (entering each namespace) find the same veths."""
    from dockernet.bridge import netlink
    from dockernet.engine.dockerapi import DockerEngine
    from dockernet.host.topology import _ports_by_entering, _ports_by_netnsid

    network = dockerd.client.networks.create(f"{label}-two")
    try:
        two = containers(hostname=f"{label}-a")
        network.connect(two)
        containers(hostname=f"{label}-b")
        engine = DockerEngine(dockerd.url)
        running = engine.running()
        with netlink(dockerd.netns) as ipr:
            links = ipr.get_links()
            names = {link["index"]: link.get("IFLA_IFNAME") for link in links}
            fast = _ports_by_netnsid(ipr, links, names, running)
        slow = _ports_by_entering(engine, dockerd.netns, running)
        assert fast is not None, "this kernel and pyroute2 give namespace ids"
        assert {cid: sorted(ports) for cid, ports in slow.items()} == fast
        assert len(fast[two.id[:12]]) == 2  # one veth per network
    finally:
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()


def test_without_a_zone_transfer_names_are_looked_up_and_a_bad_key_is_one_line(
    dockerd, named_no_axfr, containers, watchers, label, tmp_path
):
    """The transfer runs in a forked child: its refusal and its errors must reach the user as in one process."""
    watcher = watchers(server=named_no_axfr)
    containers(name=f"{label}-pub", hostname=f"{label}-pub")
    assert watcher.once().returncode == 0
    args = [
        "--docker-host",
        dockerd.url,
        "topology",
        "--server",
        "127.0.0.1",
        "--port",
        str(named_no_axfr.port),
        "--zone",
        named_no_axfr.zone,
        "--owner-id",
        watcher.owner,
        "--host-netns",
        dockerd.netns,
        "--json",
    ]
    result = run_cli(*args, "--key-file", str(named_no_axfr.key_file))
    assert result.returncode == 0, result.stderr
    assert "Zone transfer of" in result.stderr and "answered REFUSED" in result.stderr
    (_, _, drawn), *_ = containers_by_name(json.loads(result.stdout))[f"{label}-pub"]
    states = {entry["name"]: entry["state"] for entry in drawn["names"]}
    assert states == {f"{label}-pub.{named_no_axfr.zone}.": "published"}, result.stdout

    wrong = tmp_path / "wrong.key"
    secret = "c2VjcmV0IHRoYXQgbmFtZWQgZG9lcyBub3Qga25vdyE="
    wrong.write_text(f'key "ddns-key" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
    wrong.chmod(0o600)
    failed = run_cli(*args, "--key-file", str(wrong))
    assert failed.returncode == 1 and failed.stdout == ""
    assert len(failed.stderr.strip().splitlines()) == 1 and failed.stderr.startswith("dockernet: error: ")
    assert secret not in failed.stderr

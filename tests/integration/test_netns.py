"""dockernet netns on real containers of the private dockerd; its namespace is the host side."""

import json

import pytest
from pyroute2 import IPRoute

from dockernet.netns import stable_mac
from tests.harness import run_cli


def netns_cli(dockerd, *args):
    return run_cli("--docker-host", dockerd.url, "netns", "--host-netns", dockerd.netns, *args)


def inside(container, *argv):
    """Run a busybox command inside the container through the engine (test-side check only)."""
    code, output = container.exec_run(list(argv))
    return code, output.decode()


def container_addresses(container, ifname):
    """Addresses as the container itself reports them (busybox ip)."""
    _, output = inside(container, "ip", "-o", "addr", "show", "dev", ifname)
    return {
        word_after
        for line in output.splitlines()
        for word, word_after in zip(line.split(), line.split()[1:], strict=False)
        if word in ("inet", "inet6") and not word_after.startswith("fe80")
    }


def host_link(dockerd, index):
    with IPRoute(netns=dockerd.netns, flags=0) as ipr:
        found = ipr.get_links(index)[0]
        master = found.get("IFLA_MASTER")
        return found.get("IFLA_IFNAME"), ipr.get_links(master)[0].get("IFLA_IFNAME") if master else None


def host_veths(dockerd, prefix="vdn"):
    with IPRoute(netns=dockerd.netns, flags=0) as ipr:
        return sorted(
            link.get("IFLA_IFNAME") for link in ipr.get_links() if link.get("IFLA_IFNAME", "").startswith(prefix)
        )


def test_show_agrees_with_the_container_and_the_host(dockerd, containers, label):
    container = containers(name=f"{label}-show")
    result = netns_cli(dockerd, "show", container.name, "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["name"] == container.name and view["id"] == container.id[:12]
    eth0 = next(i for i in view["interfaces"] if i["ifname"] == "eth0")
    global_addresses = {a for a in eth0["addresses"] if not a.startswith("fe80")}
    assert global_addresses == container_addresses(container, "eth0")
    assert any(a.startswith("fd00:d0c:") for a in global_addresses)  # IPv6 too
    _, link_text = inside(container, "ip", "-o", "link", "show", "dev", "eth0")
    assert eth0["mac"] in link_text
    assert (eth0["peer"]["ifname"], eth0["peer"]["bridge"]) == (*host_link(dockerd, eth0["peer"]["index"]),)
    assert eth0["peer"]["bridge"] == "docker0"
    assert any(r["dst"] == "default" and r["gateway"] == "10.1.0.1" for r in view["routes"])
    text = netns_cli(dockerd, "show", container.id[:10]).stdout  # a unique id prefix works too
    assert f"host side: {eth0['peer']['ifname']}" in text


def test_ls_says_which_host_veth_is_which_container(dockerd, containers, label):
    first = containers(name=f"{label}-a")
    second = containers(name=f"{label}-b")
    rows = json.loads(netns_cli(dockerd, "ls", "--json").stdout)
    by_name = {row["name"]: row for row in rows}
    for container in (first, second):
        row = by_name[container.name]
        peer = next(i["peer"] for i in row["interfaces"] if i["peer"])
        assert host_link(dockerd, peer["index"])[0] == peer["ifname"]
    text = netns_cli(dockerd, "ls").stdout
    assert text.startswith("NAME") and first.name in text and second.name in text


def test_attach_two_containers_to_a_new_bridge_they_reach_each_other_and_detach_cleans_up(dockerd, containers, label):
    one = containers(name=f"{label}-one")
    two = containers(name=f"{label}-two")
    bridge = "dnbr" + label[-4:]
    first = netns_cli(
        dockerd,
        "attach",
        one.name,
        "--bridge",
        bridge,
        "--ip",
        "10.20.0.11/24",
        "--create-bridge",
        "--mac",
        "U:one",
        "--mtu",
        "1400",
    )
    assert first.returncode == 0, first.stderr
    second = netns_cli(dockerd, "attach", two.name, "--bridge", bridge, "--ip", "10.20.0.12/24@10.20.0.1")
    assert second.returncode == 0, second.stderr
    try:
        assert container_addresses(one, "eth1") == {"10.20.0.11/24"}
        code, _ = inside(one, "ping", "-c", "1", "-W", "3", "10.20.0.12")
        assert code == 0
        view = json.loads(netns_cli(dockerd, "show", one.name, "--json").stdout)
        eth1 = next(i for i in view["interfaces"] if i["ifname"] == "eth1")
        assert eth1["peer"]["bridge"] == bridge and eth1["mtu"] == 1400
        assert eth1["mac"] == stable_mac("one")
        two_routes = json.loads(netns_cli(dockerd, "show", two.name, "--json").stdout)["routes"]
        assert {"dst": "default", "gateway": "10.20.0.1", "dev": "eth1", "family": 2} in two_routes
        veths = host_veths(dockerd)
        again = netns_cli(
            dockerd, "attach", one.name, "--bridge", bridge, "--ip", "10.20.0.11/24", "--mac", "U:one", "--mtu", "1400"
        )
        assert again.returncode == 0 and "nothing to do" in again.stdout
        assert host_veths(dockerd) == veths
        clash = netns_cli(dockerd, "attach", one.name, "--bridge", bridge, "--ip", "10.20.0.99/24")
        assert clash.returncode == 2 and "already exists" in clash.stderr and "detach it first" in clash.stderr
    finally:
        for container in (one, two):
            result = netns_cli(dockerd, "detach", container.name, "--ifname", "eth1")
            assert result.returncode == 0, result.stderr
    assert host_veths(dockerd) == []
    assert container_addresses(one, "eth0") and inside(one, "ip", "link", "show", "eth1")[0] != 0
    assert "nothing to do" in netns_cli(dockerd, "detach", one.name, "--ifname", "eth1").stdout
    with IPRoute(netns=dockerd.netns, flags=0) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname=bridge)[0])


def test_attach_to_a_missing_bridge_changes_nothing(dockerd, containers, label):
    container = containers(name=f"{label}-nob")
    result = netns_cli(dockerd, "attach", container.name, "--bridge", "nosuchbr", "--ip", "10.21.0.5/24")
    assert (
        result.returncode == 2
        and "bridge nosuchbr does not exist" in result.stderr
        and "--create-bridge" in result.stderr
    )
    assert host_veths(dockerd) == [] and inside(container, "ip", "link", "show", "eth1")[0] != 0


def test_addresses_and_routes_ipv4_and_ipv6(dockerd, containers, label):
    container = containers(
        name=f"{label}-ar", sysctls={"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.eth0.disable_ipv6": "0"}
    )
    # eth0 is Docker's: every change below needs --force (the refusals are tested on their own)
    for address in ("10.30.0.5/24", "fd00:30::5/64"):
        added = netns_cli(dockerd, "addr", "add", container.name, address, "--force")
        assert added.returncode == 0 and added.stdout.startswith("added"), added.stderr
        assert address in container_addresses(container, "eth0")
        assert "nothing to do" in netns_cli(dockerd, "addr", "add", container.name, address, "--force").stdout
    route = netns_cli(dockerd, "route", "add", container.name, "10.40.0.0/16", "via", "10.1.0.1", "--force")
    assert route.returncode == 0, route.stderr
    assert "10.40.0.0/16 via 10.1.0.1" in inside(container, "ip", "route")[1]
    assert (
        "nothing to do"
        in netns_cli(dockerd, "route", "add", container.name, "10.40.0.0/16", "via", "10.1.0.1", "--force").stdout
    )
    v6 = netns_cli(dockerd, "route", "add", container.name, "fd00:40::/48", "via", "fd00:30::1", "--force")
    assert v6.returncode == 0, v6.stderr
    assert "fd00:40::/48 via fd00:30::1" in inside(container, "ip", "-6", "route")[1]
    other_default = netns_cli(dockerd, "route", "add", container.name, "default", "via", "10.30.0.1", "--force")
    assert other_default.returncode == 2 and "already has a route to default via 10.1.0.1" in other_default.stderr
    for args in (
        ("route", "del", container.name, "10.40.0.0/16"),
        ("route", "del", container.name, "fd00:40::/48"),
        ("addr", "del", container.name, "10.30.0.5/24"),
        ("addr", "del", container.name, "fd00:30::5/64"),
    ):
        result = netns_cli(dockerd, *args, "--force")
        assert result.returncode == 0 and result.stdout.startswith("deleted"), result.stderr
    assert "10.40.0.0" not in inside(container, "ip", "route")[1]
    assert "10.30.0.5/24" not in container_addresses(container, "eth0")


def test_docker_managed_interfaces_are_refused_without_force_and_left_as_they_were(dockerd, containers, label):
    container = containers(name=f"{label}-dm")
    links_before = inside(container, "ip", "-o", "link")[1]
    addresses_before = container_addresses(container, "eth0")
    routes_before = inside(container, "ip", "route")[1]
    for args in (
        ("detach", container.name, "--ifname", "eth0"),
        ("addr", "add", container.name, "10.31.0.5/24"),
        ("addr", "del", container.name, next(iter(addresses_before))),
        ("route", "del", container.name, "default"),
        ("route", "add", container.name, "10.41.0.0/16", "via", "10.1.0.1"),
    ):
        result = netns_cli(dockerd, *args)
        assert result.returncode == 1, (args, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "eth0 in" in lines[0] and "was not attached by dockernet" in lines[0]
        assert "--force" in lines[0]
    assert inside(container, "ip", "-o", "link")[1] == links_before
    assert container_addresses(container, "eth0") == addresses_before
    assert inside(container, "ip", "route")[1] == routes_before
    # what attach made is dockernet's: changed and detached without --force
    bridge = f"br{label[1:9]}"
    attached = netns_cli(
        dockerd, "attach", container.name, "--bridge", bridge, "--ip", "10.24.0.5/24", "--create-bridge"
    )
    assert attached.returncode == 0, attached.stderr
    try:
        added = netns_cli(dockerd, "addr", "add", container.name, "10.24.1.5/24", "--dev", "eth1")
        assert added.returncode == 0, added.stderr
        assert "10.24.1.5/24" in container_addresses(container, "eth1")
    finally:
        detached = netns_cli(dockerd, "detach", container.name, "--ifname", "eth1")
        with IPRoute(netns=dockerd.netns, flags=0) as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=bridge)[0])
    assert detached.returncode == 0, detached.stderr


def test_a_gateway_no_interface_reaches_is_one_line(dockerd, containers, label):
    container = containers(name=f"{label}-nr")
    removed = netns_cli(dockerd, "route", "del", container.name, "default", "--force")
    assert removed.returncode == 0, removed.stderr  # now no route reaches 192.0.2.1 from inside
    result = netns_cli(dockerd, "route", "add", container.name, "10.42.0.0/16", "via", "192.0.2.1")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and "cannot add route 10.42.0.0/16" in lines[0], lines


@pytest.mark.parametrize("command", [("show",), ("attach", "--bridge", "x", "--ip", "10.22.0.5/24"), ("addr", "add")])
def test_stopped_or_missing_container_is_one_clear_line(dockerd, containers, label, command):
    stopped = containers(name=f"{label}-stopped")
    stopped.stop(timeout=0)
    verb, *rest = command
    args = (verb, "add", stopped.name, "10.23.0.5/24") if verb == "addr" else (verb, stopped.name, *rest)
    result = netns_cli(dockerd, *args)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert f"container {stopped.name} ({stopped.id[:12]}) is not running" in result.stderr
    missing = netns_cli(dockerd, "show", "no-such-container-x")
    assert missing.returncode == 1 and "no container 'no-such-container-x'" in missing.stderr

import ipaddress

import pytest

from dockernet.errors import UsageError
from dockernet.netns import (
    Interface,
    Peer,
    Route,
    View,
    check_ifname,
    parse_destination,
    parse_ip_spec,
    parse_mac,
    render_ls,
    render_show,
    stable_mac,
    veth_names,
)


@pytest.mark.parametrize(
    "text, address, gateway",
    [
        ("10.2.0.5/24", "10.2.0.5/24", None),
        ("10.2.0.5/24@10.2.0.1", "10.2.0.5/24", "10.2.0.1"),
        ("fd00:2::5/64@fd00:2::1", "fd00:2::5/64", "fd00:2::1"),
    ],
)
def test_ip_specs(text, address, gateway):
    interface, gw = parse_ip_spec(text)
    assert str(interface) == address and gw == gateway


@pytest.mark.parametrize(
    "text, message",
    [
        ("10.2.0.5", "maybe you meant 10.2.0.5/24 ?"),
        ("10.2.0.5/24@10.3.0.1", "outside 10.2.0.0/24"),
        ("10.2.0.5/24@10.2.0.5", "the address itself"),
        ("10.2.0.5/24@fd00::1", "different IP versions"),
        ("10.2.0.5/24@gw", "is not an IP address"),
        ("nonsense/24", "is not an address with a prefix"),
    ],
)
def test_bad_ip_specs(text, message):
    with pytest.raises(UsageError) as info:
        parse_ip_spec(text)
    assert message in str(info.value)


def test_stable_mac_is_stable_local_and_unicast():
    mac = stable_mac("web1")
    assert mac == stable_mac("web1") != stable_mac("web2")
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01
    assert parse_mac("U:web1") == mac


@pytest.mark.parametrize(
    "text, result", [("02:AA:bb:cc:dd:ee", "02:aa:bb:cc:dd:ee"), ("02-aa-bb-cc-dd-ee", "02:aa:bb:cc:dd:ee")]
)
def test_explicit_macs(text, result):
    assert parse_mac(text) == result


@pytest.mark.parametrize("text", ["01:00:5e:00:00:01", "zz:aa:bb:cc:dd:ee", "02:aa:bb", "U:", "02:aa:bb:cc:dd:ee\n"])
def test_bad_macs(text):
    with pytest.raises(UsageError):
        parse_mac(text)


def test_destinations_and_names():
    assert parse_destination("default") is None
    assert parse_destination("10.3.0.0/16") == ipaddress.ip_network("10.3.0.0/16")
    with pytest.raises(UsageError):
        parse_destination("10.3.0.1/16")  # host bits set: not a destination
    with pytest.raises(UsageError):
        check_ifname("much-too-long-name0")
    host, peer = veth_names("c" * 64, "eth1")
    assert len(host) <= 15 and len(peer) <= 15 and host != peer and veth_names("c" * 64, "eth1") == (host, peer)
    assert veth_names("c" * 64, "eth2") != (host, peer)


VIEW = View(
    "web",
    "c3ec557d4a74",
    4242,
    (
        Interface("lo", 1, "loopback", "00:00:00:00:00:00", 65536, "unknown", ("127.0.0.1/8",)),
        Interface(
            "eth0", 7, "veth", "02:42:0a:01:00:02", 1500, "up", ("10.1.0.2/16",), Peer("veth1a2b3c", 8, "docker0")
        ),
    ),
    (Route("default", "10.1.0.1", "eth0", 2), Route("10.1.0.0/16", None, "eth0", 2)),
)


def test_render_show():
    assert render_show(VIEW) == (
        "web (c3ec557d4a74) pid 4242\n"
        "  1: lo loopback unknown mtu 65536 mac 00:00:00:00:00:00\n"
        "      inet 127.0.0.1/8\n"
        "  7: eth0 veth up mtu 1500 mac 02:42:0a:01:00:02\n"
        "      inet 10.1.0.2/16\n"
        "      host side: veth1a2b3c (index 8) on bridge docker0\n"
        "  route default via 10.1.0.1 dev eth0\n"
        "  route 10.1.0.0/16 dev eth0\n"
    )


def test_render_ls():
    assert render_ls([VIEW]) == (
        "NAME  ID            PID   INTERFACES        HOST VETH\n"
        "web   c3ec557d4a74  4242  eth0=10.1.0.2/16  veth1a2b3c(docker0)\n"
    )


@pytest.mark.parametrize("text", ["eth0\n", "eth 0", "", "a/b", "x" * 16, "eth0\t"])
def test_interface_names_are_matched_whole(text):
    with pytest.raises(UsageError):
        check_ifname(text)

import ipaddress
import json
from pathlib import Path

import pytest

from dockernet.bridge import (
    AddAddress,
    CreateBridge,
    DeleteLink,
    LinkState,
    NetworkInUse,
    Observation,
    SetMtu,
    SetUp,
    find_overlaps,
    plan_bridge,
    plan_restore,
)
from dockernet.errors import BridgeBusy, ConfigError, UsageError
from dockernet.host.bridgeargs import make_spec
from dockernet.host.bridgesetup import FilePaths, plan_setup, plan_teardown

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "cidr, gateway, expected",
    [
        ("10.1.0.0/16", None, "10.1.0.1/16"),
        ("10.1.0.1/16", None, "10.1.0.1/16"),
        ("10.1.3.7/16", None, "10.1.3.7/16"),
        ("10.1.0.0/16", "10.1.255.254", "10.1.255.254/16"),
        ("192.168.50.0/30", None, "192.168.50.1/30"),
    ],
)
def test_valid_specs(cidr, gateway, expected):
    spec = make_spec("docker0", cidr, gateway)
    assert str(spec.interface) == expected
    assert spec.dns == (str(spec.gateway),)


@pytest.mark.parametrize(
    "name, cidr, gateway, message",
    [
        ("docker0", "10.1.0.0", None, "maybe you meant 10.1.0.0/24 ?"),
        ("docker0", "10.1.0.0/33", None, "is not a CIDR"),
        ("docker0", "banana", None, "is not a CIDR"),
        ("docker0", "10.1.0.0/31", None, "too small"),
        ("docker0", "10.1.0.0/32", None, "too small"),
        ("docker0", "fd00::/64", None, "IPv6"),
        ("docker0", "10.1.0.0/16", "10.2.0.1", "outside 10.1.0.0/16"),
        ("docker0", "10.1.0.0/16", "10.1.0.0", "is the network address"),
        ("docker0", "10.1.0.0/16", "10.1.255.255", "is the broadcast address"),
        ("docker0", "10.1.0.0/16", "x", "is not an IPv4 address"),
        ("a-name-far-too-long", "10.1.0.0/16", None, "not a valid interface name"),
        ("bad/name", "10.1.0.0/16", None, "not a valid interface name"),
    ],
)
def test_invalid_specs_are_usage_errors(name, cidr, gateway, message):
    with pytest.raises(UsageError) as info:
        make_spec(name, cidr, gateway)
    assert message in str(info.value)


def test_mtu_and_dns_are_checked():
    with pytest.raises(UsageError, match="MTU"):
        make_spec("docker0", "10.1.0.0/16", mtu=10)
    with pytest.raises(UsageError, match="DNS server"):
        make_spec("docker0", "10.1.0.0/16", dns=("resolver",))
    assert make_spec("docker0", "10.1.0.0/16", dns=("9.9.9.9", "::1")).dns == ("9.9.9.9", "::1")


def net(text):
    return ipaddress.IPv4Network(text)


@pytest.mark.parametrize(
    "others, expected",
    [
        ([], []),
        ([NetworkInUse(net("10.1.2.0/24"), "eth1", "address")], ["10.1.0.0/16 overlaps 10.1.2.0/24 on eth1"]),
        ([NetworkInUse(net("10.0.0.0/8"), "tun0", "route")], ["10.1.0.0/16 overlaps 10.0.0.0/8 on tun0"]),
        ([NetworkInUse(net("0.0.0.0/0"), "eth0", "route")], []),
        ([NetworkInUse(net("10.2.0.0/16"), "eth1", "address")], []),
        (
            [NetworkInUse(net("10.1.2.0/24"), "eth1", "address"), NetworkInUse(net("10.1.2.0/24"), "eth1", "route")],
            ["10.1.0.0/16 overlaps 10.1.2.0/24 on eth1"],
        ),
    ],
)
def test_overlaps(others, expected):
    assert find_overlaps(net("10.1.0.0/16"), tuple(others)) == expected


def state(**changes):
    base = dict(
        name="docker0",
        index=5,
        kind="bridge",
        mtu=1500,
        up=True,
        addresses=(ipaddress.IPv4Interface("10.1.0.1/16"),),
        forward_delay=0,
        stp=0,
    )
    base.update(changes)
    return LinkState(**base)


SPEC = make_spec("docker0", "10.1.0.0/16")
CREATE = [CreateBridge("docker0"), AddAddress("docker0", SPEC.interface), SetUp("docker0")]


@pytest.mark.parametrize(
    "observed, expected",
    [
        (None, CREATE),
        (state(), []),
        (
            state(addresses=(ipaddress.IPv4Interface("172.17.0.1/16"),)),
            [DeleteLink("docker0", "address 172.17.0.1/16 instead of 10.1.0.1/16")] + CREATE,
        ),
        (state(forward_delay=1500), [DeleteLink("docker0", "forward delay 15 s instead of 0")] + CREATE),
        (state(stp=1, up=False), [DeleteLink("docker0", "STP on; link down")] + CREATE),
        (state(kind="dummy"), [DeleteLink("docker0", "it is a dummy link, not a bridge")] + CREATE),
    ],
)
def test_plan_bridge(observed, expected):
    assert plan_bridge(observed, SPEC) == expected


def test_plan_sets_mtu_only_when_asked():
    spec = make_spec("docker0", "10.1.0.0/16", mtu=1400)
    assert SetMtu("docker0", 1400) in plan_bridge(None, spec)
    assert plan_bridge(state(mtu=9000), SPEC) == []
    assert plan_bridge(state(mtu=1400), spec) == []


def paths(tmp_path, config="daemon-json"):
    return FilePaths(config, tmp_path / "daemon.json", tmp_path / "docker", tmp_path / "docker0", (tmp_path / "units",))


def test_setup_plan_refuses_overlaps_unless_forced(tmp_path):
    seen = Observation(None, (NetworkInUse(net("10.1.2.0/24"), "eth1", "address"),))
    with pytest.raises(UsageError, match="10.1.0.0/16 overlaps 10.1.2.0/24 on eth1"):
        plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), seen)
    plan = plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), seen, force=True)
    assert plan.steps == CREATE and any("overlaps" in w for w in plan.warnings)


def test_setup_plan_refuses_a_bridge_with_ports_unless_forced(tmp_path):
    seen = Observation(state(addresses=(), ports=("veth1",)))
    with pytest.raises(BridgeBusy, match="has ports attached"):
        plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), seen)
    assert plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), seen, force=True).steps[0].name == "docker0"
    # with ports but nothing to change on the link, there is nothing to refuse
    assert plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), Observation(state(ports=("veth1",)))).steps == []


def test_setup_plan_refuses_malformed_daemon_json_whatever_the_mode(tmp_path):
    (tmp_path / "daemon.json").write_text('{"bridge": ')
    for mode in ("daemon-json", "docker-opts", "none"):
        with pytest.raises(ConfigError, match="is not valid JSON"):
            plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path, mode), Observation(None))


def test_second_setup_plan_is_empty(tmp_path):
    plan = plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), Observation(None))
    for change in plan.files:
        change.path.write_text(change.after)
    again = plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), Observation(state()))
    assert again.nothing_to_do


def test_teardown_plan_removes_our_stanza_but_not_a_foreign_one(tmp_path):
    plan = plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path), Observation(None))
    for change in plan.files:
        change.path.write_text(change.after)
    down = plan_teardown("docker0", paths(tmp_path), Observation(state()))
    assert down.steps == [DeleteLink("docker0", "bridge teardown")]
    assert {c.path.name: c.after for c in down.files}["docker0"] is None
    assert '"bridge"' not in {c.path.name: c.after for c in down.files}["daemon.json"]
    (tmp_path / "docker0").write_text("auto docker0\n")
    down = plan_teardown("docker0", paths(tmp_path), Observation(None))
    assert "not written by dockernet" in down.warnings[0] and down.steps == []


def test_example_stanza_is_what_the_default_cidr_renders():
    from dockernet.host.ifupdown import render_interfaces

    rendered = render_interfaces(make_spec("docker0", "10.1.0.0/16"), "10.1.0.0/16")
    assert (REPO / "examples" / "interfaces.d" / "docker0").read_text() == rendered


def test_restore_makes_the_old_bridge_again_or_removes_a_new_one():
    old = state(mtu=1400, addresses=(ipaddress.IPv4Interface("10.5.0.1/16"),))
    assert plan_restore(old, "docker0", exists_now=True) == [
        DeleteLink("docker0", "putting back the link as it was"),
        CreateBridge("docker0"),
        SetMtu("docker0", 1400),
        AddAddress("docker0", ipaddress.IPv4Interface("10.5.0.1/16")),
        SetUp("docker0"),
    ]
    assert plan_restore(None, "docker0", exists_now=True) == [DeleteLink("docker0", "putting back the link as it was")]
    assert plan_restore(None, "docker0", exists_now=False) == []  # it vanished on its own: nothing to do


def _fake_dockerd(directory, validate: str | None):
    """A stand-in for the dockerd binary's --help/--version/--validate answers (the branching is what is tested)."""
    lines = ["#!/bin/sh", 'case "$1" in', '  --version) echo "Docker version 99.0.0, build test" ;;']
    if validate is None:
        lines.append('  --help) echo "Usage: dockerd [OPTIONS]" ;;')
    else:
        lines += [
            '  --help) echo "      --validate    Validate daemon configuration and exit" ;;',
            f"  --validate) {validate} ;;",
        ]
    lines.append("esac")
    script = directory / "dockerd"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return str(script)


def test_dockerd_is_asked_to_validate_only_where_it_can(tmp_path):
    from dockernet.host.dockerctl import validate_config

    assert validate_config("{}", _fake_dockerd(tmp_path, None)) == (
        None,
        "Docker version 99.0.0, build test cannot validate a configuration (dockerd --validate came with Docker 23)",
    )
    assert validate_config("{}", _fake_dockerd(tmp_path, 'echo "configuration OK"; exit 0')) == (True, "")
    refused = _fake_dockerd(tmp_path, 'grep -q bip "$3" && { echo "unable to configure: bip and bridge" >&2; exit 1; }')
    assert validate_config('{"bip": "10.1.0.1/16"}', refused) == (False, "unable to configure: bip and bridge")
    assert validate_config("{}", str(tmp_path / "missing-dockerd"))[0] is None


# --- which resolvers containers get when --dns is not given -------------------------------

GATEWAY_WARNING = "containers get 10.1.0.1 (the gateway) as their resolver and nothing checks that DNS answers there"


@pytest.mark.parametrize(
    "daemon_json, defaults, config, observed, dns, expected",
    [
        # nothing set anywhere: today's default, the gateway, with the warning
        (None, None, "daemon-json", None, (), ["10.1.0.1"]),
        # a resolver the user set is kept, from the file Docker reads it from
        ('{"dns": ["192.0.2.53"]}', None, "daemon-json", None, (), ["192.0.2.53"]),
        ('{"dns": ["192.0.2.53"]}', None, "docker-opts", None, (), ["192.0.2.53"]),
        (None, 'DOCKER_OPTS="-b=docker0 -dns 192.0.2.53"\n', "auto", None, (), ["192.0.2.53"]),
        (
            None,
            'DOCKER_OPTS="--dns=192.0.2.53 --dns 2001:db8::53"\n',
            "daemon-json",
            None,
            (),
            ["192.0.2.53", "2001:db8::53"],
        ),
        # --dns replaces it
        ('{"dns": ["192.0.2.53"]}', None, "daemon-json", None, ("198.51.100.53",), ["198.51.100.53"]),
        # the old bridge's gateway (what an earlier setup wrote) does not survive a move to another subnet
        ('{"dns": ["172.30.0.1"]}', None, "daemon-json", "172.30.0.1/16", (), ["10.1.0.1"]),
        ('{"bip": "172.30.0.1/16", "dns": ["172.30.0.1"]}', None, "daemon-json", None, (), ["10.1.0.1"]),
        ('{"dns": ["10.1.0.1"]}', None, "daemon-json", "10.1.0.1/16", (), ["10.1.0.1"]),
        # a DOCKER_OPTS nothing reads sets nothing
        (None, 'DOCKER_OPTS="--dns=192.0.2.53"\n', "daemon-json", "units-ignore", (), ["10.1.0.1"]),
    ],
)
def test_setup_keeps_the_users_resolvers_unless_dns_is_given(
    tmp_path, daemon_json, defaults, config, observed, dns, expected
):
    if daemon_json is not None:
        (tmp_path / "daemon.json").write_text(daemon_json)
    if defaults is not None:
        (tmp_path / "docker").write_text(defaults)
    units = tmp_path / "units"
    units.mkdir()
    if observed == "units-ignore":
        (units / "docker.service").write_text("[Service]\nExecStart=/usr/bin/dockerd -H fd://\n")
        observed = None
    bridge = state(addresses=(ipaddress.IPv4Interface(observed),)) if observed else None
    plan = plan_setup(
        make_spec("docker0", "10.1.0.0/16", dns=dns), "10.1.0.0/16", paths(tmp_path, config), Observation(bridge)
    )
    written = {change.path.name: change.after for change in plan.files}
    if "daemon.json" in written and '"dns"' in written["daemon.json"]:
        assert json.loads(written["daemon.json"])["dns"] == expected
    else:
        assert " ".join(f"--dns={server}" for server in expected) in written["docker"]
    assert f"dns-nameservers {' '.join(expected)}\n" in written["docker0"]
    warned = [warning for warning in plan.warnings if "resolver" in warning]
    if expected == ["10.1.0.1"] and not dns:
        assert len(warned) == 1 and warned[0].startswith(GATEWAY_WARNING)
        assert "--dns ADDR" in warned[0] and "make named listen on 10.1.0.1" in warned[0]
    else:
        assert warned == []
    kept = [note for note in plan.notes if note.startswith("containers keep their resolvers")]
    assert bool(kept) == (not dns and expected != ["10.1.0.1"])


def test_config_none_neither_keeps_nor_warns_about_resolvers(tmp_path):
    plan = plan_setup(SPEC, "10.1.0.0/16", paths(tmp_path, "none"), Observation(None))
    assert not any("resolver" in warning for warning in plan.warnings)

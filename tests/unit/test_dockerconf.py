import json
from pathlib import Path

import pytest

from dockernet.errors import ConfigError, UsageError
from dockernet.host.bridgeargs import make_spec
from dockernet.host.bridgesetup import choose_place
from dockernet.host.daemonjson import merge_daemon_json, unmerge_daemon_json
from dockernet.host.dockerconf import place_settings, pool_overlaps
from dockernet.host.dockeropts import docker_opts, flags_in, rewrite_docker_opts
from dockernet.host.dockerunit import UnitFacts, find_conflicts, read_unit

GOLDEN = Path(__file__).parent / "golden"
SPEC = make_spec("docker0", "10.1.0.0/16", dns_search=("docker.test",))


def test_daemon_json_merge_matches_golden():
    before = (GOLDEN / "daemon.before.json").read_text()
    assert merge_daemon_json(before, SPEC) == (GOLDEN / "daemon.after.json").read_text()


def test_daemon_json_merge_is_idempotent_and_creates_a_new_file():
    once = merge_daemon_json(None, SPEC)
    assert merge_daemon_json(once, SPEC) == once
    assert '"bip": "10.1.0.1/16"' in once and '"bridge"' not in once and '"dns-search"' in once
    # a bridge of the user's own is named, and Docker takes its address as it finds it
    own = merge_daemon_json('{"bip": "172.17.0.1/16"}', make_spec("br-lan", "10.1.0.0/16"))
    assert json.loads(own) == {"bridge": "br-lan", "dns": ["10.1.0.1"]}


@pytest.mark.parametrize("text, message", [('{"a": 1', "is not valid JSON"), ("[1, 2]", "does not hold a JSON object")])
def test_malformed_daemon_json_is_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        merge_daemon_json(text, SPEC)


def test_fixed_cidr_inside_is_kept_outside_is_dropped():
    assert '"fixed-cidr": "10.1.128.0/17"' in merge_daemon_json('{"fixed-cidr": "10.1.128.0/17"}', SPEC)
    assert "fixed-cidr" not in merge_daemon_json('{"fixed-cidr": "172.17.0.0/16"}', SPEC)


def test_unmerge_removes_only_what_setup_wrote():
    merged = merge_daemon_json('{\n  "log-level": "warn"\n}\n', SPEC)
    after = unmerge_daemon_json(merged, SPEC.network, "docker0")
    assert '"bip"' not in after and '"dns":' not in after and '"log-level": "warn"' in after
    assert '"dns"' in unmerge_daemon_json('{"dns": ["9.9.9.9"], "bridge": "docker0"}', SPEC.network, "docker0")


@pytest.mark.parametrize(
    "before, after",
    [
        (
            'DOCKER_OPTS="-b=br0 -dns 8.8.8.8 --log-level=info"\n',
            'DOCKER_OPTS="--log-level=info --bip=10.1.0.1/16 --dns=10.1.0.1 --dns-search=docker.test"\n',
        ),
        (
            'DOCKER_OPTS="--bridge br0 --bip=172.17.0.1/16 --dns=1.1.1.1 --dns-search x -H fd://"\n',
            'DOCKER_OPTS="-H fd:// --bip=10.1.0.1/16 --dns=10.1.0.1 --dns-search=docker.test"\n',
        ),
        (
            "export DOCKER_OPTS='-b docker0'\n",
            "export DOCKER_OPTS='--bip=10.1.0.1/16 --dns=10.1.0.1 --dns-search=docker.test'\n",
        ),
        (
            '# comment\n#DOCKER_OPTS="-b x"\nOTHER=1\n',
            '# comment\n#DOCKER_OPTS="-b x"\nOTHER=1\n\n'
            "# Docker's bridge and resolvers, written by dockernet bridge setup\n"
            'DOCKER_OPTS="--bip=10.1.0.1/16 --dns=10.1.0.1 --dns-search=docker.test"\n',
        ),
    ],
)
def test_docker_opts_rewrite(before, after):
    assert rewrite_docker_opts(before, SPEC) == after
    assert rewrite_docker_opts(after, SPEC) == after


def test_docker_opts_flags_removed_for_teardown():
    assert (
        rewrite_docker_opts('DOCKER_OPTS="--bip=10.1.0.1/16 --dns=10.1.0.1 -H fd://"\n', None)
        == 'DOCKER_OPTS="-H fd://"\n'
    )


def test_flags_in_every_spelling():
    assert flags_in(["-b=x", "-dns", "1.1.1.1", "--bip", "10.0.0.1/8", "--dns-search=a", "--iptables=false"]) == {
        "bridge": ["x"],
        "dns": ["1.1.1.1"],
        "bip": ["10.0.0.1/8"],
        "dns-search": ["a"],
    }
    assert docker_opts('DOCKER_OPTS="-b x"\nDOCKER_OPTS="--dns 1.1.1.1"\n') == ["--dns", "1.1.1.1"]


def test_conflicts_between_flags_and_daemon_json():
    no_unit = UnitFacts(False, False, {})
    assert find_conflicts({"bridge": "docker0"}, {"bridge": ["br0"]}, no_unit, opts_read=True) == [
        "'bridge' is in daemon.json and in DOCKER_OPTS"
    ]
    assert find_conflicts({"bridge": "docker0"}, {"bridge": ["br0"]}, no_unit, opts_read=False) == []
    unit = UnitFacts(True, False, {"dns": ["1.1.1.1"]}, "/etc/systemd/system/docker.service.d/x.conf")
    assert find_conflicts({"dns": ["10.1.0.1"]}, {}, unit, opts_read=False) == [
        "'dns' is in daemon.json and on the ExecStart line of /etc/systemd/system/docker.service.d/x.conf"
    ]


def test_read_unit_follows_drop_ins_and_resets(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "docker.service").write_text("[Service]\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n")
    facts = read_unit([tmp_path / "etc", lib])
    assert facts.found and facts.reads_docker_opts and facts.exec_flags == {}
    dropins = tmp_path / "etc" / "docker.service.d"
    dropins.mkdir(parents=True)
    (dropins / "override.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --bip 10.0.0.1/8\n")
    facts = read_unit([tmp_path / "etc", lib])
    assert not facts.reads_docker_opts and facts.exec_flags == {"bip": ["10.0.0.1/8"]}
    assert not read_unit([tmp_path / "none"]).found


SEED_OPTS = 'DOCKER_OPTS="-b=docker0 -dns 10.1.0.1 --log-level=info"\n'


def test_place_settings_in_daemon_json_empties_the_flags_dockerd_would_get_twice():
    spec = make_spec("docker0", "10.1.0.0/16")
    daemon, defaults = place_settings('{"fixed-cidr": "10.1.128.0/17"}', SEED_OPTS, spec, "daemon-json", True)
    assert json.loads(daemon) == {"fixed-cidr": "10.1.128.0/17", "bip": "10.1.0.1/16", "dns": ["10.1.0.1"]}
    assert defaults == 'DOCKER_OPTS="--log-level=info"\n'
    # nothing reads DOCKER_OPTS: it is left byte-identical
    assert place_settings(None, SEED_OPTS, spec, "daemon-json", False)[1] == SEED_OPTS


def test_place_settings_in_docker_opts_empties_daemon_json_of_the_same_keys():
    spec = make_spec("docker0", "10.1.0.0/16")
    daemon, defaults = place_settings(
        '{"bip": "172.30.0.1/16", "dns": ["8.8.8.8"], "fixed-cidr": "172.30.0.0/24", "log-level": "warn"}',
        'DOCKER_OPTS="--bip=172.30.0.1/16"\n',
        spec,
        "docker-opts",
        True,
    )
    assert json.loads(daemon) == {"log-level": "warn"}
    assert defaults == 'DOCKER_OPTS="--bip=10.1.0.1/16 --dns=10.1.0.1"\n'
    # an untouched daemon.json stays byte-identical, an absent one absent
    assert place_settings('{ "log-level":"warn" }', None, spec, "docker-opts", True)[0] == '{ "log-level":"warn" }'
    assert place_settings(None, None, spec, "docker-opts", True)[0] is None


def test_a_fixed_cidr_flag_inside_the_subnet_is_kept_outside_dropped():
    spec = make_spec("docker0", "10.1.0.0/16")
    inside = place_settings(None, 'DOCKER_OPTS="--fixed-cidr=10.1.128.0/17"\n', spec, "docker-opts", True)[1]
    outside = place_settings(None, 'DOCKER_OPTS="--fixed-cidr=172.30.0.0/24"\n', spec, "docker-opts", True)[1]
    assert "--fixed-cidr=10.1.128.0/17" in inside and "fixed-cidr" not in outside


@pytest.mark.parametrize(
    "found, reads, flags, expected",
    [
        (False, False, {"bridge": ["docker0"]}, "docker-opts"),  # the seed: no unit, the init script reads it
        (True, True, {"bip": ["172.17.0.1/16"]}, "docker-opts"),
        (True, False, {"bridge": ["docker0"]}, "daemon-json"),  # a unit that ignores DOCKER_OPTS
        (False, False, {"dns": ["8.8.8.8"]}, "daemon-json"),  # DOCKER_OPTS read, but no bridge settled there
    ],
)
def test_auto_chooses_where_docker_reads_its_bridge(found, reads, flags, expected):
    assert choose_place("auto", UnitFacts(found, reads, {}), flags)[0] == expected
    assert choose_place("docker-opts", UnitFacts(found, reads, {}), flags)[0] == "docker-opts"


def test_default_pools_overlapping_the_subnet_are_found_in_either_file():
    network = make_spec("docker0", "10.1.0.0/16").network
    settings = {"default-address-pools": [{"base": "10.0.0.0/8", "size": 24}, {"base": "172.80.0.0/16", "size": 24}]}
    assert pool_overlaps(settings, [], network) == [
        "the default address pool 10.0.0.0/8 in daemon.json overlaps 10.1.0.0/16"
    ]
    words = ["--default-address-pool", "base=10.1.0.0/20,size=24"]
    assert pool_overlaps({}, words, network) == [
        "the default address pool 10.1.0.0/20 in DOCKER_OPTS overlaps 10.1.0.0/16"
    ]
    assert pool_overlaps({"default-address-pools": [{"base": "172.80.0.0/16", "size": 24}]}, [], network) == []


def test_ipv6_is_a_flag_without_a_value_and_cidr6_owns_the_ipv6_settings():
    assert flags_in(["--ipv6", "--dns", "1.1.1.1"]) == {"ipv6": ["true"], "dns": ["1.1.1.1"]}
    spec = make_spec("docker0", "10.1.0.0/16", cidr6="fd00:1::/64")
    opts = 'DOCKER_OPTS="--ipv6 --fixed-cidr-v6=fd00:9::/64 -H fd://"\n'
    daemon, defaults = place_settings('{"ipv6": false}', opts, spec, "docker-opts", True)
    assert defaults == 'DOCKER_OPTS="-H fd:// --bip=10.1.0.1/16 --ipv6 --fixed-cidr-v6=fd00:1::/64 --dns=10.1.0.1"\n'
    assert json.loads(daemon) == {}
    # without --cidr6 the IPv6 settings stay Docker's, wherever they are
    plain = make_spec("docker0", "10.1.0.0/16")
    assert "--ipv6 --fixed-cidr-v6=fd00:9::/64" in place_settings(None, opts, plain, "docker-opts", True)[1]


@pytest.mark.parametrize(
    "cidr6, message",
    [
        ("fd00:1::", "has no prefix length"),
        ("fe80::/64", "link-local"),
        ("fd00:1::/96", "too small"),
        ("10.1.0.0/16", "is not an IPv6 prefix"),
    ],
)
def test_bad_cidr6_is_a_usage_error(cidr6, message):
    with pytest.raises(UsageError, match=message):
        make_spec("docker0", "10.1.0.0/16", cidr6=cidr6)
